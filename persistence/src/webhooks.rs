//! Webhook subscriptions and their delivery log. Delivery follows the change feed (the outbox):
//! a worker leases a due subscription (`FOR UPDATE SKIP LOCKED`, so instances never work on the
//! same one at once), delivers outside any transaction, and moves the cursor only while its lease
//! holds.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::feed::{WebhookDelivery, WebhookSubscription};
use domain::query::{Page, PageRequest};
use uuid::Uuid;

use crate::audit;
use crate::editing::Actor;
use crate::schema::{public_changes, webhook_deliveries, webhook_subscriptions};
use crate::StoreError;

#[derive(Queryable, Selectable)]
#[diesel(table_name = webhook_subscriptions, check_for_backend(diesel::pg::Pg))]
struct SubscriptionRow {
    id: Uuid,
    owner: String,
    url: String,
    events: Vec<Option<String>>,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

impl From<SubscriptionRow> for WebhookSubscription {
    fn from(row: SubscriptionRow) -> Self {
        WebhookSubscription {
            id: row.id,
            owner: row.owner,
            url: row.url,
            events: row.events.into_iter().flatten().collect(),
            failed_attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            created_at: row.created_at,
        }
    }
}

pub struct NewSubscription<'a> {
    pub owner: &'a str,
    pub url: &'a str,
    pub events: &'a [String],
    pub secret: &'a str,
}

/// Creates a subscription starting at the feed's head (it receives changes from now on), with its
/// audit entry.
pub async fn create(
    conn: &mut AsyncPgConnection,
    new: &NewSubscription<'_>,
    actor: Actor<'_>,
) -> Result<WebhookSubscription, StoreError> {
    conn.transaction::<_, StoreError, _>(async |conn| {
        let head = crate::feed::head(conn).await?;
        let row: SubscriptionRow = diesel::insert_into(webhook_subscriptions::table)
            .values((
                webhook_subscriptions::owner.eq(new.owner),
                webhook_subscriptions::url.eq(new.url),
                webhook_subscriptions::events.eq(new
                    .events
                    .iter()
                    .cloned()
                    .map(Some)
                    .collect::<Vec<_>>()),
                webhook_subscriptions::secret.eq(new.secret),
                webhook_subscriptions::cursor.eq(head),
                webhook_subscriptions::created_by.eq(&actor.principal.subject),
            ))
            .returning(SubscriptionRow::as_returning())
            .get_result(conn)
            .await?;
        audit::record(
            conn,
            &audit::Entry {
                actor,
                action: "webhook.create",
                target_type: "webhook",
                target_id: &row.id.to_string(),
                organization_id: None,
                detail: serde_json::json!({
                    "owner": new.owner, "url": new.url, "events": new.events,
                }),
            },
        )
        .await?;
        Ok(row.into())
    })
    .await
}

/// Subscriptions, oldest first; only `owner`'s when given.
pub async fn list(
    conn: &mut AsyncPgConnection,
    owner: Option<&str>,
    page: PageRequest,
) -> Result<Page<WebhookSubscription>, StoreError> {
    let query = || {
        let mut query = webhook_subscriptions::table
            .filter(webhook_subscriptions::disabled_at.is_null())
            .into_boxed();
        if let Some(owner) = owner {
            query = query.filter(webhook_subscriptions::owner.eq(owner.to_owned()));
        }
        query
    };
    let total: i64 = query().count().get_result(conn).await?;
    let items = query()
        .order((
            webhook_subscriptions::created_at.asc(),
            webhook_subscriptions::id.asc(),
        ))
        .limit(i64::from(page.per_page))
        .offset(page.offset())
        .select(SubscriptionRow::as_select())
        .load::<SubscriptionRow>(conn)
        .await?
        .into_iter()
        .map(WebhookSubscription::from)
        .collect();
    Ok(Page { items, total })
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<WebhookSubscription>, StoreError> {
    Ok(webhook_subscriptions::table
        .find(id)
        .filter(webhook_subscriptions::disabled_at.is_null())
        .select(SubscriptionRow::as_select())
        .first::<SubscriptionRow>(conn)
        .await
        .optional()?
        .map(WebhookSubscription::from))
}

/// Deletes a subscription and its delivery log, with an audit entry; false when there was none.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    actor: Actor<'_>,
) -> Result<bool, StoreError> {
    conn.transaction::<_, StoreError, _>(async |conn| {
        let owner: Option<String> = diesel::delete(webhook_subscriptions::table.find(id))
            .returning(webhook_subscriptions::owner)
            .get_result(conn)
            .await
            .optional()?;
        let Some(owner) = owner else {
            return Ok(false);
        };
        audit::record(
            conn,
            &audit::Entry {
                actor,
                action: "webhook.delete",
                target_type: "webhook",
                target_id: &id.to_string(),
                organization_id: None,
                detail: serde_json::json!({ "owner": owner }),
            },
        )
        .await?;
        Ok(true)
    })
    .await
}

/// A subscription's delivery attempts, newest first.
pub async fn deliveries(
    conn: &mut AsyncPgConnection,
    subscription_id: Uuid,
    page: PageRequest,
) -> Result<Page<WebhookDelivery>, StoreError> {
    let total: i64 = webhook_deliveries::table
        .filter(webhook_deliveries::subscription_id.eq(subscription_id))
        .count()
        .get_result(conn)
        .await?;
    type Row = (
        Uuid,
        String,
        i32,
        Option<i32>,
        Option<String>,
        i32,
        DateTime<Utc>,
    );
    let rows: Vec<Row> = webhook_deliveries::table
        .filter(webhook_deliveries::subscription_id.eq(subscription_id))
        .order(webhook_deliveries::id.desc())
        .limit(i64::from(page.per_page))
        .offset(page.offset())
        .select((
            webhook_deliveries::delivery_id,
            webhook_deliveries::event,
            webhook_deliveries::attempt,
            webhook_deliveries::status_code,
            webhook_deliveries::error,
            webhook_deliveries::duration_ms,
            webhook_deliveries::at,
        ))
        .load(conn)
        .await?;
    let items = rows
        .into_iter()
        .map(
            |(delivery_id, event, attempt, status_code, error, duration_ms, at)| WebhookDelivery {
                delivery_id,
                event,
                attempt,
                status_code,
                error,
                duration_ms,
                at,
            },
        )
        .collect();
    Ok(Page { items, total })
}

/// A subscription a worker holds the lease of.
#[derive(Debug, Clone)]
pub struct Lease {
    pub subscription_id: Uuid,
    pub token: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub secret: String,
    pub cursor: i64,
    pub attempts: i32,
}

/// The database's clock plus `span`: leases are timed by one clock, whatever the instances' own
/// clocks say, so two workers never both believe they hold one.
fn database_time_in(
    span: std::time::Duration,
) -> diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>> {
    diesel::dsl::sql(&format!(
        "now() + make_interval(secs => {})",
        span.as_secs_f64()
    ))
}

/// Leases one subscription due at `due_at` that has entries after its cursor; `None` when none is
/// free. Rows another worker is claiming are skipped, and a held lease is left alone until it
/// expires.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    due_at: DateTime<Utc>,
    lease_for: std::time::Duration,
) -> Result<Option<Lease>, StoreError> {
    let lease_until = database_time_in(lease_for);
    conn.transaction::<_, StoreError, _>(async |conn| {
        let pending = diesel::dsl::exists(
            public_changes::table
                .filter(public_changes::position.gt(webhook_subscriptions::cursor.nullable())),
        );
        let due: Option<Uuid> = webhook_subscriptions::table
            .filter(webhook_subscriptions::disabled_at.is_null())
            .filter(webhook_subscriptions::next_attempt_at.le(due_at))
            .filter(
                webhook_subscriptions::leased_until
                    .is_null()
                    .or(webhook_subscriptions::leased_until.lt(diesel::dsl::now)),
            )
            .filter(pending)
            .order(webhook_subscriptions::next_attempt_at.asc())
            .select(webhook_subscriptions::id)
            .for_update()
            .skip_locked()
            .first(conn)
            .await
            .optional()?;
        let Some(id) = due else {
            return Ok(None);
        };
        let token = Uuid::new_v4();
        let (url, events, secret, cursor, attempts): (
            String,
            Vec<Option<String>>,
            String,
            i64,
            i32,
        ) = diesel::update(webhook_subscriptions::table.find(id))
            .set((
                webhook_subscriptions::lease_token.eq(token),
                webhook_subscriptions::leased_until.eq(lease_until),
            ))
            .returning((
                webhook_subscriptions::url,
                webhook_subscriptions::events,
                webhook_subscriptions::secret,
                webhook_subscriptions::cursor,
                webhook_subscriptions::attempts,
            ))
            .get_result(conn)
            .await?;
        Ok(Some(Lease {
            subscription_id: id,
            token,
            url,
            events: events.into_iter().flatten().collect(),
            secret,
            cursor,
            attempts,
        }))
    })
    .await
}

/// The lease's filter: the subscription, still held with this token and not expired.
macro_rules! leased {
    ($lease:expr) => {
        webhook_subscriptions::table
            .filter(webhook_subscriptions::id.eq($lease.subscription_id))
            .filter(webhook_subscriptions::lease_token.eq($lease.token))
            .filter(webhook_subscriptions::leased_until.gt(diesel::dsl::now))
    };
}

/// Moves the cursor past `position` (delivered, or not for this subscription) and renews the
/// lease; false when the lease was lost (the caller must stop).
pub async fn advance(
    conn: &mut AsyncPgConnection,
    lease: &Lease,
    position: i64,
    renew_for: std::time::Duration,
) -> Result<bool, StoreError> {
    let until = database_time_in(renew_for);
    let updated = diesel::update(leased!(lease))
        .set((
            webhook_subscriptions::cursor.eq(position),
            webhook_subscriptions::attempts.eq(0),
            webhook_subscriptions::leased_until.eq(until),
        ))
        .execute(conn)
        .await?;
    Ok(updated == 1)
}

/// Records a failed attempt: the cursor stays, the next attempt waits until `retry_at`.
pub async fn postpone(
    conn: &mut AsyncPgConnection,
    lease: &Lease,
    attempts: i32,
    retry_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::update(leased!(lease))
        .set((
            webhook_subscriptions::attempts.eq(attempts),
            webhook_subscriptions::next_attempt_at.eq(retry_at),
            webhook_subscriptions::lease_token.eq(None::<Uuid>),
            webhook_subscriptions::leased_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Gives the lease up, for another worker or the next poll.
pub async fn release(conn: &mut AsyncPgConnection, lease: &Lease) -> Result<(), StoreError> {
    diesel::update(leased!(lease))
        .set((
            webhook_subscriptions::lease_token.eq(None::<Uuid>),
            webhook_subscriptions::leased_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// One attempt, for the delivery log.
pub struct Attempt<'a> {
    pub subscription_id: Uuid,
    pub delivery_id: Uuid,
    pub position: i64,
    pub event: &'a str,
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub error: Option<&'a str>,
    pub duration_ms: i32,
}

pub async fn log_attempt(
    conn: &mut AsyncPgConnection,
    attempt: &Attempt<'_>,
) -> Result<(), StoreError> {
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::subscription_id.eq(attempt.subscription_id),
            webhook_deliveries::delivery_id.eq(attempt.delivery_id),
            webhook_deliveries::position.eq(attempt.position),
            webhook_deliveries::event.eq(attempt.event),
            webhook_deliveries::attempt.eq(attempt.attempt),
            webhook_deliveries::status_code.eq(attempt.status_code),
            webhook_deliveries::error.eq(attempt.error),
            webhook_deliveries::duration_ms.eq(attempt.duration_ms),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
