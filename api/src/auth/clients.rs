//! Registering and revoking partner clients (the `carta clients` commands).

use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::access::{Principal, Role};
use persistence::audit;
use persistence::credentials::{self, ClientRecord};
use persistence::editing::{self, Actor};

use crate::auth::{hash_secret, new_secret};
use crate::error::ApiError;

/// The principal recorded in the audit log for commands run on the server.
fn operator() -> Principal {
    Principal {
        subject: "carta-cli".into(),
        issuer: None,
        client_id: None,
        role: Role::Admin,
        organizations: Vec::new(),
    }
}

/// A new client and its secret, shown once.
pub struct NewClient {
    pub client_id: String,
    pub secret: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("every role but admin acts for an organization: give --org")]
    OrganizationRequired,
    #[error("no organization `{0}`")]
    UnknownOrganization(String),
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<persistence::StoreError> for ClientError {
    fn from(error: persistence::StoreError) -> Self {
        ClientError::Api(ApiError::Store(error))
    }
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    name: &str,
    organization: Option<&str>,
    role: Role,
) -> Result<NewClient, ClientError> {
    let organization_id = match organization {
        Some(key) => Some(
            editing::organization_id(conn, key)
                .await?
                .ok_or_else(|| ClientError::UnknownOrganization(key.to_owned()))?,
        ),
        None if role == Role::Admin => None,
        None => return Err(ClientError::OrganizationRequired),
    };
    // Not secret, only unique: 64 random bits in hex.
    let client_id = format!("carta-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let secret = new_secret();
    let record = ClientRecord {
        client_id: client_id.clone(),
        name: name.to_owned(),
        role,
        organization_id,
        secret_hash: hash_secret(&secret)?,
        created_at: chrono::Utc::now(),
        revoked_at: None,
    };
    // The client and its audit entry are written together or not at all.
    conn.transaction::<_, persistence::StoreError, _>(async |conn| {
        credentials::insert_client(conn, &record).await?;
        let principal = operator();
        audit::record(
            conn,
            &audit::Entry {
                actor: Actor {
                    principal: &principal,
                    request_id: None,
                },
                action: "client.create",
                target_type: "client",
                target_id: &client_id,
                organization_id,
                detail: serde_json::json!({ "name": name, "role": role.as_str() }),
            },
        )
        .await?;
        Ok(())
    })
    .await?;
    Ok(NewClient { client_id, secret })
}

/// Revokes a client: its secret stops working at once; tokens already issued expire on their own.
pub async fn revoke(conn: &mut AsyncPgConnection, client_id: &str) -> Result<bool, ClientError> {
    let revoked = conn
        .transaction::<_, persistence::StoreError, _>(async |conn| {
            let revoked = credentials::revoke_client(conn, client_id).await?;
            if revoked {
                let principal = operator();
                audit::record(
                    conn,
                    &audit::Entry {
                        actor: Actor {
                            principal: &principal,
                            request_id: None,
                        },
                        action: "client.revoke",
                        target_type: "client",
                        target_id: client_id,
                        organization_id: None,
                        detail: serde_json::json!({}),
                    },
                )
                .await?;
            }
            Ok(revoked)
        })
        .await?;
    Ok(revoked)
}
