use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use domain::near::{Near, BRAZIL, DEFAULT_RADIUS_KM, MAX_RADIUS_KM};
use domain::place::{GeoPoint, Location, LocationListItem, Municipality};
use domain::query::PageRequest;
use persistence::editing::{self, NotPublished};
use persistence::reads::{self, LocationFilter, MunicipalityFilter};
use persistence::reference_writes as store;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, Problem};
use crate::pagination::{self, Paginated};
use crate::query::{FeedRead, NoParams, QueryModel, QueryParams, Strict};
use crate::routes::answers::{cached_reply, list_key, remember};
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
    /// "Near me": a point `LAT,LON` in decimal degrees (WGS 84). Only units within `radius_km` of
    /// it are listed, nearest first (ties by name, then id), each with its `distance_km`; units
    /// without coordinates are left out. Latitude in [-90, 90], longitude in [-180, 180], and the
    /// point must be inside Brazil's bounding box (latitude -33.8 to 5.3, longitude -74.0 to
    /// -28.8, oceanic islands included).
    #[param(example = "-15.601,-56.0974")]
    near: Option<String>,
    /// Radius in km around `near`, only with it: more than 0 and at most 500. Default 50.
    #[param(exclusive_minimum = 0, maximum = 500, default = 50, example = 10)]
    radius_km: Option<f64>,
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
    "distance_km",
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
        "near",
        "radius_km",
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
                near: read_near(params),
                municipality: params.ibge_code("municipality"),
                organization: params.id_or_slug("organization"),
                modified_after: params.timestamp("modified_after"),
            },
            page: pagination::read_page(params),
            fields: params.fields("fields", LOCATION_FIELDS),
        }
    }
}

/// List service units (unidades de atendimento), by name, or nearest first.
///
/// With `near`, only the units within `radius_km` (default 50, at most 500) of the point, nearest
/// first, each with its `distance_km`; the other filters and the pages apply as usual.
#[utoipa::path(
    tag = "places",
    params(LocationListQuery),
    responses(
        (status = 200, description = "A page of service units", body = LocationPage,
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

// Documents the list envelope under a name of its own: a generic `Paginated<T>` would copy the
// item schema inline (utoipa issue #1586) and leave `LocationListItem` unreferenced.
/// A page of service units.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LocationPage {
    items: Vec<LocationListItem>,
    /// Items matching the request, on all pages.
    total: i64,
    page: u32,
    per_page: u32,
}

/// How `near` is described in pt-BR messages.
const NEAR_FORMAT: &str =
    "use latitude e longitude em graus decimais separadas por vírgula, como -15.601,-56.0974";

/// A decimal number as people type it (`-15.601`, `10`): no exponents, no `inf` or `NaN`.
fn decimal(raw: &str) -> Option<f64> {
    let plain = raw
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'));
    raw.parse::<f64>()
        .ok()
        .filter(|value| plain && value.is_finite())
}

/// Reads `near` (a point in Brazil) and `radius_km` (only with it, default and limit in
/// `domain::near`).
fn read_near(params: &mut QueryParams) -> Option<Near> {
    let point = params.parsed(
        "near",
        |raw| match raw.split(',').collect::<Vec<_>>()[..] {
            [lat, lon] => Some(GeoPoint {
                lat: decimal(lat.trim())?,
                lon: decimal(lon.trim())?,
            }),
            _ => None,
        },
        NEAR_FORMAT,
    );
    let point = point.filter(|point| {
        if !(-90.0..=90.0).contains(&point.lat) || !(-180.0..=180.0).contains(&point.lon) {
            params.invalid(
                "near",
                "out_of_range",
                "A latitude deve estar entre -90 e 90 e a longitude entre -180 e 180.",
            );
            false
        } else if !BRAZIL.contains(*point) {
            params.invalid(
                "near",
                "outside_brazil",
                format!(
                    "O ponto fica fora do Brasil (latitude de {:.1} a {:.1}, longitude de {:.1} \
                     a {:.1}). Confira se a latitude vem antes da longitude.",
                    BRAZIL.lat_min, BRAZIL.lat_max, BRAZIL.lon_min, BRAZIL.lon_max
                ),
            );
            false
        } else {
            true
        }
    });
    let radius_km = params.parsed(
        "radius_km",
        decimal,
        "use um número de quilômetros, como 10 ou 2.5",
    );
    let radius_km = radius_km.filter(|radius| {
        let fits = *radius > 0.0 && *radius <= MAX_RADIUS_KM;
        if !fits {
            params.invalid(
                "radius_km",
                "out_of_range",
                format!("Use um raio maior que 0 e de no máximo {MAX_RADIUS_KM} km."),
            );
        }
        fits
    });
    if params.given("radius_km") && !params.given("near") {
        params.invalid(
            "radius_km",
            "requires_near",
            "O raio só vale a partir de um ponto: informe também `near`.",
        );
    }
    Some(Near {
        point: point?,
        radius_km: radius_km.unwrap_or(DEFAULT_RADIUS_KM),
    })
}

/// Documents the parameters in OpenAPI; parsing is the `QueryModel` below.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ServiceLocationListQuery {
    /// "Near me": a point `LAT,LON` in decimal degrees (WGS 84). Only units within `radius_km` of
    /// it are listed, nearest first (ties by name, then id), each with its `distance_km`; units
    /// without coordinates are left out. Latitude in [-90, 90], longitude in [-180, 180], and the
    /// point must be inside Brazil's bounding box (latitude -33.8 to 5.3, longitude -74.0 to
    /// -28.8, oceanic islands included). Without it, the units are listed by name.
    #[param(example = "-15.601,-56.0974")]
    near: Option<String>,
    /// Radius in km around `near`, only with it: more than 0 and at most 500. Default 50.
    #[param(exclusive_minimum = 0, maximum = 500, default = 50, example = 10)]
    radius_km: Option<f64>,
    /// IBGE code of the municipality.
    #[param(example = 5103403)]
    municipality: Option<i32>,
    /// Only these members in each item, comma-separated, e.g. `id,name,distance_km`.
    #[param(example = "id,name,distance_km")]
    fields: Option<String>,
    #[param(minimum = 1, default = 1)]
    page: Option<u32>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    per_page: Option<u32>,
}

impl QueryModel for ServiceLocationList {
    const PARAMETERS: &'static [&'static str] = &[
        "near",
        "radius_km",
        "municipality",
        "fields",
        "page",
        "per_page",
    ];

    fn read(params: &mut QueryParams) -> Self {
        ServiceLocationList(LocationList {
            filter: LocationFilter {
                near: read_near(params),
                municipality: params.ibge_code("municipality"),
                ..LocationFilter::default()
            },
            page: pagination::read_page(params),
            fields: params.fields("fields", LOCATION_FIELDS),
        })
    }
}

pub struct ServiceLocationList(LocationList);

/// List where a published service is offered, by name or nearest first ("where can I do this
/// near me").
///
/// The service units its page lists and those its channels name. With `near`, only those within
/// `radius_km` (default 50, at most 500) of the point, nearest first, each with its
/// `distance_km`.
#[utoipa::path(
    tag = "places",
    params(
        ("id" = String, Path, description = "Service id (UUID) or slug", example = "emitir-carteira-identidade-cin"),
        ServiceLocationListQuery,
    ),
    responses(
        (status = 200, description = "A page of the service's units", body = LocationPage,
            headers(("Link" = String, description = "RFC 8288 links"))),
        (status = 308, description = "The service was renamed: `Location` has the current address of this list"),
        (status = 404, description = "No published service has this id or slug", body = Problem,
            content_type = "application/problem+json"),
        (status = 410, description = "The service was archived", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/services/{id}/locations")]
pub async fn list_service_locations(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: Strict<ServiceLocationList>,
) -> ApiResult<HttpResponse> {
    let LocationList {
        filter,
        page,
        fields,
    } = query.0 .0;
    // As `cached_reply`, but a service without a list (unknown, archived, renamed) is answered
    // from the database each time, as its page is.
    let cache_key = list_key(&req);
    if let Some(cached) = state.search.cached(&cache_key) {
        return Ok(cached.response());
    }
    let generation = state.search.generation();
    let mut conn = state.connection().await?;
    if let Some(result) = reads::service_locations(&mut conn, &path, &filter, page).await? {
        let (body, link) = pagination::answer(&req, page, result, fields.as_deref())?;
        return remember(&state, &cache_key, generation, &body, link);
    }
    match editing::not_published(&mut conn, &path).await? {
        Some(NotPublished::Archived) => Err(ApiError::Gone),
        Some(NotPublished::MovedTo(slug)) => {
            let query = req.query_string();
            let location = if query.is_empty() {
                format!("/v1/services/{slug}/locations")
            } else {
                format!("/v1/services/{slug}/locations?{query}")
            };
            Ok(HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, location))
                .finish())
        }
        None => Err(ApiError::NotFound(
            "Nenhum serviço publicado tem este id ou slug.",
        )),
    }
}
