use actix_web::{get, web, HttpRequest, HttpResponse};
use domain::organization::{Organization, Sphere};
use domain::query::PageRequest;
use persistence::reads::{self, OrganizationFilter};
use persistence::reference_writes;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult, Problem};
use crate::pagination::{self, Paginated};
use crate::query::{FeedRead, QueryModel, QueryParams, Strict};
use crate::routes::answers::{cached_reply, list_key};
use crate::routes::support::tagged;
use crate::AppState;

/// Documents the parameters in OpenAPI; parsing is the `QueryModel` below.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct OrganizationListQuery {
    sphere: Option<Sphere>,
    /// Only organizations changed after this instant (RFC 3339).
    modified_after: Option<chrono::DateTime<chrono::Utc>>,
    /// Only these members in each item, comma-separated, e.g. `id,updated_at`.
    #[param(example = "id,updated_at")]
    fields: Option<String>,
    #[param(minimum = 1, default = 1)]
    page: Option<u32>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    per_page: Option<u32>,
}

pub struct OrganizationList {
    filter: OrganizationFilter,
    page: PageRequest,
    fields: Option<Vec<&'static str>>,
}

/// Members of a list item `fields` may choose.
const ITEM_FIELDS: &[&str] = &[
    "id",
    "slug",
    "name",
    "acronym",
    "kind",
    "sphere",
    "branch",
    "parent",
    "codes",
    "description",
    "contact",
    "website",
    "ombudsman_url",
    "service_count",
    "updated_at",
];

impl QueryModel for OrganizationList {
    const PARAMETERS: &'static [&'static str] =
        &["sphere", "modified_after", "fields", "page", "per_page"];

    fn read(params: &mut QueryParams) -> Self {
        OrganizationList {
            filter: OrganizationFilter {
                sphere: params.code(
                    "sphere",
                    &[
                        Sphere::Federal,
                        Sphere::State,
                        Sphere::Municipal,
                        Sphere::Private,
                    ],
                    Sphere::code,
                ),
                modified_after: params.timestamp("modified_after"),
            },
            page: pagination::read_page(params),
            fields: params.fields("fields", ITEM_FIELDS),
        }
    }
}

/// List organizations (service providers), by name.
#[utoipa::path(
    tag = "organizations",
    params(OrganizationListQuery),
    responses(
        (status = 200, description = "A page of organizations", body = Paginated<Organization>,
            headers(("Link" = String, description = "RFC 8288 links"))),
        (status = 422, description = "Invalid parameters", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/organizations")]
pub async fn list_organizations(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Strict<OrganizationList>,
) -> ApiResult<HttpResponse> {
    let OrganizationList {
        filter,
        page,
        fields,
    } = query.0;
    cached_reply(&state, &list_key(&req), || async {
        let mut conn = state.connection().await?;
        let result = reads::list_organizations(&mut conn, &filter, page).await?;
        pagination::answer(&req, page, result, fields.as_deref())
    })
    .await
}

/// Get an organization with its number of published services. Its `ETag` is what writes expect
/// in `If-Match`.
#[utoipa::path(
    tag = "organizations",
    params(("id_or_slug" = String, Path, description = "Organization id (UUID) or slug", example = "detran-mt"), ("change" = Option<u32>, Query, description = "Position of the change feed entry this address comes from: makes it unique to that change, so no cache answers it with an older copy; the record is then read fresh")),
    responses(
        (status = 200, description = "The organization", body = Organization,
            headers(("ETag" = String, description = "Strong entity tag of its version (its service count is not part of it)"))),
        (status = 404, description = "Unknown organization", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter other than `change`, or a bad `change`", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/organizations/{id_or_slug}")]
pub async fn get_organization(
    state: web::Data<AppState>,
    path: web::Path<String>,
    _: Strict<FeedRead>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.connection().await?;
    reference_writes::find_organization(&mut conn, &path)
        .await?
        .map(tagged)
        .ok_or(ApiError::NotFound("Nenhum órgão tem este id ou slug."))
}
