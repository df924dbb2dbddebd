//! Carta's HTTP API: public reads of the service catalogue under `/v1`, documented by OpenAPI.

pub mod auth;
pub mod client_address;
pub mod error;
pub mod http_caching;
pub mod import;
pub mod middleware;
pub mod opinion;
pub mod pagination;
pub mod popularity;
pub mod query;
pub mod route_table;
pub mod routes;
pub mod search;
pub mod webhooks;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::{web, App, HttpResponse};
use persistence::pool::DbConn;
use persistence::{DbPool, StoreError};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use crate::error::ApiError;

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub search: std::sync::Arc<search::SearchIndex>,
    pub auth: std::sync::Arc<auth::Auth>,
    /// Browser origins allowed to write (public reads allow any origin).
    pub cors_write_origins: std::sync::Arc<[String]>,
    /// Where the state portal shows a service, ending in `/`: feeds and exports link there.
    pub portal_url: String,
    pub webhooks: std::sync::Arc<webhooks::WebhookSettings>,
    /// Bulk exports running here: each holds a database connection and a snapshot while its
    /// client reads, so a few slow readers must not take the whole pool.
    pub exports: std::sync::Arc<tokio::sync::Semaphore>,
    /// Citizens' votes: totals in memory, limits, pseudonyms.
    pub opinions: std::sync::Arc<opinion::Opinions>,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: std::sync::Arc<client_address::TrustedProxies>,
    /// Page views counted here and not yet flushed, and the popularity epoch of cached answers.
    pub popularity: std::sync::Arc<popularity::Popularity>,
}

impl AppState {
    /// Builds the search index from the database and keeps it following the catalogue.
    /// Also loads Carta's signing keys (creating the first one) and keeps them fresh.
    pub async fn start(
        pool: DbPool,
        settings: &search::SearchSettings,
        auth_settings: auth::AuthSettings,
    ) -> Result<AppState, ApiError> {
        let search = search::build(&pool, settings).await?;
        search::spawn_follower(&search, pool.clone(), settings.follow_every);
        let auth = std::sync::Arc::new(auth::Auth::start(&pool, auth_settings).await?);
        spawn_key_refresher(&auth, pool.clone());
        let opinions = std::sync::Arc::new(opinion::Opinions::new(Default::default()));
        opinion::spawn_refresher(&opinions, pool.clone(), search.clone());
        let popularity = std::sync::Arc::new(popularity::Popularity::default());
        // The scores searches rank with, as other instances left them.
        popularity.flush(&pool, &search, true).await?;
        Ok(AppState {
            opinions,
            trusted_proxies: Default::default(),
            pool,
            search,
            auth,
            cors_write_origins: std::sync::Arc::from(Vec::new()),
            portal_url: routes::exports::DEFAULT_PORTAL_URL.to_owned(),
            webhooks: Default::default(),
            exports: std::sync::Arc::new(tokio::sync::Semaphore::new(
                routes::exports::CONCURRENT_EXPORTS,
            )),
            popularity,
        })
    }

    /// Flushes the page views counted here every `every` (`CARTA_VIEWS_FLUSH_MS`), and rereads
    /// every score now and then, in the background.
    pub fn spawn_view_flusher(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        popularity::spawn_flusher(&self.popularity, &self.search, self.pool.clone(), every)
    }

    /// Writes the page views counted here now and rereads every score (the background task does
    /// it on a timer; tests and shutdown call this).
    pub async fn flush_views(&self) -> Result<(), StoreError> {
        self.popularity.flush(&self.pool, &self.search, true).await
    }

    /// With these webhook settings (the defaults otherwise).
    pub fn with_webhooks(mut self, settings: webhooks::WebhookSettings) -> AppState {
        self.webhooks = std::sync::Arc::new(settings);
        self
    }

    /// With these vote settings (the defaults otherwise).
    pub fn with_opinions(mut self, settings: opinion::OpinionSettings) -> AppState {
        self.opinions = std::sync::Arc::new(opinion::Opinions::new(settings));
        opinion::spawn_refresher(&self.opinions, self.pool.clone(), self.search.clone());
        self
    }

    /// Behind these proxies.
    pub fn with_trusted_proxies(mut self, proxies: client_address::TrustedProxies) -> AppState {
        self.trusted_proxies = std::sync::Arc::new(proxies);
        self
    }

    pub async fn connection(&self) -> Result<DbConn, StoreError> {
        persistence::pool::connection(&self.pool).await
    }
}

/// Rereads Carta's signing keys now and then: another instance may have rotated them.
fn spawn_key_refresher(auth: &std::sync::Arc<auth::Auth>, pool: DbPool) {
    let auth = std::sync::Arc::downgrade(auth);
    tokio::spawn(async move {
        loop {
            let Some(every) = auth.upgrade().map(|auth| auth.settings.key_refresh) else {
                return;
            };
            tokio::time::sleep(every).await;
            let Some(auth) = auth.upgrade() else {
                return;
            };
            if let Err(error) = auth.own_keys.reload(&pool).await {
                tracing::warn!(%error, "could not reread the signing keys; will retry");
            }
        }
    });
}

/// The bearer scheme of the write endpoints; an operation's scopes name the least role it needs.
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT from POST /v1/auth/token (client credentials) or from a trusted \
identity provider. Claims `role` (reader, editor, publisher, admin) and `orgs` (organization ids) \
carry the caller's rights; an operation's scope names the least role it requires, within the \
organization of the service or service unit it acts on (`admin` acts for every organization and alone \
writes organizations, taxonomies and municipalities).",
                    ))
                    .build(),
            ),
        );
    }
}

/// What `http_caching` adds to every public read, documented once for all of them.
struct ConditionalReads;

impl utoipa::Modify for ConditionalReads {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::{ObjectBuilder, RefOr, ResponseBuilder, Type};
        let text = || ObjectBuilder::new().schema_type(Type::String).build();
        for (path, item) in openapi.paths.paths.iter_mut() {
            let Some(get) = item.get.as_mut() else {
                continue;
            };
            // Probes and reads that need a token (editable versions...) are not cached.
            if path.starts_with("/health/") || get.security.as_ref().is_some_and(|s| !s.is_empty())
            {
                continue;
            }
            // Streamed bodies (the bulk exports) pass through unvalidated.
            let buffered = |ok: &utoipa::openapi::Response| {
                ok.content
                    .keys()
                    .all(|media| media.starts_with("application/json"))
            };
            match get.responses.responses.get("200") {
                Some(RefOr::T(ok)) if !buffered(ok) => continue,
                _ => {}
            }
            // Read from the database, which other instances change at any moment: tag only.
            let undated = popularity::UNDATED_READS.contains(&path.as_str());
            if let Some(RefOr::T(ok)) = get.responses.responses.get_mut("200") {
                for (name, description) in [
                    ("ETag", "Strong validator of this representation (each content coding has its own); send it back in `If-None-Match`"),
                    ("Last-Modified", "When this instance last saw the catalogue change"),
                    ("Cache-Control", "How long shared and private caches may reuse the answer"),
                ] {
                    if undated && name == "Last-Modified" {
                        continue;
                    }
                    ok.headers.entry(name.to_owned()).or_insert_with(|| {
                        HeaderBuilder::new()
                            .schema(text())
                            .description(Some(description))
                            .build()
                    });
                }
            }
            get.responses.responses.insert(
                "304".to_owned(),
                RefOr::T(
                    ResponseBuilder::new()
                        .description(
                            "Not modified: the representation named by `If-None-Match` (or, \
without it, dated by `If-Modified-Since`) is still current",
                        )
                        .build(),
                ),
            );
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Carta",
        description = "Catálogo de serviços públicos (Carta de Serviços ao Usuário, Lei 13.460/2017, art. 7º) \
do Estado de Mato Grosso: o que é cada serviço, quem pode solicitar, requisitos, documentos, etapas, custos, \
prazos, canais, onde se manifestar e os compromissos de qualidade.\n\n\
Errors are RFC 9457 `application/problem+json` bodies with a machine-readable `code` and per-field `errors` \
(messages in pt-BR). Unknown query parameters are rejected with 422. Every response carries `X-Request-Id`.",
        license(name = "MIT"),
        version = "1.0.0"
    ),
    servers((url = "/", description = "This server")),
    modifiers(&BearerScheme),
    tags(
        (name = "services", description = "The Carta de Serviços"),
        (name = "organizations", description = "Service providers of any sphere and branch"),
        (name = "taxonomies", description = "Topics, life events, segments and channel types"),
        (name = "search", description = "The search vocabulary: synonym groups, kept by admins"),
        (name = "places", description = "Municipalities and service units"),
        (name = "health", description = "Probes for orchestrators"),
        (name = "auth", description = "Access tokens for partners' machine clients (OAuth 2.0 client credentials)"),
        (name = "editing", description = "Agencies edit their own services: drafts, review, publication, revisions"),
        (name = "admin", description = "Platform administration"),
        (name = "federation", description = "The catalogue in bulk: the feed the federal portal pulls, NDJSON and CSV exports"),
        (name = "changes", description = "The change feed: follow every change of the public catalogue, in commit order"),
        (name = "webhooks", description = "Partners subscribe a URL to the change feed's events: signed deliveries, retried until received"),
        (name = "opinion", description = "What citizens say of services (Lei 13.460 art. 23): anonymous usefulness votes and satisfaction ratings, their figures by service, organization and channel, the agencies' reading of reasons and comments, and the monitoring panel (Lei 14.129 art. 22)"),
    )
)]
struct ApiDoc;

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut document) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::configure)
        .split_for_parts();
    // After the routes: it documents every read they declare.
    utoipa::Modify::modify(&ConditionalReads, &mut document);
    document
}

/// The document as committed in `openapi.yaml`.
pub fn openapi_yaml() -> Result<String, ApiError> {
    openapi()
        .to_yaml()
        .map_err(|e| ApiError::Internal(e.to_string()))
}

fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(1024 * 1024)
        .content_type(|mime| {
            mime.type_() == "application"
                && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
        })
        .error_handler(|error, _| error::json_error(error).into())
}

/// The application, as `carta serve` runs it and the tests drive it.
pub fn build_app(
    state: AppState,
) -> Result<
    App<
        impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<impl MessageBody>,
            Error = actix_web::Error,
            InitError = (),
        >,
    >,
    ApiError,
> {
    let write_origins = state.cors_write_origins.clone();
    let document = openapi();
    let rendered = routes::docs::OpenApiDocument {
        json: document
            .to_json()
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        yaml: document
            .to_yaml()
            .map_err(|e| ApiError::Internal(e.to_string()))?,
    };
    // Read by GET only, and not in the document they serve.
    let undocumented = [
        ("/openapi.json", web::get().to(routes::docs::openapi_json)),
        ("/openapi.yaml", web::get().to(routes::docs::openapi_yaml)),
        ("/docs", web::get().to(routes::docs::index)),
        ("/docs/", web::get().to(routes::docs::index)),
        ("/docs/problems", web::get().to(routes::docs::problems)),
        ("/docs/{asset}", web::get().to(routes::docs::asset)),
    ];
    let route_table = route_table::RouteTable::new(
        &document,
        undocumented.iter().map(|(path, _)| (*path, Method::GET)),
    );
    let (app, _) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .app_data(web::Data::new(state))
        .app_data(json_config())
        .configure(routes::configure)
        .split_for_parts();
    let mut app = app
        .app_data(web::Data::new(rendered))
        .app_data(web::Data::new(route_table));
    for (path, route) in undocumented {
        app = app.route(path, route);
    }
    Ok(app
        .default_service(web::to(not_found))
        .wrap(actix_web::middleware::from_fn(http_caching::negotiate))
        .wrap(cors(&write_origins))
        .wrap(actix_web::middleware::from_fn(cors_refusals))
        .wrap(actix_web::middleware::from_fn(http_caching::head_as_get))
        .wrap(actix_web::middleware::from_fn(
            middleware::refuse_nul_in_path,
        ))
        .wrap(actix_web::middleware::from_fn(middleware::request_id)))
}

/// CORS: the catalogue is public, so any web page may read it; only the configured origins (the
/// agencies' editing tools) may write from a browser. Tokens travel in `Authorization`, never in
/// cookies, so credentials are not allowed.
fn cors(write_origins: &std::sync::Arc<[String]>) -> actix_cors::Cors {
    use actix_web::http::{header, Method};
    let write_origins = write_origins.clone();
    actix_cors::Cors::default()
        .allowed_origin_fn(move |origin, head| {
            // A preflight names the method it asks for; an actual request is its own method.
            let method = head
                .headers()
                .get(header::ACCESS_CONTROL_REQUEST_METHOD)
                .filter(|_| head.method == Method::OPTIONS)
                .and_then(|method| Method::from_bytes(method.as_bytes()).ok())
                .unwrap_or_else(|| head.method.clone());
            matches!(method, Method::GET | Method::HEAD)
                || origin
                    .to_str()
                    .is_ok_and(|origin| write_origins.iter().any(|allowed| allowed == origin))
        })
        .allowed_methods(route_table::METHODS)
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            header::IF_MODIFIED_SINCE,
            middleware::REQUEST_ID,
        ])
        .expose_headers([
            header::ETAG,
            header::LAST_MODIFIED,
            header::LINK,
            header::LOCATION,
            header::RETRY_AFTER,
            header::WWW_AUTHENTICATE,
            header::ALLOW,
            middleware::REQUEST_ID,
        ])
        .max_age(3600)
}

/// actix-cors answers a refused cross-origin request in plain text; the API answers every error
/// as problem+json.
async fn cors_refusals(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let response = next.call(req).await?.map_into_boxed_body();
    let refusal = response
        .response()
        .error()
        .and_then(|error| error.as_error::<actix_cors::CorsError>())
        .map(|error| error.to_string());
    let Some(reason) = refusal else {
        return Ok(response);
    };
    let (req, _) = response.into_parts();
    let problem = ApiError::Forbidden(format!(
        "O navegador não pode fazer esta chamada a partir desta origem ({reason})."
    ));
    Ok(ServiceResponse::new(
        req,
        actix_web::ResponseError::error_response(&problem),
    ))
}

async fn not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    // The path as the router matched it (percent-decoded where it decodes).
    let allowed = req
        .app_data::<web::Data<route_table::RouteTable>>()
        .map(|routes| routes.allowed(req.match_info().as_str()))
        .unwrap_or_default();
    if allowed.is_empty() || allowed.contains(req.method()) {
        return Err(ApiError::NoRoute);
    }
    // The path exists, but no route takes this method.
    Err(ApiError::MethodNotAllowed {
        allow: route_table::allow_header(&allowed),
    })
}
