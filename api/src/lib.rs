//! Carta's HTTP API: public reads of the service catalogue under `/v1`, documented by OpenAPI.

pub mod auth;
pub mod error;
pub mod import;
pub mod middleware;
pub mod pagination;
pub mod query;
pub mod routes;
pub mod search;
pub mod webhooks;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
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
    pub webhooks: std::sync::Arc<webhooks::WebhookSettings>,
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
        Ok(AppState {
            pool,
            search,
            auth,
            webhooks: Default::default(),
        })
    }

    /// With these webhook settings (the defaults otherwise).
    pub fn with_webhooks(mut self, settings: webhooks::WebhookSettings) -> AppState {
        self.webhooks = std::sync::Arc::new(settings);
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
        (name = "places", description = "Municipalities and service units"),
        (name = "health", description = "Probes for orchestrators"),
        (name = "auth", description = "Access tokens for partners' machine clients (OAuth 2.0 client credentials)"),
        (name = "editing", description = "Agencies edit their own services: drafts, review, publication, revisions"),
        (name = "admin", description = "Platform administration"),
        (name = "changes", description = "The change feed: follow every change of the public catalogue, in commit order"),
        (name = "webhooks", description = "Partners subscribe a URL to the change feed's events: signed deliveries, retried until received"),
    )
)]
struct ApiDoc;

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, document) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::configure)
        .split_for_parts();
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
    let document = openapi();
    let rendered = routes::docs::OpenApiDocument {
        json: document
            .to_json()
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        yaml: document
            .to_yaml()
            .map_err(|e| ApiError::Internal(e.to_string()))?,
    };
    let (app, _) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .app_data(web::Data::new(state))
        .app_data(json_config())
        .configure(routes::configure)
        .split_for_parts();
    Ok(app
        .app_data(web::Data::new(rendered))
        .route("/openapi.json", web::get().to(routes::docs::openapi_json))
        .route("/openapi.yaml", web::get().to(routes::docs::openapi_yaml))
        .route("/docs", web::get().to(routes::docs::index))
        .route("/docs/", web::get().to(routes::docs::index))
        .route("/docs/{asset}", web::get().to(routes::docs::asset))
        .default_service(web::to(not_found))
        .wrap(actix_web::middleware::from_fn(middleware::request_id)))
}

async fn not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    // A known path with the wrong method answers 405; anything else 404.
    let known = ["/health/", "/v1/", "/openapi.", "/docs"]
        .iter()
        .any(|prefix| req.path().starts_with(prefix));
    if known && req.method() != actix_web::http::Method::GET {
        return Err(ApiError::MethodNotAllowed);
    }
    Err(ApiError::NoRoute)
}
