use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use domain::query::{ServiceFilter, ServiceSort};
use domain::service::{Service, ServiceSummary};
use domain::taxonomy::{ChannelTypeCode, SegmentCode};
use persistence::editing::{self, NotPublished};
use persistence::reads;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult, Problem};
use crate::http_caching::asked_head;
use crate::pagination::{self, PAGE_PARAMETERS};
use crate::popularity::DependsOnPopularity;
use crate::query::{FeedRead, QueryModel, QueryParams, Strict};
use crate::routes::answers::{cached_answer, cached_reply, list_key, remember_page};
use crate::search::{
    Facets, Highlights, SearchRequest, SpellingCorrection, DEFAULT_FACET_VALUES, MAX_FACET_VALUES,
};
use crate::AppState;

/// Filters combine with AND.
/// Documents the parameters in OpenAPI; parsing is the `QueryModel` below.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ServiceListQuery {
    /// Search text: ranks published services by relevance (Portuguese stemming, accents and case
    /// ignored, typos corrected, the last word completed, synonyms such as "rg" ⇄ "carteira de
    /// identidade"). Adds `highlights` to items and `facets` to the answer.
    #[param(example = "segunda via rg", min_length = 1, max_length = 200)]
    q: Option<String>,
    /// Organization id or slug, e.g. `detran-mt`.
    organization: Option<String>,
    /// Topic slug or id; includes its sub-topics.
    topic: Option<String>,
    /// Life event slug or id.
    life_event: Option<String>,
    segment: Option<SegmentCode>,
    /// IBGE code: services offered in that municipality, statewide ones included.
    #[param(example = 5103403)]
    municipality: Option<i32>,
    /// Channel type used in some step.
    channel: Option<ChannelTypeCode>,
    /// Free of charge.
    free: Option<bool>,
    /// Can be started online.
    digital: Option<bool>,
    /// `relevance` (the default with `q`, and only with it), `name` (the default without `q`),
    /// `updated`, or `popular`: most viewed first (service page views of the last 30 days), then
    /// by name; with `q`, the matches with every word first, each group by views, then by
    /// relevance.
    #[param(inline)]
    sort: Option<ServiceSort>,
    /// Only services whose public version changed after this instant (RFC 3339).
    #[param(example = "2026-11-30T12:00:00Z")]
    modified_after: Option<chrono::DateTime<chrono::Utc>>,
    /// Only these members in each item, comma-separated, e.g. `id,updated_at` for a minimal
    /// listing to compare with a local copy; `highlights` only with `q`.
    #[param(example = "id,updated_at")]
    fields: Option<String>,
    /// With `q` only: values listed per facet, 50 when not given; `facets.more` says how many
    /// each leaves out. (No declared default: generated clients would send it without `q`.)
    #[param(minimum = 1, maximum = 1000)]
    facet_limit: Option<u32>,
    /// 1-based page number.
    #[param(minimum = 1, default = 1)]
    page: Option<u32>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    per_page: Option<u32>,
}

pub struct ServiceList {
    text: Option<String>,
    filter: ServiceFilter,
    sort: Option<ServiceSort>,
    page: domain::query::PageRequest,
    fields: Option<Vec<&'static str>>,
    facet_limit: u32,
}

/// Members of a list item `fields` may choose.
const ITEM_FIELDS: &[&str] = &[
    "id",
    "slug",
    "name",
    "acronym",
    "popular_names",
    "summary",
    "organization",
    "free",
    "digital",
    "time_estimate",
    "channel_types",
    "status",
    "usefulness",
    "satisfaction",
    "updated_at",
    "highlights",
];

const SEARCH_TEXT_MAX: usize = 200;

impl QueryModel for ServiceList {
    const PARAMETERS: &'static [&'static str] = &[
        "q",
        "organization",
        "topic",
        "life_event",
        "segment",
        "municipality",
        "channel",
        "free",
        "digital",
        "sort",
        "modified_after",
        "fields",
        "facet_limit",
        PAGE_PARAMETERS[0],
        PAGE_PARAMETERS[1],
    ];

    fn read(params: &mut QueryParams) -> Self {
        // A trailing space says the last word is finished: it is then not completed.
        let finished = params.ends_with_whitespace("q");
        let text = params
            .text("q", SEARCH_TEXT_MAX)
            .map(|text| if finished { text + " " } else { text });
        let sort = params.code(
            "sort",
            &[
                ServiceSort::Name,
                ServiceSort::Updated,
                ServiceSort::Relevance,
                ServiceSort::Popular,
            ],
            |sort| match sort {
                ServiceSort::Name => "name",
                ServiceSort::Updated => "updated",
                ServiceSort::Relevance => "relevance",
                ServiceSort::Popular => "popular",
            },
        );
        if sort == Some(ServiceSort::Relevance) && text.is_none() {
            params.invalid(
                "sort",
                "requires_q",
                "A ordenação por relevância só existe numa busca: informe `q`.",
            );
        }
        let fields = params.fields("fields", ITEM_FIELDS);
        // A `q` given but malformed has its own error.
        let searching = params.given("q");
        if !searching && fields.as_ref().is_some_and(|f| f.contains(&"highlights")) {
            params.invalid(
                "fields",
                "requires_q",
                "O campo `highlights` só existe numa busca: informe `q`.",
            );
        }
        let facet_limit = params.integer_in("facet_limit", 1, MAX_FACET_VALUES);
        if !searching && facet_limit.is_some() {
            params.invalid(
                "facet_limit",
                "requires_q",
                "As facetas só existem numa busca: informe `q`.",
            );
        }
        ServiceList {
            text,
            filter: ServiceFilter {
                organization: params.id_or_slug("organization"),
                topic: params.id_or_slug("topic"),
                life_event: params.id_or_slug("life_event"),
                segment: params.code("segment", SegmentCode::ALL, SegmentCode::code),
                municipality: params.ibge_code("municipality"),
                channel: params.code("channel", ChannelTypeCode::ALL, ChannelTypeCode::code),
                free: params.boolean("free"),
                digital: params.boolean("digital"),
                modified_after: params.timestamp("modified_after"),
            },
            sort,
            page: pagination::read_page(params),
            fields,
            facet_limit: facet_limit.unwrap_or(DEFAULT_FACET_VALUES),
        }
    }
}

/// A service in a list; with `highlights` when the list answers a search.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceListItem {
    #[serde(flatten)]
    pub service: ServiceSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub highlights: Option<Highlights>,
}

/// A page of services.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServicePage {
    pub items: Vec<ServiceListItem>,
    /// Items matching the request, on all pages.
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    /// With `q` only: counts per filter value among the matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facets: Option<Facets>,
    /// With `q` only, when some of its words are not in the catalogue and were read as known
    /// ones (a typo): how the text was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correction: Option<SpellingCorrection>,
}

/// List or search published services.
///
/// Without `q`: every published service matching the filters, by name, last update or
/// popularity. With `q`: the matches ranked by relevance (name and popular names above keywords,
/// above description, above steps and documents; the exact phrase above scattered words; among
/// near-equals, the most viewed first), each with `highlights`, and `facets` with counts per
/// organization, topic, segment, channel, free, digital and municipality, where each facet
/// ignores its own filter. Unknown parameters are rejected.
#[utoipa::path(
    tag = "services",
    params(ServiceListQuery),
    responses(
        (status = 200, description = "A page of services", body = ServicePage,
            headers(("Link" = String, description = "RFC 8288 links: first, prev, next, last"),
                ("Last-Modified" = String, description = "When this instance last saw the catalogue change; for searches with `sort=popular`, also its copy of the view counts, and for searches ranked by relevance, its popularity boosts. Not sent with `sort=popular` without `q` (every instance's views change that order at any moment)"))),
        (status = 422, description = "Unknown parameter, bad value or page past the last", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/services")]
pub async fn list_services(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Strict<ServiceList>,
) -> ApiResult<HttpResponse> {
    let ServiceList {
        text,
        filter,
        sort,
        page,
        fields,
        facet_limit,
    } = query.0;
    // Orders that follow page views are cached under the popularity epoch, and searches ranked
    // by relevance (boosted by popularity in steps) under the boost epoch: they are recomputed
    // when those change, not only when the catalogue does.
    let depends = match (&text, sort) {
        // Read from the database, where every instance's flushes land.
        (None, Some(ServiceSort::Popular)) => Some(DependsOnPopularity::Stored),
        (Some(_), Some(ServiceSort::Popular)) => Some(DependsOnPopularity::Views),
        (Some(_), None | Some(ServiceSort::Relevance)) => Some(DependsOnPopularity::Boost),
        _ => None,
    };
    let key = match depends {
        Some(DependsOnPopularity::Stored | DependsOnPopularity::Views) => {
            state.popularity.cache_key(&req)
        }
        Some(DependsOnPopularity::Boost) => state.popularity.boost_cache_key(&req),
        None => list_key(&req),
    };
    let mark = |response: ApiResult<HttpResponse>| {
        response.map(|mut response| {
            if let Some(depends) = depends {
                response.extensions_mut().insert(depends);
            }
            response
        })
    };
    let Some(text) = text else {
        return mark(
            cached_reply(&state, &key, || async {
                let mut conn = state.connection().await?;
                let result =
                    reads::list_services(&mut conn, &filter, sort.unwrap_or_default(), page)
                        .await?;
                let link = pagination::link_header(&req, page, result.total)?;
                let body = ServicePage {
                    items: result
                        .items
                        .into_iter()
                        .map(|mut service| {
                            state.opinions.decorate_summary(&mut service);
                            ServiceListItem {
                                service,
                                highlights: None,
                            }
                        })
                        .collect(),
                    total: result.total,
                    page: page.page,
                    per_page: page.per_page,
                    facets: None,
                    correction: None,
                };
                Ok((pagination::project(body, fields.as_deref())?, Some(link)))
            })
            .await,
        );
    };
    mark(cached_answer(&state, &key, || {
        let results = state.search.search(&SearchRequest {
            text,
            filter,
            sort: sort.unwrap_or(ServiceSort::Relevance),
            page,
            facet_limit,
        })?;
        let total = i64::try_from(results.total).unwrap_or(i64::MAX);
        let link = pagination::link_header(&req, page, total)?;
        let body = ServicePage {
            items: results
                .hits
                .into_iter()
                .map(|mut hit| {
                    state.opinions.decorate_summary(&mut hit.summary);
                    ServiceListItem {
                        service: hit.summary,
                        highlights: Some(hit.highlights),
                    }
                })
                .collect(),
            total,
            page: page.page,
            per_page: page.per_page,
            facets: Some(results.facets),
            correction: results.correction,
        };
        Ok((pagination::project(body, fields.as_deref())?, Some(link)))
    }))
}

/// Get a published service.
///
/// The full record: requesters, steps with documents, costs and channels (each with their
/// conditional cases), deadlines, organization, topics, places and the Lei 13.460 checklist.
/// Each answer without a token (a 200 or a 304, not HEAD, not `?change=`) counts one view of the
/// service for `GET /v1/services/popular` and `sort=popular`, at most once per client address
/// and flush interval (`CARTA_VIEWS_FLUSH_MS`).
#[utoipa::path(
    tag = "services",
    params(("id_or_slug" = String, Path, description = "Service id (UUID) or slug", example = "renovar-cnh"), ("change" = Option<u32>, Query, description = "Position of the change feed entry this address comes from: makes it unique to that change, so no cache answers it with an older copy; the record is then read fresh")),
    responses(
        (status = 200, description = "The service", body = Service),
        (status = 308, description = "The service was renamed: `Location` has its current address"),
        (status = 404, description = "No published service has this id or slug", body = Problem,
            content_type = "application/problem+json"),
        (status = 410, description = "The service was archived", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "A parameter other than `change`, or a bad `change`", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/services/{id_or_slug}")]
pub async fn get_service(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: Strict<FeedRead>,
) -> ApiResult<HttpResponse> {
    let fresh = query.0.change.is_some();
    // A citizen reading the page: not a feed follower (`?change=`), a link checker (HEAD) nor a
    // partner's or editor's system (a token). A 304 counts: the page was read again.
    let counts_as_view =
        !fresh && !asked_head(&req) && !req.headers().contains_key(header::AUTHORIZATION);
    // A published page costs no database round trip until the catalogue changes.
    if let Some(cached) = state.search.cached(req.path()).filter(|_| !fresh) {
        if let Some(id) = cached.subject.filter(|_| counts_as_view) {
            state
                .popularity
                .count(id, state.trusted_proxies.client_address(&req));
        }
        return Ok(cached.response());
    }
    let generation = state.search.generation();
    let mut conn = state.connection().await?;
    if let Some(mut service) = reads::find_service(&mut conn, &path).await? {
        state.opinions.decorate(&mut service);
        if fresh {
            return Ok(HttpResponse::Ok().json(service));
        }
        if counts_as_view {
            state
                .popularity
                .count(service.id, state.trusted_proxies.client_address(&req));
        }
        return remember_page(&state, req.path(), generation, &service, service.id);
    }
    match editing::not_published(&mut conn, &path).await? {
        Some(NotPublished::Archived) => Err(ApiError::Gone),
        Some(NotPublished::MovedTo(slug)) => Ok(HttpResponse::PermanentRedirect()
            .insert_header((header::LOCATION, format!("/v1/services/{slug}")))
            .finish()),
        None => Err(ApiError::NotFound(
            "Nenhum serviço publicado tem este id ou slug.",
        )),
    }
}
