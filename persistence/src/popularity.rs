//! Popularity: page views counted per service and day, and the score that orders lists.
//!
//! Instances count views in memory and hand them here in batches ([`record_views`]), so a view
//! costs no database write. The score is the views of the window ([`WINDOW_DAYS`] days: today
//! and the days before, UTC); it is kept in `service_popularity` rather than summed at each read.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::service_popularity;
use crate::StoreError;

/// Days of views in a score: today (UTC) and the 29 days before.
pub const WINDOW_DAYS: u32 = 30;

/// Serializes flushes of every instance: each recomputes scores from the buckets, which must
/// include the views of a flush that committed just before (a fixed key, chosen for this lock).
const FLUSH_LOCK: i64 = 0x6361_7274_615f_7670; // "carta_vp"

#[derive(QueryableByName)]
struct ScoreRow {
    #[diesel(sql_type = SqlUuid)]
    service_id: Uuid,
    #[diesel(sql_type = BigInt)]
    score: i64,
}

/// Adds `counts` (service id, views since the last flush) to today's buckets in one statement,
/// refreshes the scores of those services, and moves the window of every other score when the
/// day changed since it was computed. Returns the new scores of the services counted (services
/// deleted meanwhile are skipped). One transaction: either every count lands or none does.
pub async fn record_views(
    conn: &mut AsyncPgConnection,
    counts: &[(Uuid, i64)],
) -> Result<Vec<(Uuid, i64)>, StoreError> {
    let ids: Vec<Uuid> = counts.iter().map(|(id, _)| *id).collect();
    let views: Vec<i64> = counts.iter().map(|(_, views)| *views).collect();
    conn.transaction::<_, StoreError, _>(async |conn| {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<BigInt, _>(FLUSH_LOCK)
            .execute(conn)
            .await?;
        let mut scores = Vec::new();
        if !ids.is_empty() {
            diesel::sql_query(
                "INSERT INTO service_views (service_id, day, views) \
                     SELECT counted.service_id, (now() AT TIME ZONE 'UTC')::date, counted.views \
                     FROM unnest($1::uuid[], $2::int8[]) AS counted (service_id, views) \
                     WHERE counted.views > 0 \
                       AND EXISTS (SELECT 1 FROM services WHERE services.id = counted.service_id) \
                     ON CONFLICT (service_id, day) \
                     DO UPDATE SET views = service_views.views + EXCLUDED.views",
            )
            .bind::<Array<SqlUuid>, _>(&ids)
            .bind::<Array<BigInt>, _>(&views)
            .execute(conn)
            .await?;
            scores = diesel::sql_query(format!(
                "INSERT INTO service_popularity (service_id, score, refreshed_on) \
                     SELECT service_id, sum(views)::int8, (now() AT TIME ZONE 'UTC')::date \
                     FROM service_views \
                     WHERE service_id = ANY($1) \
                       AND day > (now() AT TIME ZONE 'UTC')::date - {WINDOW_DAYS} \
                     GROUP BY service_id \
                     ON CONFLICT (service_id) \
                     DO UPDATE SET score = EXCLUDED.score, refreshed_on = EXCLUDED.refreshed_on \
                     RETURNING service_id, score"
            ))
            .bind::<Array<SqlUuid>, _>(&ids)
            .load::<ScoreRow>(conn)
            .await?
            .into_iter()
            .map(|row| (row.service_id, row.score))
            .collect();
        }
        move_window(conn).await?;
        Ok(scores)
    })
    .await
}

/// Recomputes the scores computed on an earlier day (their window moved on), drops those left
/// with no views and the buckets older than the window. After the first flush of a day this
/// finds nothing to do (both statements use an index).
async fn move_window(conn: &mut AsyncPgConnection) -> Result<(), StoreError> {
    diesel::sql_query(format!(
        "WITH window_start AS (SELECT (now() AT TIME ZONE 'UTC')::date - {WINDOW_DAYS} AS day), \
         stale AS ( \
             SELECT p.service_id, \
                    (SELECT sum(v.views) FROM service_views v, window_start \
                     WHERE v.service_id = p.service_id AND v.day > window_start.day)::int8 AS score \
             FROM service_popularity p \
             WHERE p.refreshed_on < (now() AT TIME ZONE 'UTC')::date \
         ), \
         dropped AS ( \
             DELETE FROM service_popularity p USING stale \
             WHERE p.service_id = stale.service_id AND stale.score IS NULL \
         ) \
         UPDATE service_popularity p \
         SET score = stale.score, refreshed_on = (now() AT TIME ZONE 'UTC')::date \
         FROM stale WHERE p.service_id = stale.service_id AND stale.score IS NOT NULL"
    ))
    .execute(conn)
    .await?;
    diesel::sql_query(format!(
        "DELETE FROM service_views \
         WHERE day <= (now() AT TIME ZONE 'UTC')::date - {WINDOW_DAYS}"
    ))
    .execute(conn)
    .await?;
    Ok(())
}

/// Every score above zero, for an instance's in-memory copy (search ranking).
pub async fn scores(conn: &mut AsyncPgConnection) -> Result<Vec<(Uuid, i64)>, StoreError> {
    Ok(service_popularity::table
        .select((service_popularity::service_id, service_popularity::score))
        .load(conn)
        .await?)
}
