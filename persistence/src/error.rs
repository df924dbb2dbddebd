use thiserror::Error;

/// Why a storage call failed. Callers map these to responses; the texts are for logs only and
/// never reach a client.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("query failed: {0}")]
    Query(diesel::result::Error),
    #[error("{what} `{key}` does not exist")]
    MissingReference { what: &'static str, key: String },
    /// A uniqueness constraint refused the write (its name).
    #[error("conflict on {0}")]
    Conflict(String),
    /// A foreign key refused the write (its name): a record referred to went away meanwhile.
    #[error("reference refused by {0}")]
    ForeignKey(String),
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    #[error("migration failed: {0}")]
    Migration(String),
}

impl StoreError {
    pub(crate) fn missing(what: &'static str, key: impl ToString) -> Self {
        StoreError::MissingReference {
            what,
            key: key.to_string(),
        }
    }
}

impl From<diesel::result::Error> for StoreError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &error {
            // A lost connection or a statement past its timeout: the database is not answering
            // in time, and the client may retry.
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                StoreError::Unavailable(error.to_string())
            }
            Error::DatabaseError(_, info) if info.message().contains("statement timeout") => {
                StoreError::Unavailable(error.to_string())
            }
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StoreError::Conflict(info.constraint_name().unwrap_or_default().to_owned())
            }
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info) => {
                StoreError::ForeignKey(info.constraint_name().unwrap_or_default().to_owned())
            }
            _ => StoreError::Query(error),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for StoreError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        StoreError::Unavailable(error.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        StoreError::Corrupt(error.to_string())
    }
}
