//! The catalogue in bulk: the federation feed the federal portal pulls (`/v1/federation/govbr`)
//! and whole-catalogue exports as NDJSON and CSV. All are streamed page by page from one database
//! snapshot, so memory stays constant however large the catalogue.

use std::collections::HashMap;
use std::future::ready;

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use domain::service::Service;
use futures_util::{stream, Stream, StreamExt};
use persistence::federation::{self, ExportScope};
use persistence::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, Problem};
use crate::query::{NoParams, Strict};
use crate::AppState;

/// Where the state portal shows a service, before its slug (`CARTA_PORTAL_URL`).
pub const DEFAULT_PORTAL_URL: &str = "https://www.mt.gov.br/servico/";

/// Services read from the database at a time.
const EXPORT_PAGE: i64 = 200;

/// Public data, the same for everyone: shared caches may keep it a few minutes.
const CACHE_CONTROL: &str = "public, max-age=300";

/// The portal base as configured, ending in `/` so a slug can follow it.
pub fn portal_base(url: &str) -> String {
    let url = url.trim();
    if url.ends_with('/') {
        url.to_owned()
    } else {
        format!("{url}/")
    }
}

/// A service in the shape the federal portal (gov.br) pulls from state and municipal portals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GovbrFeedItem {
    /// The service's id in this catalogue.
    pub id: String,
    pub name: String,
    /// Markdown.
    pub description: String,
    /// The service's page on the state portal.
    #[schema(example = "https://www.mt.gov.br/servico/renovar-cnh")]
    pub url: String,
    /// Last update.
    pub date: DateTime<Utc>,
    pub organization: GovbrFeedOrganization,
    pub popular_names: Vec<GovbrFeedName>,
    pub keywords: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GovbrFeedOrganization {
    pub name: String,
    /// The organization's id in this catalogue.
    pub id: String,
    /// Its website, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GovbrFeedName {
    pub name: String,
}

impl GovbrFeedItem {
    fn of(service: Service, portal: &str, websites: &HashMap<uuid::Uuid, String>) -> Self {
        GovbrFeedItem {
            id: service.id.to_string(),
            url: format!("{portal}{}", service.slug),
            date: service.updated_at,
            organization: GovbrFeedOrganization {
                url: websites.get(&service.organization.id).cloned(),
                name: service.organization.name,
                id: service.organization.id.to_string(),
            },
            popular_names: service
                .content
                .popular_names
                .into_iter()
                .map(|name| GovbrFeedName { name })
                .collect(),
            keywords: service.content.keywords,
            name: service.content.name,
            description: service.content.description,
        }
    }
}

/// Bulk exports one instance runs at once (see `AppState::exports`); more are refused with a 503.
pub const CONCURRENT_EXPORTS: usize = 4;

/// The published services of `scope`, rendered page by page between `head` and `tail`. The
/// connection is taken before answering, so an unavailable database is a 503 rather than a cut
/// stream; a failure mid-stream aborts the response, so a client never takes a part for the whole.
async fn export_stream<R>(
    state: &AppState,
    scope: ExportScope,
    head: Vec<u8>,
    tail: Vec<u8>,
    mut render: R,
) -> ApiResult<impl Stream<Item = Result<Bytes, ApiError>> + 'static>
where
    R: FnMut(Vec<Service>) -> Result<Vec<u8>, ApiError> + 'static,
{
    let slot = state
        .exports
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::Busy { retry_after_s: 30 })?;
    let mut conn = state.connection().await?;
    let opinions = state.opinions.clone();
    // Two pages in flight at most: a slow client slows the reading, never fills memory.
    let (sender, receiver) = tokio::sync::mpsc::channel(2);
    actix_web::rt::spawn(async move {
        federation::send_published_services(&mut conn, scope, EXPORT_PAGE, sender).await;
        drop(slot);
    });
    let pages = stream::unfold(receiver, |mut receiver| async move {
        let page = receiver.recv().await?;
        Some((page, receiver))
    })
    .map(move |page: Result<Vec<Service>, StoreError>| {
        let mut page = page.map_err(|error| {
            tracing::error!(%error, "export stopped");
            ApiError::Store(error)
        })?;
        for service in &mut page {
            opinions.decorate(service);
        }
        render(page).map(Bytes::from)
    });
    Ok(stream::once(ready(Ok(Bytes::from(head))))
        .chain(pages)
        .chain(stream::once(ready(Ok(Bytes::from(tail))))))
}

fn attachment(filename: &str) -> (header::HeaderName, String) {
    (
        header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{filename}\""),
    )
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(error.to_string())
}

/// The state catalogue for the federal portal.
///
/// Every published service of this catalogue (not those imported from other portals) in the
/// shape gov.br pulls from state and municipal portals: `[{id, name, description, url, date,
/// organization{name, id, url}, popular_names[{name}], keywords[]}]`. `url` is the service's page
/// on the state portal. Public and cacheable; streamed.
#[utoipa::path(
    tag = "federation",
    responses(
        (status = 200, description = "The feed", body = Vec<GovbrFeedItem>,
            headers(("Cache-Control" = String, description = "public, max-age=300"))),
        (status = 422, description = "Query parameters given: this endpoint takes none", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable, or too many exports running (`busy`); retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/govbr")]
pub async fn govbr_feed(
    state: web::Data<AppState>,
    _: Strict<NoParams>,
) -> ApiResult<HttpResponse> {
    let websites = {
        let mut conn = state.connection().await?;
        federation::organization_websites(&mut conn).await?
    };
    let portal = state.portal_url.clone();
    let mut first = true;
    let body = export_stream(
        &state,
        ExportScope::OwnOnly,
        b"[".to_vec(),
        b"]".to_vec(),
        move |page| {
            let mut out = Vec::new();
            for service in page {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                let item = GovbrFeedItem::of(service, &portal, &websites);
                serde_json::to_writer(&mut out, &item).map_err(internal)?;
            }
            Ok(out)
        },
    )
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .streaming(body))
}

/// The whole public catalogue as NDJSON.
///
/// One line per published service (imported ones included), each the same JSON document as
/// `GET /v1/services/{id}`, in id order. Streamed from one consistent snapshot.
#[utoipa::path(
    tag = "federation",
    responses(
        (status = 200, description = "One service per line", body = Service, content_type = "application/x-ndjson",
            headers(("Content-Disposition" = String, description = "attachment; filename=\"carta-servicos.ndjson\""))),
        (status = 422, description = "Query parameters given: this endpoint takes none", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable, or too many exports running (`busy`); retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/services.ndjson")]
pub async fn export_ndjson(
    state: web::Data<AppState>,
    _: Strict<NoParams>,
) -> ApiResult<HttpResponse> {
    let body = export_stream(&state, ExportScope::All, Vec::new(), Vec::new(), |page| {
        let mut out = Vec::new();
        for service in page {
            serde_json::to_writer(&mut out, &service).map_err(internal)?;
            out.push(b'\n');
        }
        Ok(out)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .insert_header(attachment("carta-servicos.ndjson"))
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .streaming(body))
}

/// The CSV columns, in order.
const CSV_COLUMNS: [&str; 19] = [
    "id",
    "slug",
    "name",
    "acronym",
    "organization",
    "organization_slug",
    "free",
    "digital",
    "statewide",
    "municipalities",
    "topics",
    "segments",
    "channel_types",
    "popular_names",
    "url",
    "digital_url",
    "source",
    "published_at",
    "updated_at",
];

/// A list in one cell.
fn joined<T>(items: &[T], name: impl Fn(&T) -> &str) -> String {
    items.iter().map(name).collect::<Vec<_>>().join(";")
}

fn csv_record(service: &Service, portal: &str) -> [String; 19] {
    let content = &service.content;
    let record = [
        service.id.to_string(),
        service.slug.clone(),
        content.name.clone(),
        content.acronym.clone().unwrap_or_default(),
        service.organization.name.clone(),
        service.organization.slug.clone(),
        content
            .free
            .map(|free| free.to_string())
            .unwrap_or_default(),
        service.digital.to_string(),
        service.statewide.to_string(),
        joined(&service.municipalities, |m| &m.name),
        joined(&service.topics, |t| &t.name),
        joined(&service.segments, |s| s.code()),
        joined(&service.channel_types, |c| c.code()),
        joined(&content.popular_names, |n| n.as_str()),
        format!("{portal}{}", service.slug),
        content.digital_url.clone().unwrap_or_default(),
        service
            .source
            .as_ref()
            .map(|s| s.source.clone())
            .unwrap_or_default(),
        service
            .published_at
            .map(|at| at.to_rfc3339())
            .unwrap_or_default(),
        service.updated_at.to_rfc3339(),
    ];
    record.map(inert)
}

/// A cell a spreadsheet will not run as a formula: texts come from agencies and imported
/// feeds, and one starting with `=`, `+`, `-`, `@` or a control character would be evaluated
/// (OWASP's CSV injection advice: a leading apostrophe).
fn inert(cell: String) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell,
    }
}

/// Rows written to a buffer, quoted as RFC 4180 asks.
fn csv_rows<R: AsRef<[u8]>>(
    rows: impl IntoIterator<Item = impl IntoIterator<Item = R>>,
) -> Result<Vec<u8>, ApiError> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for row in rows {
        writer.write_record(row).map_err(internal)?;
    }
    writer.into_inner().map_err(internal)
}

/// The whole public catalogue as CSV.
///
/// One row per published service (imported ones included), for spreadsheets: RFC 4180 quoting,
/// UTF-8, a header row; lists (municipalities, topics, segments, channel types, popular names)
/// joined with `;`; `free` is empty when unknown; `url` is the page on the state portal.
#[utoipa::path(
    tag = "federation",
    responses(
        (status = 200, description = "A header row, then one row per service", body = String, content_type = "text/csv",
            headers(("Content-Disposition" = String, description = "attachment; filename=\"carta-servicos.csv\""))),
        (status = 422, description = "Query parameters given: this endpoint takes none", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable, or too many exports running (`busy`); retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/services.csv")]
pub async fn export_csv(
    state: web::Data<AppState>,
    _: Strict<NoParams>,
) -> ApiResult<HttpResponse> {
    let portal = state.portal_url.clone();
    let head = csv_rows([CSV_COLUMNS])?;
    let body = export_stream(&state, ExportScope::All, head, Vec::new(), move |page| {
        csv_rows(page.iter().map(|service| csv_record(service, &portal)))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(attachment("carta-servicos.csv"))
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .streaming(body))
}

#[cfg(test)]
mod tests {
    use super::inert;

    #[test]
    fn cells_that_a_spreadsheet_would_evaluate_are_quoted() {
        for formula in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(inert(formula.to_owned()), format!("'{formula}"));
        }
        for text in ["Renovar CNH", "2026-11-30T12:00:00+00:00", "true", ""] {
            assert_eq!(inert(text.to_owned()), text);
        }
    }
}
