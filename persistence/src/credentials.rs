//! Authentication records: partner API clients (secrets stored only as Argon2 hashes, made by
//! the caller) and Carta's own token-signing keys.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::access::Role;
use uuid::Uuid;

use crate::schema::{api_clients, signing_keys};
use crate::StoreError;

/// A registered client.
#[derive(Debug, Clone)]
pub struct ClientRecord {
    pub client_id: String,
    pub name: String,
    pub role: Role,
    pub organization_id: Option<Uuid>,
    pub secret_hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

type ClientRow = (
    String,
    String,
    String,
    Option<Uuid>,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

fn client_of(row: ClientRow) -> Result<ClientRecord, StoreError> {
    let (client_id, name, role, organization_id, secret_hash, created_at, revoked_at) = row;
    Ok(ClientRecord {
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role `{role}`")))?,
        client_id,
        name,
        organization_id,
        secret_hash,
        created_at,
        revoked_at,
    })
}

macro_rules! client_columns {
    () => {
        (
            api_clients::client_id,
            api_clients::name,
            api_clients::role,
            api_clients::organization_id,
            api_clients::secret_hash,
            api_clients::created_at,
            api_clients::revoked_at,
        )
    };
}

pub async fn insert_client(
    conn: &mut AsyncPgConnection,
    client: &ClientRecord,
) -> Result<(), StoreError> {
    diesel::insert_into(api_clients::table)
        .values((
            api_clients::client_id.eq(&client.client_id),
            api_clients::name.eq(&client.name),
            api_clients::role.eq(client.role.as_str()),
            api_clients::organization_id.eq(client.organization_id),
            api_clients::secret_hash.eq(&client.secret_hash),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn find_client(
    conn: &mut AsyncPgConnection,
    client_id: &str,
) -> Result<Option<ClientRecord>, StoreError> {
    let row: Option<ClientRow> = api_clients::table
        .filter(api_clients::client_id.eq(client_id))
        .select(client_columns!())
        .first(conn)
        .await
        .optional()?;
    row.map(client_of).transpose()
}

pub async fn list_clients(conn: &mut AsyncPgConnection) -> Result<Vec<ClientRecord>, StoreError> {
    let rows: Vec<ClientRow> = api_clients::table
        .order(api_clients::created_at.asc())
        .select(client_columns!())
        .load(conn)
        .await?;
    rows.into_iter().map(client_of).collect()
}

/// Revokes a client; false when there is no such client or it was already revoked.
pub async fn revoke_client(
    conn: &mut AsyncPgConnection,
    client_id: &str,
) -> Result<bool, StoreError> {
    let changed = diesel::update(
        api_clients::table
            .filter(api_clients::client_id.eq(client_id))
            .filter(api_clients::revoked_at.is_null()),
    )
    .set(api_clients::revoked_at.eq(Utc::now()))
    .execute(conn)
    .await?;
    Ok(changed > 0)
}

/// One of Carta's signing keys (Ed25519): the PKCS#8 private key and the raw public key.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub private_key: Vec<u8>,
    pub public_key: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

/// Keys that still verify: unretired ones and those retired after `retired_after`, newest first.
pub async fn signing_keys(
    conn: &mut AsyncPgConnection,
    retired_after: DateTime<Utc>,
) -> Result<Vec<StoredKey>, StoreError> {
    type Row = (
        String,
        Vec<u8>,
        Vec<u8>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
    );
    let rows: Vec<Row> = signing_keys::table
        .filter(
            signing_keys::retired_at
                .is_null()
                .or(signing_keys::retired_at.gt(retired_after)),
        )
        .order(signing_keys::created_at.desc())
        .select((
            signing_keys::kid,
            signing_keys::private_key,
            signing_keys::public_key,
            signing_keys::created_at,
            signing_keys::retired_at,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(kid, private_key, public_key, created_at, retired_at)| StoredKey {
                kid,
                private_key,
                public_key,
                created_at,
                retired_at,
            },
        )
        .collect())
}

/// Adds a key that signs from now on and retires the others (they keep verifying for a while).
/// With `only_if_none`, adds it only when no unretired key exists (a first start), so instances
/// starting together keep one key.
pub async fn add_signing_key(
    conn: &mut AsyncPgConnection,
    key: &StoredKey,
    only_if_none: bool,
) -> Result<bool, StoreError> {
    conn.transaction::<_, StoreError, _>(async |conn| {
        // Serializes key changes between instances.
        diesel::sql_query("LOCK TABLE signing_keys IN EXCLUSIVE MODE")
            .execute(conn)
            .await?;
        if only_if_none {
            let active: i64 = signing_keys::table
                .filter(signing_keys::retired_at.is_null())
                .count()
                .get_result(conn)
                .await?;
            if active > 0 {
                return Ok(false);
            }
        }
        diesel::update(signing_keys::table.filter(signing_keys::retired_at.is_null()))
            .set(signing_keys::retired_at.eq(Utc::now()))
            .execute(conn)
            .await?;
        diesel::insert_into(signing_keys::table)
            .values((
                signing_keys::kid.eq(&key.kid),
                signing_keys::algorithm.eq("EdDSA"),
                signing_keys::private_key.eq(&key.private_key),
                signing_keys::public_key.eq(&key.public_key),
            ))
            .execute(conn)
            .await?;
        Ok(true)
    })
    .await
}
