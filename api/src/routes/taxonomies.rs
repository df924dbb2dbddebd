use actix_web::{get, web, HttpRequest, HttpResponse};
use domain::taxonomy::{
    ChannelTypeCode, LifeEvent, SegmentCode, Topic, TopicDetail, VocabularyEntry,
};
use persistence::{reads, reference_writes};
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult, Problem};
use crate::pagination;
use crate::query::{FeedRead, NoParams, QueryModel, QueryParams, Strict};
use crate::routes::answers::{cached_reply, list_key};
use crate::routes::support::tagged;
use crate::AppState;

/// Documents the parameters in OpenAPI; parsing is the `QueryModel` below.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct TaxonomyListQuery {
    /// Only those changed after this instant (RFC 3339); a topic tree keeps the ancestors that
    /// place a changed topic.
    #[param(example = "2026-11-30T12:00:00Z")]
    modified_after: Option<chrono::DateTime<chrono::Utc>>,
    /// Only these members of each item, comma-separated, e.g. `id,updated_at` (a topic keeps
    /// its `children`).
    #[param(example = "id,updated_at")]
    fields: Option<String>,
}

/// `modified_after` and `fields` of the taxonomy lists.
pub struct TaxonomyList {
    modified_after: Option<chrono::DateTime<chrono::Utc>>,
    fields: Option<Vec<&'static str>>,
}

const TAXON_FIELDS: &[&str] = &[
    "id",
    "slug",
    "name",
    "description",
    "service_count",
    "updated_at",
];

impl QueryModel for TaxonomyList {
    const PARAMETERS: &'static [&'static str] = &["modified_after", "fields"];

    fn read(params: &mut QueryParams) -> Self {
        TaxonomyList {
            modified_after: params.timestamp("modified_after"),
            fields: params.fields("fields", TAXON_FIELDS),
        }
    }
}

/// The topic tree (áreas de interesse), with published-service counts.
#[utoipa::path(
    tag = "taxonomies",
    params(TaxonomyListQuery),
    responses(
        (status = 200, description = "Root topics with their children", body = Vec<Topic>),
        (status = 422, description = "A bad or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/topics")]
pub async fn list_topics(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Strict<TaxonomyList>,
) -> ApiResult<HttpResponse> {
    let TaxonomyList {
        modified_after,
        fields,
    } = query.0;
    cached_reply(&state, &list_key(&req), || async {
        let mut conn = state.connection().await?;
        let mut tree = reads::topic_tree(&mut conn).await?;
        if let Some(after) = modified_after {
            tree = Topic::changed_after(tree, after);
        }
        Ok((pagination::project(tree, fields.as_deref())?, None))
    })
    .await
}

/// Life events (linhas da vida), with published-service counts.
#[utoipa::path(
    tag = "taxonomies",
    params(TaxonomyListQuery),
    responses(
        (status = 200, description = "Life events by name", body = Vec<LifeEvent>),
        (status = 422, description = "A bad or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/life-events")]
pub async fn list_life_events(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Strict<TaxonomyList>,
) -> ApiResult<HttpResponse> {
    let TaxonomyList {
        modified_after,
        fields,
    } = query.0;
    cached_reply(&state, &list_key(&req), || async {
        let mut conn = state.connection().await?;
        let mut events = reads::list_life_events(&mut conn).await?;
        if let Some(after) = modified_after {
            events.retain(|event| event.updated_at > after);
        }
        Ok((pagination::project(events, fields.as_deref())?, None))
    })
    .await
}

/// Get a topic with its parent, sub-topics and published-service count. Its `ETag` is what
/// writes expect in `If-Match`.
#[utoipa::path(
    tag = "taxonomies",
    params(("id_or_slug" = String, Path, description = "Topic id (UUID) or slug", example = "transito-e-veiculos"), ("change" = Option<u32>, Query, description = "Position of the change feed entry this address comes from: makes it unique to that change, so no cache answers it with an older copy; the record is then read fresh")),
    responses(
        (status = 200, description = "The topic", body = TopicDetail,
            headers(("ETag" = String, description = "Strong entity tag of its version (counts and the names of its parent and sub-topics are not part of it)"))),
        (status = 404, description = "Unknown topic", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter other than `change`, or a bad `change`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/topics/{id_or_slug}")]
pub async fn get_topic(
    state: web::Data<AppState>,
    path: web::Path<String>,
    _: Strict<FeedRead>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.connection().await?;
    reference_writes::find_topic(&mut conn, &path)
        .await?
        .map(tagged)
        .ok_or(ApiError::NotFound("Nenhum tema tem este id ou slug."))
}

/// Get a life event with its published-service count. Its `ETag` is what writes expect in
/// `If-Match`.
#[utoipa::path(
    tag = "taxonomies",
    params(("id_or_slug" = String, Path, description = "Life event id (UUID) or slug"), ("change" = Option<u32>, Query, description = "Position of the change feed entry this address comes from: makes it unique to that change, so no cache answers it with an older copy; the record is then read fresh")),
    responses(
        (status = 200, description = "The life event", body = LifeEvent,
            headers(("ETag" = String, description = "Strong entity tag of its version (the count is not part of it)"))),
        (status = 404, description = "Unknown life event", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter other than `change`, or a bad `change`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/life-events/{id_or_slug}")]
pub async fn get_life_event(
    state: web::Data<AppState>,
    path: web::Path<String>,
    _: Strict<FeedRead>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.connection().await?;
    reference_writes::find_life_event(&mut conn, &path)
        .await?
        .map(tagged)
        .ok_or(ApiError::NotFound(
            "Nenhum evento da vida tem este id ou slug.",
        ))
}

fn entries<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
    govbr: fn(T) -> &'static str,
) -> Vec<VocabularyEntry> {
    all.iter()
        .map(|item| VocabularyEntry {
            code: code(*item).to_owned(),
            name: label(*item).to_owned(),
            govbr_name: govbr(*item).to_owned(),
        })
        .collect()
}

/// The four federal audience segments.
#[utoipa::path(
    tag = "taxonomies",
    responses(
        (status = 200, description = "Segments", body = Vec<VocabularyEntry>),
        (status = 422, description = "Parameters given", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/segments")]
pub async fn list_segments(_: Strict<NoParams>) -> web::Json<Vec<VocabularyEntry>> {
    web::Json(entries(
        SegmentCode::ALL,
        SegmentCode::code,
        SegmentCode::label,
        SegmentCode::govbr_name,
    ))
}

/// The 18 federal channel types.
#[utoipa::path(
    tag = "taxonomies",
    responses(
        (status = 200, description = "Channel types", body = Vec<VocabularyEntry>),
        (status = 422, description = "Parameters given", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/channel-types")]
pub async fn list_channel_types(_: Strict<NoParams>) -> web::Json<Vec<VocabularyEntry>> {
    web::Json(entries(
        ChannelTypeCode::ALL,
        ChannelTypeCode::code,
        ChannelTypeCode::label,
        ChannelTypeCode::govbr_name,
    ))
}
