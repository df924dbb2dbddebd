//! Citizens' votes on services (Lei 13.460 art. 23) and the organization's monitoring panel
//! (Lei 14.129 art. 22). Votes are anonymous; see `crate::opinion` for limits and pseudonyms.

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use domain::access::Role;
use domain::feedback::{
    clean_comment, feedback_rules, rating_rules, FeedbackEntry, FeedbackFilter, FeedbackForm,
    NotUsefulReason, Opinion, OpinionReport, Panel, RatingChannel, RatingEntry, RatingFilter,
    RatingForm,
};
use domain::organization::OrganizationSummary;
use domain::query::PageRequest;
use persistence::opinion::{self as store, Recorded, ReportScope};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::pagination::{self, Paginated, PAGE_PARAMETERS};
use crate::query::{NoParams, QueryModel, QueryParams, Strict};
use crate::routes::answers::{cached_reply, list_key};
use crate::routes::support::read_body;
use crate::AppState;

/// What a vote did, and the service's totals with it.
#[derive(Debug, Serialize, ToSchema)]
pub struct VoteReceipt {
    /// True when it replaced this sender's earlier vote on the service (within a day), which
    /// then no longer counts.
    pub replaced: bool,
    #[serde(flatten)]
    pub opinion: Opinion,
}

const SERVICE_NOT_FOUND: &str = "Nenhum serviço publicado tem este id ou slug.";
const ORGANIZATION_NOT_FOUND: &str = "Nenhum órgão tem este id ou slug.";

/// Who sent a vote, for duplicate suppression only: the address with the browser's self-description
/// (so two people behind one carrier address are told apart when their devices differ). Hashed
/// before it reaches the database.
fn sender(req: &HttpRequest, state: &AppState) -> ApiResult<(std::net::IpAddr, Vec<u8>)> {
    let address = state
        .trusted_proxies
        .client_address(req)
        .ok_or_else(|| ApiError::Internal("no peer address".into()))?;
    let agent = req
        .headers()
        .get(header::USER_AGENT)
        .map(|value| value.as_bytes())
        .unwrap_or_default();
    let mut sender = address.to_string().into_bytes();
    sender.push(0);
    sender.extend_from_slice(agent);
    Ok((address, sender))
}

/// The published service a vote is about, once the sender is within the limits.
async fn voted_service(
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    address: std::net::IpAddr,
    id_or_slug: &str,
) -> ApiResult<Uuid> {
    let service = store::published_service_id(conn, id_or_slug)
        .await?
        .ok_or(ApiError::NotFound(SERVICE_NOT_FOUND))?;
    if let Some(wait) = state.opinions.admit(address, service) {
        return Err(ApiError::VoteLimit {
            retry_after_s: wait.as_secs().max(1),
        });
    }
    Ok(service)
}

async fn receipt(
    conn: &mut diesel_async::AsyncPgConnection,
    service: Uuid,
    recorded: Recorded,
) -> ApiResult<HttpResponse> {
    let opinion = store::service_totals(conn, service).await?;
    let (status, replaced) = match recorded {
        Recorded::Created => (StatusCode::CREATED, false),
        Recorded::Replaced => (StatusCode::OK, true),
        Recorded::ProtocolTaken => {
            return Err(ApiError::Conflict {
                code: "protocol_already_rated",
                detail: "Este protocolo já foi avaliado. Cada atendimento recebe uma avaliação."
                    .into(),
            })
        }
    };
    Ok(HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(VoteReceipt { replaced, opinion }))
}

fn window_s(state: &AppState) -> i64 {
    i64::try_from(state.opinions.settings.duplicate_window.as_secs()).unwrap_or(i64::MAX)
}

/// Tell whether a service's information was useful.
///
/// Anonymous. "No" requires a `reason`. A second vote from the same sender on the same service
/// within a day replaces the first (200) instead of counting again (201). Limits: a number of
/// votes per client address and per service per minute (429 with `Retry-After`). No address is
/// stored: only a keyed hash, rotated daily and erased after a day. Pages and lists show the new
/// totals within `CARTA_OPINION_REFRESH_MS` (30 s by default); the answer shows them at once.
#[utoipa::path(
    tag = "opinion",
    params(("id_or_slug" = String, Path, description = "Service id (UUID) or slug", example = "renovar-cnh")),
    request_body(content = FeedbackForm, content_type = "application/json"),
    responses(
        (status = 201, description = "Counted", body = VoteReceipt),
        (status = 200, description = "Replaced this sender's earlier vote", body = VoteReceipt),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No published service has this id or slug", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed with pointers", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many votes from this address or on this service; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/services/{id_or_slug}/feedback")]
pub async fn post_feedback(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _: Strict<NoParams>,
    body: web::Json<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let form: FeedbackForm = read_body(&body, feedback_rules)?;
    let comment = form.comment.as_deref().and_then(clean_comment);
    let (address, sender) = sender(&req, &state)?;
    let mut conn = state.connection().await?;
    let service = voted_service(&state, &mut conn, address, &path).await?;
    let who = state.opinions.pseudonyms(&sender, service, None);
    let recorded = store::record_feedback(
        &mut conn,
        service,
        form.useful,
        form.reason,
        comment.as_deref(),
        &who,
        window_s(&state),
    )
    .await?;
    receipt(&mut conn, service, recorded).await
}

/// Rate the service itself: 1–5 stars, by the channel used.
///
/// Anonymous. A second rating from the same sender within a day replaces the first (200 instead
/// of 201). A `protocol` is rated once: naming one another sender rated within a day is a 409.
/// Limits, storage and freshness as for feedback.
#[utoipa::path(
    tag = "opinion",
    params(("id_or_slug" = String, Path, description = "Service id (UUID) or slug", example = "renovar-cnh")),
    request_body(content = RatingForm, content_type = "application/json"),
    responses(
        (status = 201, description = "Counted", body = VoteReceipt),
        (status = 200, description = "Replaced this sender's earlier rating", body = VoteReceipt),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No published service has this id or slug", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another sender rated this protocol (`protocol_already_rated`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed with pointers", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many votes from this address or on this service; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/services/{id_or_slug}/ratings")]
pub async fn post_rating(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _: Strict<NoParams>,
    body: web::Json<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let form: RatingForm = read_body(&body, rating_rules)?;
    let comment = form.comment.as_deref().and_then(clean_comment);
    let (address, sender) = sender(&req, &state)?;
    let mut conn = state.connection().await?;
    let service = voted_service(&state, &mut conn, address, &path).await?;
    let who = state
        .opinions
        .pseudonyms(&sender, service, form.protocol.as_deref());
    let recorded = store::record_rating(
        &mut conn,
        service,
        form.stars,
        form.channel,
        comment.as_deref(),
        &who,
        window_s(&state),
    )
    .await?;
    receipt(&mut conn, service, recorded).await
}

/// What citizens said of a service: usefulness votes, and satisfaction with its distribution of
/// stars and its split by channel.
#[utoipa::path(
    tag = "opinion",
    params(("id_or_slug" = String, Path, description = "Service id (UUID) or slug", example = "renovar-cnh")),
    responses(
        (status = 200, description = "The service's figures", body = OpinionReport),
        (status = 404, description = "No published service has this id or slug", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/services/{id_or_slug}/opinion")]
pub async fn service_opinion(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _: Strict<NoParams>,
) -> ApiResult<HttpResponse> {
    cached_reply(&state, &list_key(&req), || async {
        let mut conn = state.connection().await?;
        let service = store::published_service_id(&mut conn, &path)
            .await?
            .ok_or(ApiError::NotFound(SERVICE_NOT_FOUND))?;
        let report = store::report(&mut conn, ReportScope::Service(service)).await?;
        Ok((report, None))
    })
    .await
}

async fn organization(
    conn: &mut diesel_async::AsyncPgConnection,
    id_or_slug: &str,
) -> ApiResult<OrganizationSummary> {
    store::organization(conn, id_or_slug)
        .await?
        .ok_or(ApiError::NotFound(ORGANIZATION_NOT_FOUND))
}

/// What citizens said of an organization's published services, together and by channel.
#[utoipa::path(
    tag = "opinion",
    params(("id_or_slug" = String, Path, description = "Organization id (UUID) or slug", example = "detran-mt")),
    responses(
        (status = 200, description = "The organization's figures", body = OpinionReport),
        (status = 404, description = "No organization has this id or slug", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organizations/{id_or_slug}/opinion")]
pub async fn organization_opinion(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _: Strict<NoParams>,
) -> ApiResult<HttpResponse> {
    cached_reply(&state, &list_key(&req), || async {
        let mut conn = state.connection().await?;
        let organization = organization(&mut conn, &path).await?;
        let report = store::report(&mut conn, ReportScope::Organization(organization.id)).await?;
        Ok((report, None))
    })
    .await
}

/// The monitoring panel of an organization (Lei 14.129 art. 22).
///
/// Published services; the shares fully digital, with a complete Lei 13.460 checklist, and not
/// reviewed (changed) in the last 12 months, naming the 20 least recently reviewed; usefulness
/// and satisfaction.
#[utoipa::path(
    tag = "opinion",
    params(("id_or_slug" = String, Path, description = "Organization id (UUID) or slug", example = "detran-mt")),
    responses(
        (status = 200, description = "The panel", body = Panel),
        (status = 404, description = "No organization has this id or slug", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organizations/{id_or_slug}/panel")]
pub async fn organization_panel(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    _: Strict<NoParams>,
) -> ApiResult<HttpResponse> {
    // Keyed by day too: a service crosses the 12-month line without any change.
    let key = format!("{}#{}", list_key(&req), Utc::now().date_naive());
    cached_reply(&state, &key, || async {
        let mut conn = state.connection().await?;
        let organization = organization(&mut conn, &path).await?;
        let services = store::panel_services(&mut conn, organization.id).await?;
        let report = store::report(&mut conn, ReportScope::Organization(organization.id)).await?;
        Ok((
            Panel::compute(organization, services, report, Utc::now()),
            None,
        ))
    })
    .await
}

/// The organization an agency reads the votes of, once the caller is an editor there.
async fn agency(
    state: &AppState,
    id_or_slug: &str,
    caller: &Caller,
) -> ApiResult<(persistence::pool::DbConn, Uuid)> {
    let mut conn = state.connection().await?;
    let organization = organization(&mut conn, id_or_slug).await?;
    caller.require(Role::Editor, Some(organization.id))?;
    Ok((conn, organization.id))
}

/// Documents the parameters in OpenAPI; parsing is the `QueryModel` below.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct FeedbackQuery {
    /// Only this service (id or slug).
    service: Option<String>,
    /// Only useful (`true`) or not useful (`false`) votes.
    useful: Option<bool>,
    /// Only this reason.
    reason: Option<NotUsefulReason>,
    /// From this instant (RFC 3339), inclusive.
    since: Option<DateTime<Utc>>,
    #[param(minimum = 1, default = 1)]
    page: Option<u32>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    per_page: Option<u32>,
}

pub struct FeedbackList {
    service: Option<String>,
    useful: Option<bool>,
    reason: Option<NotUsefulReason>,
    since: Option<DateTime<Utc>>,
    page: PageRequest,
}

impl QueryModel for FeedbackList {
    const PARAMETERS: &'static [&'static str] = &[
        "service",
        "useful",
        "reason",
        "since",
        PAGE_PARAMETERS[0],
        PAGE_PARAMETERS[1],
    ];

    fn read(params: &mut QueryParams) -> Self {
        FeedbackList {
            service: params.text("service", 200),
            useful: params.boolean("useful"),
            reason: params.code("reason", NotUsefulReason::ALL, NotUsefulReason::code),
            since: params.timestamp("since"),
            page: pagination::read_page(params),
        }
    }
}

/// An organization's "was this useful?" votes, with reasons and comments, newest first.
/// Requires `editor` (or higher) in the organization.
#[utoipa::path(
    tag = "opinion",
    params(("id_or_slug" = String, Path, description = "Organization id (UUID) or slug", example = "detran-mt"), FeedbackQuery),
    security(("bearer" = ["editor"])),
    responses(
        (status = 200, description = "A page of votes", body = Paginated<FeedbackEntry>,
            headers(("Link" = String, description = "RFC 8288 links"))),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an editor of this organization", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No organization has this id or slug", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid or unknown query parameters", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organizations/{id_or_slug}/feedback")]
pub async fn organization_feedback(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    caller: Caller,
    query: Strict<FeedbackList>,
) -> ApiResult<HttpResponse> {
    let query = query.0;
    let (mut conn, organization_id) = agency(&state, &path, &caller).await?;
    let filter = FeedbackFilter {
        organization_id,
        service: query.service,
        useful: query.useful,
        reason: query.reason,
        since: query.since,
    };
    let page = store::list_feedback(&mut conn, &filter, query.page).await?;
    pagination::respond(&req, query.page, page)
}

/// Documents the parameters in OpenAPI; parsing is the `QueryModel` below.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct RatingQuery {
    /// Only this service (id or slug).
    service: Option<String>,
    /// Only ratings given through this channel.
    channel: Option<RatingChannel>,
    /// Only ratings with this many stars.
    #[param(minimum = 1, maximum = 5)]
    stars: Option<u32>,
    /// From this instant (RFC 3339), inclusive.
    since: Option<DateTime<Utc>>,
    #[param(minimum = 1, default = 1)]
    page: Option<u32>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    per_page: Option<u32>,
}

pub struct RatingList {
    service: Option<String>,
    channel: Option<RatingChannel>,
    stars: Option<u32>,
    since: Option<DateTime<Utc>>,
    page: PageRequest,
}

impl QueryModel for RatingList {
    const PARAMETERS: &'static [&'static str] = &[
        "service",
        "channel",
        "stars",
        "since",
        PAGE_PARAMETERS[0],
        PAGE_PARAMETERS[1],
    ];

    fn read(params: &mut QueryParams) -> Self {
        RatingList {
            service: params.text("service", 200),
            channel: params.code("channel", RatingChannel::ALL, RatingChannel::code),
            stars: params.integer_in("stars", 1, 5),
            since: params.timestamp("since"),
            page: pagination::read_page(params),
        }
    }
}

/// An organization's ratings, with comments, newest first. Requires `editor` (or higher) in the
/// organization.
#[utoipa::path(
    tag = "opinion",
    params(("id_or_slug" = String, Path, description = "Organization id (UUID) or slug", example = "detran-mt"), RatingQuery),
    security(("bearer" = ["editor"])),
    responses(
        (status = 200, description = "A page of ratings", body = Paginated<RatingEntry>,
            headers(("Link" = String, description = "RFC 8288 links"))),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an editor of this organization", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No organization has this id or slug", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid or unknown query parameters", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organizations/{id_or_slug}/ratings")]
pub async fn organization_ratings(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    caller: Caller,
    query: Strict<RatingList>,
) -> ApiResult<HttpResponse> {
    let query = query.0;
    let (mut conn, organization_id) = agency(&state, &path, &caller).await?;
    let filter = RatingFilter {
        organization_id,
        service: query.service,
        channel: query.channel,
        stars: query.stars.and_then(|stars| i32::try_from(stars).ok()),
        since: query.since,
    };
    let page = store::list_ratings(&mut conn, &filter, query.page).await?;
    pagination::respond(&req, query.page, page)
}
