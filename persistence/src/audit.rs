//! The audit log: every write, with who made it, for which organization and in which request.
//! Entries never hold secrets or tokens: callers pass only identifiers and field names.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::audit::{AuditFilter, AuditRecord};
use domain::query::{Page, PageRequest};
use uuid::Uuid;

use crate::editing::Actor;
use crate::schema::audit_log;
use crate::StoreError;

pub struct Entry<'a> {
    pub actor: Actor<'a>,
    /// E.g. `service.publish`, `client.create`.
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    /// The organization the target belongs to.
    pub organization_id: Option<Uuid>,
    pub detail: serde_json::Value,
}

pub async fn record(conn: &mut AsyncPgConnection, entry: &Entry<'_>) -> Result<(), StoreError> {
    let principal = entry.actor.principal;
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::actor.eq(&principal.subject),
            audit_log::client_id.eq(&principal.client_id),
            audit_log::role.eq(principal.role.as_str()),
            audit_log::organization_id.eq(entry.organization_id),
            audit_log::action.eq(entry.action),
            audit_log::target_type.eq(entry.target_type),
            audit_log::target_id.eq(entry.target_id),
            audit_log::request_id.eq(entry.actor.request_id),
            audit_log::detail.eq(&entry.detail),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Entries matching the filter, newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &AuditFilter,
    page: PageRequest,
) -> Result<Page<AuditRecord>, StoreError> {
    let query = || {
        let mut query = audit_log::table.into_boxed();
        if let Some(actor) = &filter.actor {
            query = query.filter(audit_log::actor.eq(actor.clone()));
        }
        if let Some(organization) = filter.organization_id {
            query = query.filter(audit_log::organization_id.eq(organization));
        }
        if let Some(action) = &filter.action {
            query = query.filter(audit_log::action.eq(action.clone()));
        }
        if let Some(target_type) = &filter.target_type {
            query = query.filter(audit_log::target_type.eq(target_type.clone()));
        }
        if let Some(target_id) = &filter.target_id {
            query = query.filter(audit_log::target_id.eq(target_id.clone()));
        }
        if let Some(since) = filter.since {
            query = query.filter(audit_log::at.ge(since));
        }
        if let Some(until) = filter.until {
            query = query.filter(audit_log::at.lt(until));
        }
        query
    };
    let total: i64 = query().count().get_result(conn).await?;
    type Row = (
        i64,
        chrono::DateTime<chrono::Utc>,
        String,
        Option<String>,
        String,
        Option<Uuid>,
        String,
        String,
        String,
        Option<String>,
        serde_json::Value,
    );
    let rows: Vec<Row> = query()
        .order((audit_log::at.desc(), audit_log::id.desc()))
        .limit(i64::from(page.per_page))
        .offset(page.offset())
        .load(conn)
        .await?;
    let items = rows
        .into_iter()
        .map(
            |(
                id,
                at,
                actor,
                client_id,
                role,
                organization_id,
                action,
                target_type,
                target_id,
                request_id,
                detail,
            )| {
                AuditRecord {
                    id,
                    at,
                    actor,
                    client_id,
                    role,
                    organization_id,
                    action,
                    target_type,
                    target_id,
                    request_id,
                    detail,
                }
            },
        )
        .collect();
    Ok(Page { items, total })
}
