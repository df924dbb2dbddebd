//! The public change feed: entries written by triggers (migration `2026-11-30-000004_feed`),
//! numbered in commit order at commit.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::feed::Change;
use uuid::Uuid;

use crate::schema::{feed_clock, public_changes};
use crate::StoreError;

type ChangeRow = (
    Option<i64>,
    String,
    Uuid,
    Option<String>,
    String,
    String,
    chrono::DateTime<chrono::Utc>,
);

fn change((position, resource, id, slug, event, operation, occurred_at): ChangeRow) -> Change {
    Change {
        position: position.unwrap_or_default(),
        resource,
        id,
        slug,
        event,
        operation,
        occurred_at,
    }
}

/// Up to `limit` committed entries after `after`, in order. Entries still uncommitted have no
/// position and are never read; every position below a committed one is committed.
pub async fn changes_after(
    conn: &mut AsyncPgConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<Change>, StoreError> {
    let rows: Vec<ChangeRow> = public_changes::table
        .filter(public_changes::position.gt(after))
        .order(public_changes::position.asc())
        .limit(limit)
        .select((
            public_changes::position,
            public_changes::resource,
            public_changes::resource_id,
            public_changes::slug,
            public_changes::event,
            public_changes::operation,
            public_changes::occurred_at,
        ))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(change).collect())
}

/// The position of the last committed entry (0 when none).
pub async fn head(conn: &mut AsyncPgConnection) -> Result<i64, StoreError> {
    Ok(feed_clock::table
        .select(feed_clock::position)
        .first::<i64>(conn)
        .await?)
}
