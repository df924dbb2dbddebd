//! The connection pool. Recycling is `Fast` (no query on checkout): the default's extra round
//! trip cost a third of by-id read throughput here (shared/reference/performance-notes.md); a broken
//! connection is dropped by the pool when a query on it fails.

use std::time::Duration;

use diesel::ConnectionError;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures_util::FutureExt;

use crate::StoreError;

pub type DbPool = Pool<AsyncPgConnection>;
pub type DbConn = Object<AsyncPgConnection>;

#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_size: usize,
    /// How long a request waits for a free connection.
    pub wait_timeout: Duration,
    /// How long opening a connection may take.
    pub connect_timeout: Duration,
    /// Server-side limit on any one statement.
    pub statement_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_size: 16,
            wait_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

pub fn build_pool(database_url: &str, settings: &PoolSettings) -> Result<DbPool, StoreError> {
    let statement_timeout_ms = settings.statement_timeout.as_millis();
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        let url = url.to_owned();
        async move {
            let mut conn = AsyncPgConnection::establish(&url).await?;
            conn.batch_execute(&format!(
                "SET statement_timeout = {statement_timeout_ms}; SET application_name = 'carta'"
            ))
            .await
            .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
            Ok(conn)
        }
        .boxed()
    });
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    Pool::builder(manager)
        .max_size(settings.max_size)
        .wait_timeout(Some(settings.wait_timeout))
        .create_timeout(Some(settings.connect_timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

/// A connection from the pool.
pub async fn connection(pool: &DbPool) -> Result<DbConn, StoreError> {
    Ok(pool.get().await?)
}

/// Round trip used by the readiness probe.
pub async fn ping(pool: &DbPool) -> Result<(), StoreError> {
    let mut conn = connection(pool).await?;
    conn.batch_execute("SELECT 1").await?;
    Ok(())
}
