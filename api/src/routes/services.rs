use actix_web::{get, web, HttpRequest, HttpResponse};
use domain::query::{ServiceFilter, ServiceSort};
use domain::service::{Service, ServiceSummary};
use domain::taxonomy::{ChannelTypeCode, SegmentCode};
use persistence::reads;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult, Problem};
use crate::pagination::{self, Paginated, PAGE_PARAMETERS};
use crate::query::{NoParams, QueryModel, QueryParams, Strict};
use crate::AppState;

/// Filters combine with AND.
/// Documents the parameters in OpenAPI; parsing is the `QueryModel` below.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ServiceListQuery {
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
    sort: Option<ServiceSort>,
    /// 1-based page number.
    #[param(minimum = 1, default = 1)]
    page: Option<u32>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    per_page: Option<u32>,
}

pub struct ServiceList {
    filter: ServiceFilter,
    sort: ServiceSort,
    page: domain::query::PageRequest,
}

const SLUG_MAX: usize = 200;

impl QueryModel for ServiceList {
    const PARAMETERS: &'static [&'static str] = &[
        "organization",
        "topic",
        "life_event",
        "segment",
        "municipality",
        "channel",
        "free",
        "digital",
        "sort",
        PAGE_PARAMETERS[0],
        PAGE_PARAMETERS[1],
    ];

    fn read(params: &mut QueryParams) -> Self {
        ServiceList {
            filter: ServiceFilter {
                organization: params.text("organization", SLUG_MAX),
                topic: params.text("topic", SLUG_MAX),
                life_event: params.text("life_event", SLUG_MAX),
                segment: params.code("segment", SegmentCode::ALL, SegmentCode::code),
                municipality: params.ibge_code("municipality"),
                channel: params.code("channel", ChannelTypeCode::ALL, ChannelTypeCode::code),
                free: params.boolean("free"),
                digital: params.boolean("digital"),
            },
            sort: params
                .code(
                    "sort",
                    &[ServiceSort::Name, ServiceSort::Updated],
                    |sort| match sort {
                        ServiceSort::Name => "name",
                        ServiceSort::Updated => "updated",
                    },
                )
                .unwrap_or_default(),
            page: pagination::read_page(params),
        }
    }
}

/// List published services.
///
/// Summaries only; the detail endpoint carries everything. Unknown parameters are rejected.
#[utoipa::path(
    tag = "services",
    params(ServiceListQuery),
    responses(
        (status = 200, description = "A page of services", body = Paginated<ServiceSummary>,
            headers(("Link" = String, description = "RFC 8288 links: first, prev, next, last"))),
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
    let ServiceList { filter, sort, page } = query.0;
    let mut conn = state.connection().await?;
    let result = reads::list_services(&mut conn, &filter, sort, page).await?;
    pagination::respond(&req, page, result)
}

/// Get a published service.
///
/// The full record: requesters, steps with documents, costs and channels (each with their
/// conditional cases), deadlines, organization, topics, places and the Lei 13.460 checklist.
#[utoipa::path(
    tag = "services",
    params(("id_or_slug" = String, Path, description = "Service id (UUID) or slug", example = "renovar-cnh")),
    responses(
        (status = 200, description = "The service", body = Service),
        (status = 404, description = "No published service has this id or slug", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "Query parameters given: this endpoint takes none", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/services/{id_or_slug}")]
pub async fn get_service(
    state: web::Data<AppState>,
    path: web::Path<String>,
    _: Strict<NoParams>,
) -> ApiResult<web::Json<Service>> {
    let mut conn = state.connection().await?;
    reads::find_service(&mut conn, &path)
        .await?
        .map(web::Json)
        .ok_or(ApiError::NotFound(
            "Nenhum serviço publicado tem este id ou slug.",
        ))
}
