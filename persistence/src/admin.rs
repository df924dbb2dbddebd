//! Database lifecycle: create if missing, migrate, clone from a template, drop. Used by
//! `carta migrate`/`carta serve` and by the test harness.

use diesel::prelude::*;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use url::Url;

use crate::schema::{channel_types, segments};
use crate::StoreError;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Splits a database URL into the server's maintenance URL and the database name.
pub fn split_database_url(database_url: &str) -> Result<(String, String), StoreError> {
    let mut url = Url::parse(database_url)
        .map_err(|e| StoreError::Unavailable(format!("invalid database URL: {e}")))?;
    let name = url.path().trim_start_matches('/').to_owned();
    if name.is_empty() {
        return Err(StoreError::Unavailable(
            "the database URL names no database".into(),
        ));
    }
    url.set_path("/postgres");
    Ok((url.to_string(), name))
}

/// Replaces the database name of a URL.
pub fn with_database(database_url: &str, name: &str) -> Result<String, StoreError> {
    let mut url = Url::parse(database_url)
        .map_err(|e| StoreError::Unavailable(format!("invalid database URL: {e}")))?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

pub async fn connect(database_url: &str) -> Result<AsyncPgConnection, StoreError> {
    AsyncPgConnection::establish(database_url)
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Creates the database of `database_url` when it does not exist. Returns true when it created it.
pub async fn create_database_if_missing(database_url: &str) -> Result<bool, StoreError> {
    let (server_url, name) = split_database_url(database_url)?;
    let mut conn = connect(&server_url).await?;
    if database_exists(&mut conn, &name).await? {
        return Ok(false);
    }
    match conn
        .batch_execute(&format!("CREATE DATABASE {}", quote_ident(&name)))
        .await
    {
        Ok(()) => Ok(true),
        // Another process created it meanwhile.
        Err(_) if database_exists(&mut conn, &name).await? => Ok(false),
        Err(e) => Err(e.into()),
    }
}

pub async fn database_exists(conn: &mut AsyncPgConnection, name: &str) -> Result<bool, StoreError> {
    #[derive(QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let row: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result(conn)
            .await?;
    Ok(row.exists)
}

/// `CREATE DATABASE name TEMPLATE template`, on the server `server_url` points at.
pub async fn clone_database(
    server_url: &str,
    template: &str,
    name: &str,
) -> Result<(), StoreError> {
    let mut conn = connect(server_url).await?;
    conn.batch_execute(&format!(
        "CREATE DATABASE {} TEMPLATE {}",
        quote_ident(name),
        quote_ident(template)
    ))
    .await?;
    Ok(())
}

pub async fn drop_database(server_url: &str, name: &str) -> Result<(), StoreError> {
    let mut conn = connect(server_url).await?;
    conn.batch_execute(&format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        quote_ident(name)
    ))
    .await?;
    Ok(())
}

/// Applies pending migrations, then stores the closed vocabularies the domain defines.
pub async fn migrate(database_url: &str) -> Result<usize, StoreError> {
    let url = database_url.to_owned();
    // The migration harness is synchronous; the wrapper drives the async connection from a
    // blocking thread.
    let applied = tokio::task::spawn_blocking(move || -> Result<usize, StoreError> {
        let mut conn =
            <AsyncConnectionWrapper<AsyncPgConnection> as diesel::Connection>::establish(&url)
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        // Several instances may start at once: one migrates, the others wait and find nothing to do.
        diesel::connection::SimpleConnection::batch_execute(
            &mut conn,
            "SELECT pg_advisory_lock(727374001)",
        )
        .map_err(|e| StoreError::Migration(e.to_string()))?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(applied.len())
    })
    .await
    .map_err(|e| StoreError::Migration(e.to_string()))??;
    let mut conn = connect(database_url).await?;
    sync_vocabularies(&mut conn).await?;
    Ok(applied)
}

/// The segment and channel-type tables mirror `domain::taxonomy`, so foreign keys hold the same
/// closed lists as the code.
async fn sync_vocabularies(conn: &mut AsyncPgConnection) -> Result<(), StoreError> {
    use domain::taxonomy::{ChannelTypeCode, SegmentCode};
    for item in SegmentCode::ALL {
        diesel::insert_into(segments::table)
            .values((
                segments::code.eq(item.code()),
                segments::name.eq(item.label()),
                segments::govbr_name.eq(item.govbr_name()),
            ))
            .on_conflict(segments::code)
            .do_update()
            .set((
                segments::name.eq(item.label()),
                segments::govbr_name.eq(item.govbr_name()),
            ))
            .execute(conn)
            .await?;
    }
    for item in ChannelTypeCode::ALL {
        diesel::insert_into(channel_types::table)
            .values((
                channel_types::code.eq(item.code()),
                channel_types::name.eq(item.label()),
                channel_types::govbr_name.eq(item.govbr_name()),
            ))
            .on_conflict(channel_types::code)
            .do_update()
            .set((
                channel_types::name.eq(item.label()),
                channel_types::govbr_name.eq(item.govbr_name()),
            ))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Whether the catalogue holds no service and no organization (a fresh database to seed).
pub async fn is_empty(conn: &mut AsyncPgConnection) -> Result<bool, StoreError> {
    use crate::schema::{organizations, services};
    let services: i64 = services::table.count().get_result(conn).await?;
    let organizations: i64 = organizations::table.count().get_result(conn).await?;
    Ok(services == 0 && organizations == 0)
}
