//! The public change feed: `GET /v1/changes`, for partners keeping a copy of the catalogue.

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use base64::Engine;
use domain::feed::Change;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, InvalidField, Problem};
use crate::query::{QueryModel, QueryParams, Strict};
use crate::AppState;

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

/// Documents the parameters in OpenAPI; parsing is the `QueryModel` below.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ChangesQuery {
    /// Opaque cursor: a `cursor` or `next_cursor` from an earlier answer. Omitted: from the start.
    after: Option<String>,
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u32>,
}

pub struct ChangesRequest {
    after: Option<String>,
    limit: u32,
}

impl QueryModel for ChangesRequest {
    const PARAMETERS: &'static [&'static str] = &["after", "limit"];

    fn read(params: &mut QueryParams) -> Self {
        ChangesRequest {
            after: params.text("after", 100),
            limit: params
                .integer_in("limit", 1, MAX_LIMIT)
                .unwrap_or(DEFAULT_LIMIT),
        }
    }
}

/// One change; a webhook delivery's body is exactly one of these.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeEntry {
    /// Opaque; pass it as `after` to continue after this entry.
    pub cursor: String,
    /// `service`, `organization`, `location`, `topic` or `life_event`.
    #[schema(example = "service")]
    pub resource: String,
    pub id: Uuid,
    /// Absent for locations, which have none.
    pub slug: Option<String>,
    /// `service.published`, `service.updated`, `service.archived`, `service.deleted`, or
    /// `<resource>.created|updated|deleted` for the other resources.
    #[schema(example = "service.published")]
    pub event: String,
    /// `upsert`: read `href` and store it; `delete`: drop your copy.
    #[schema(example = "upsert")]
    pub operation: String,
    /// The resource's public address.
    #[schema(example = "/v1/services/7b0c1e9a-8f7e-4d38-9b2a-2f0f5f7c6a10")]
    pub href: String,
    /// When the change was committed.
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}

impl From<&Change> for ChangeEntry {
    fn from(change: &Change) -> Self {
        ChangeEntry {
            cursor: encode_cursor(change.position),
            resource: change.resource.clone(),
            id: change.id,
            slug: change.slug.clone(),
            event: change.event.clone(),
            operation: change.operation.clone(),
            href: change.href(),
            occurred_at: change.occurred_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangePage {
    pub changes: Vec<ChangeEntry>,
    /// The cursor of the last entry returned, or the `after` given when there was none.
    pub next_cursor: String,
    /// More entries follow: ask again with `after=next_cursor` at once.
    pub has_more: bool,
}

/// Cursors are the feed position in URL-safe base64: opaque to clients, so the position's form
/// may change.
pub fn encode_cursor(position: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("p{position}"))
}

pub fn decode_cursor(cursor: &str) -> Option<i64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let position: i64 = text.strip_prefix('p')?.parse().ok()?;
    (position >= 0 && encode_cursor(position) == cursor).then_some(position)
}

/// The change feed: every publication, update, archive and deletion of public resources, in commit
/// order, without gaps or duplicates. Start without `after`, apply each entry (`upsert`: GET
/// `href` and store; `delete`: drop), and follow `next_cursor` while `has_more`: you then hold
/// the public catalogue. Later, poll with your last `next_cursor`.
#[utoipa::path(
    tag = "changes",
    params(ChangesQuery),
    responses(
        (status = 200, description = "Entries after the cursor", body = ChangePage,
            headers(("Cache-Control" = String, description = "no-cache"))),
        (status = 422, description = "Unknown parameters (`invalid_query`) or a malformed cursor (`invalid_cursor`)",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/changes")]
pub async fn list_changes(
    state: web::Data<AppState>,
    query: Strict<ChangesRequest>,
) -> ApiResult<HttpResponse> {
    let ChangesRequest { after, limit } = query.0;
    let position = match &after {
        Some(cursor) => decode_cursor(cursor).ok_or_else(|| {
            ApiError::InvalidCursor(vec![InvalidField::parameter(
                "after",
                "invalid",
                "Cursor inválido: use um `cursor` ou `next_cursor` recebido desta API.",
            )])
        })?,
        None => 0,
    };
    let mut conn = state.connection().await?;
    // One more than asked tells whether more follow.
    let mut changes =
        persistence::feed::changes_after(&mut conn, position, i64::from(limit) + 1).await?;
    let has_more = changes.len() > limit as usize;
    changes.truncate(limit as usize);
    let next_cursor = changes
        .last()
        .map(|change| encode_cursor(change.position))
        .unwrap_or_else(|| after.unwrap_or_else(|| encode_cursor(0)));
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(ChangePage {
            changes: changes.iter().map(ChangeEntry::from).collect(),
            next_cursor,
            has_more,
        }))
}
