//! The most viewed services: `GET /v1/services/popular`.

use actix_web::{get, web, HttpRequest, HttpResponse};
use domain::query::ServiceFilter;
use domain::service::ServiceSummary;
use domain::taxonomy::SegmentCode;
use persistence::reads;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiResult, Problem};
use crate::popularity::{DependsOnPopularity, WINDOW_DAYS};
use crate::query::{QueryModel, QueryParams, Strict};
use crate::routes::answers::cached_reply;
use crate::AppState;

const DEFAULT_LIMIT: u32 = 10;
const MAX_LIMIT: u32 = 50;

/// Documents the parameters in OpenAPI; parsing is the `QueryModel` below.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PopularQuery {
    /// IBGE code: only services offered in that municipality, statewide ones included.
    #[param(example = 5103403)]
    municipality: Option<i32>,
    /// Only services for this segment.
    segment: Option<SegmentCode>,
    /// How many services, at most.
    #[param(minimum = 1, maximum = 50, default = 10)]
    limit: Option<u32>,
}

pub struct Popular {
    filter: ServiceFilter,
    limit: u32,
}

impl QueryModel for Popular {
    const PARAMETERS: &'static [&'static str] = &["municipality", "segment", "limit"];

    fn read(params: &mut QueryParams) -> Self {
        Popular {
            filter: ServiceFilter {
                municipality: params.ibge_code("municipality"),
                segment: params.code("segment", SegmentCode::ALL, SegmentCode::code),
                ..ServiceFilter::default()
            },
            limit: params
                .integer_in("limit", 1, MAX_LIMIT)
                .unwrap_or(DEFAULT_LIMIT),
        }
    }
}

/// A service and how often its page was read.
#[derive(Debug, Serialize, ToSchema)]
pub struct PopularService {
    #[serde(flatten)]
    pub service: ServiceSummary,
    /// Views of the service's public page in the window (`window_days`).
    #[schema(example = 1532)]
    pub views: i64,
}

/// The most viewed services, most viewed first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PopularServices {
    /// Days of views counted: today (UTC) and the days before.
    #[schema(example = 30)]
    pub window_days: u32,
    pub items: Vec<PopularService>,
}

/// The most viewed published services.
///
/// Ordered by the views of their public page (`GET /v1/services/{id_or_slug}` without a token)
/// over the last 30 days, most viewed first, ties by name; services not viewed in that window
/// are not listed. Optionally only those offered in a municipality (statewide services count
/// everywhere) or for a segment. Views reach these figures within `CARTA_VIEWS_FLUSH_MS` on the
/// instance that counted them, and within a minute more on the others. Each client address
/// counts once per service and flush interval. Answers carry an `ETag` but no `Last-Modified`.
#[utoipa::path(
    tag = "services",
    params(PopularQuery),
    responses(
        (status = 200, description = "The most viewed services (no `Last-Modified`: every instance's views change them at any moment; revalidate with the `ETag`)", body = PopularServices),
        (status = 422, description = "Unknown parameter or bad value (`limit` outside 1..50, an unknown segment, a malformed IBGE code)",
            body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/services/popular")]
pub async fn popular_services(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Strict<Popular>,
) -> ApiResult<HttpResponse> {
    let Popular { filter, limit } = query.0;
    let mut response = cached_reply(&state, &state.popularity.cache_key(&req), || async {
        let mut conn = state.connection().await?;
        let items = reads::popular_services(&mut conn, &filter, limit)
            .await?
            .into_iter()
            .map(|(mut service, views)| {
                // The list's figures of citizens' opinion, as in every list item.
                state.opinions.decorate_summary(&mut service);
                PopularService { service, views }
            })
            .collect();
        Ok((
            PopularServices {
                window_days: WINDOW_DAYS,
                items,
            },
            None,
        ))
    })
    .await?;
    response
        .extensions_mut()
        .insert(DependsOnPopularity::Stored);
    Ok(response)
}
