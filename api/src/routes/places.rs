use actix_web::{get, web, HttpRequest, HttpResponse};
use domain::place::{Location, Municipality};
use domain::query::PageRequest;
use persistence::reads::{self, LocationFilter, MunicipalityFilter};
use persistence::reference_writes as store;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, Problem};
use crate::pagination::{self, Paginated};
use crate::query::{FeedRead, NoParams, QueryModel, QueryParams, Strict};
use crate::routes::answers::{cached_reply, list_key};
use crate::routes::reference_writes;
use crate::routes::support::tagged;
use crate::AppState;

/// Documents the parameters in OpenAPI; parsing is the `QueryModel` below.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct MunicipalityListQuery {
    /// Two-letter state code, e.g. `MT`.
    #[param(example = "MT")]
    state: Option<String>,
    /// Only municipalities changed after this instant (RFC 3339).
    modified_after: Option<chrono::DateTime<chrono::Utc>>,
    /// Only these members in each item, comma-separated, e.g. `ibge_code,name`.
    #[param(example = "ibge_code,name")]
    fields: Option<String>,
    #[param(minimum = 1, default = 1)]
    page: Option<u32>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    per_page: Option<u32>,
}

pub struct MunicipalityList {
    filter: MunicipalityFilter,
    page: PageRequest,
    fields: Option<Vec<&'static str>>,
}

/// Members of a list item `fields` may choose.
const MUNICIPALITY_FIELDS: &[&str] = &["ibge_code", "name", "state", "point", "is_capital"];

impl QueryModel for MunicipalityList {
    const PARAMETERS: &'static [&'static str] =
        &["state", "modified_after", "fields", "page", "per_page"];

    fn read(params: &mut QueryParams) -> Self {
        MunicipalityList {
            filter: MunicipalityFilter {
                state: params.parsed(
                    "state",
                    |raw| {
                        let upper = raw.to_ascii_uppercase();
                        (upper.len() == 2 && upper.bytes().all(|b| b.is_ascii_uppercase()))
                            .then_some(upper)
                    },
                    "use a sigla de duas letras da UF, como MT",
                ),
                modified_after: params.timestamp("modified_after"),
            },
            page: pagination::read_page(params),
            fields: params.fields("fields", MUNICIPALITY_FIELDS),
        }
    }
}

/// List municipalities (IBGE), by name.
#[utoipa::path(
    tag = "places",
    params(MunicipalityListQuery),
    responses(
        (status = 200, description = "A page of municipalities", body = Paginated<Municipality>,
            headers(("Link" = String, description = "RFC 8288 links"))),
        (status = 422, description = "Invalid parameters", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/municipalities")]
pub async fn list_municipalities(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Strict<MunicipalityList>,
) -> ApiResult<HttpResponse> {
    let MunicipalityList {
        filter,
        page,
        fields,
    } = query.0;
    cached_reply(&state, &list_key(&req), || async {
        let mut conn = state.connection().await?;
        let result = reads::list_municipalities(&mut conn, &filter, page).await?;
        pagination::answer(&req, page, result, fields.as_deref())
    })
    .await
}

/// Documents the parameters in OpenAPI; parsing is the `QueryModel` below.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct LocationListQuery {
    /// IBGE code of the municipality.
    #[param(example = 5103403)]
    municipality: Option<i32>,
    /// Organization id or slug.
    organization: Option<String>,
    /// Only service units changed after this instant (RFC 3339).
    modified_after: Option<chrono::DateTime<chrono::Utc>>,
    /// Only these members in each item, comma-separated, e.g. `id,updated_at`.
    #[param(example = "id,updated_at")]
    fields: Option<String>,
    #[param(minimum = 1, default = 1)]
    page: Option<u32>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    per_page: Option<u32>,
}

pub struct LocationList {
    filter: LocationFilter,
    page: PageRequest,
    fields: Option<Vec<&'static str>>,
}

/// Members of a list item `fields` may choose.
const LOCATION_FIELDS: &[&str] = &[
    "id",
    "organization",
    "name",
    "address",
    "municipality",
    "point",
    "opening_hours",
    "phone",
    "email",
    "accessibility",
    "responsible_sector",
    "updated_at",
];

impl QueryModel for LocationList {
    const PARAMETERS: &'static [&'static str] = &[
        "municipality",
        "organization",
        "modified_after",
        "fields",
        "page",
        "per_page",
    ];

    fn read(params: &mut QueryParams) -> Self {
        LocationList {
            filter: LocationFilter {
                municipality: params.ibge_code("municipality"),
                organization: params.text("organization", 200),
                modified_after: params.timestamp("modified_after"),
            },
            page: pagination::read_page(params),
            fields: params.fields("fields", LOCATION_FIELDS),
        }
    }
}

/// List service units (unidades de atendimento), by name.
#[utoipa::path(
    tag = "places",
    params(LocationListQuery),
    responses(
        (status = 200, description = "A page of service units", body = Paginated<Location>,
            headers(("Link" = String, description = "RFC 8288 links"))),
        (status = 422, description = "Invalid parameters", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/locations")]
pub async fn list_locations(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Strict<LocationList>,
) -> ApiResult<HttpResponse> {
    let LocationList {
        filter,
        page,
        fields,
    } = query.0;
    cached_reply(&state, &list_key(&req), || async {
        let mut conn = state.connection().await?;
        let result = reads::list_locations(&mut conn, &filter, page).await?;
        pagination::answer(&req, page, result, fields.as_deref())
    })
    .await
}

/// Get a municipality by its IBGE code. Its `ETag` is what writes expect in `If-Match`.
#[utoipa::path(
    tag = "places",
    params(("ibge_code" = i32, Path, description = "7-digit IBGE code", example = 5103403)),
    responses(
        (status = 200, description = "The municipality", body = Municipality,
            headers(("ETag" = String, description = "Strong entity tag of its version"))),
        (status = 404, description = "Unknown municipality", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Query parameters given: this endpoint takes none", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/municipalities/{ibge_code}")]
pub async fn get_municipality(
    state: web::Data<AppState>,
    path: web::Path<String>,
    _: Strict<NoParams>,
) -> ApiResult<HttpResponse> {
    let code = reference_writes::ibge_code(&path)?;
    let mut conn = state.connection().await?;
    store::find_municipality(&mut conn, code)
        .await?
        .map(tagged)
        .ok_or(ApiError::NotFound("Nenhum município tem este código IBGE."))
}

/// Get a service unit. Its `ETag` is what writes expect in `If-Match`.
#[utoipa::path(
    tag = "places",
    params(("id" = Uuid, Path, description = "Location id"), ("change" = Option<u32>, Query, description = "Position of the change feed entry this address comes from: makes it unique to that change, so no cache answers it with an older copy; the record is then read fresh")),
    responses(
        (status = 200, description = "The service unit", body = Location,
            headers(("ETag" = String, description = "Strong entity tag of its version (the names of its organization and municipality are not part of it)"))),
        (status = 404, description = "Unknown location", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter other than `change`, or a bad `change`", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/locations/{id}")]
pub async fn get_location(
    state: web::Data<AppState>,
    path: web::Path<String>,
    _: Strict<FeedRead>,
) -> ApiResult<HttpResponse> {
    // A malformed id names no location: 404, like any unknown id.
    let id = Uuid::parse_str(&path)
        .map_err(|_| ApiError::NotFound("Nenhuma unidade de atendimento tem este id."))?;
    let mut conn = state.connection().await?;
    store::find_location(&mut conn, id)
        .await?
        .map(tagged)
        .ok_or(ApiError::NotFound(
            "Nenhuma unidade de atendimento tem este id.",
        ))
}
