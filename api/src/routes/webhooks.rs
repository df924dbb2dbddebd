//! Webhook subscriptions: partners subscribe a URL to event types and read their delivery log.
//! Any authenticated caller manages its own (self-service); an admin manages everyone's.

use actix_web::{delete, get, http::StatusCode, post, web, HttpRequest, HttpResponse};
use domain::access::Role;
use domain::feed::{is_known_pattern, WebhookDelivery, WebhookSubscription};
use domain::validation::FieldError;
use persistence::editing::Actor;
use persistence::webhooks as store;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{new_secret, Caller};
use crate::error::{ApiError, ApiResult, Problem};
use crate::pagination::{self, PageParams, PageQuery, Paginated};
use crate::query::{NoParams, Strict};
use crate::routes::support::{read_body, request_id};
use crate::webhooks::{literal_address, reachable};
use crate::AppState;

const MAX_PATTERNS: usize = 20;

/// A new subscription.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct NewWebhook {
    /// Where entries are POSTed: `https://` (plain `http://` only to localhost, where the server
    /// allows it for development).
    #[schema(example = "https://parceiro.example.org/carta/webhook")]
    pub url: String,
    /// `*`, `<resource>.*` (resources: service, organization, location, topic, life_event) or
    /// exact events such as `service.published`.
    #[schema(example = json!(["service.*"]))]
    pub events: Vec<String>,
    /// The partner it belongs to (admins only; others always subscribe for themselves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// A subscription just created, with its signing secret: shown this once only.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub subscription: WebhookSubscription,
    /// Key of the HMAC-SHA256 `Carta-Signature` of each delivery. Store it now.
    pub secret: String,
}

fn invalid(pointer: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        pointer: pointer.to_owned(),
        code: "invalid".into(),
        message: message.into(),
    }
}

fn rules(allow_http_localhost: bool) -> impl Fn(&NewWebhook) -> Vec<FieldError> {
    move |new: &NewWebhook| {
        let mut errors = Vec::new();
        match reqwest::Url::parse(&new.url) {
            _ if new.url.len() > 2000 => errors.push(invalid("/url", "URL longa demais.")),
            Ok(url) => {
                let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
                let scheme_ok = url.scheme() == "https"
                    || (url.scheme() == "http" && local && allow_http_localhost);
                let literal = literal_address(&url);
                if !scheme_ok || url.host_str().is_none() {
                    errors.push(invalid("/url", "Use uma URL https://."));
                } else if literal.is_some_and(|ip| !reachable(ip, allow_http_localhost))
                    || (local && !allow_http_localhost)
                {
                    errors.push(invalid(
                        "/url",
                        "O destino precisa ser um endereço público da internet.",
                    ));
                } else if !url.username().is_empty() || url.password().is_some() {
                    errors.push(invalid("/url", "A URL não pode conter credenciais."));
                }
            }
            Err(_) => errors.push(invalid("/url", "URL inválida.")),
        }
        if new.events.is_empty() || new.events.len() > MAX_PATTERNS {
            errors.push(invalid(
                "/events",
                format!("Informe de 1 a {MAX_PATTERNS} padrões de eventos."),
            ));
        }
        for (i, pattern) in new.events.iter().enumerate() {
            if !is_known_pattern(pattern) {
                errors.push(invalid(
                    &format!("/events/{i}"),
                    "Evento desconhecido: use `*`, `service.*` ou um evento como `service.published`.",
                ));
            }
        }
        if let Some(owner) = &new.owner {
            if owner.trim().is_empty() || owner.len() > 200 {
                errors.push(invalid("/owner", "Informe o titular (até 200 caracteres)."));
            }
        }
        errors
    }
}

/// A subscription the caller may see: its own, or any for an admin; 404 otherwise.
async fn visible(state: &AppState, caller: &Caller, id: &str) -> ApiResult<WebhookSubscription> {
    let not_found = ApiError::NotFound("Nenhuma assinatura de webhook tem este id.");
    let Ok(id) = Uuid::parse_str(id) else {
        return Err(not_found);
    };
    let mut conn = state.connection().await?;
    match store::find(&mut conn, id).await? {
        Some(found) if caller.0.role == Role::Admin || found.owner == caller.0.owner_key() => {
            Ok(found)
        }
        _ => Err(not_found),
    }
}

/// Subscribes a URL to events. Entries committed from now on are delivered (feed entries as in
/// `GET /v1/changes`), in order, signed with the returned secret. Any authenticated partner
/// subscribes for itself; an admin may name another `owner`.
#[utoipa::path(
    tag = "webhooks",
    request_body(content = NewWebhook, content_type = "application/json"),
    security(("bearer" = ["reader"])),
    responses(
        (status = 201, description = "Created; the secret is shown only now", body = CreatedWebhook),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`owner` given by a non-admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhooks")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    _: Strict<NoParams>,
    body: web::Json<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let new: NewWebhook = read_body(&body, rules(state.webhooks.allow_http_localhost))?;
    if new.owner.is_some() {
        caller.require(Role::Admin, None)?;
    }
    let owner = new.owner.clone().unwrap_or_else(|| caller.0.owner_key());
    let mut events: Vec<String> = Vec::new();
    for pattern in new.events {
        if !events.contains(&pattern) {
            events.push(pattern);
        }
    }
    let secret = new_secret();
    let request_id = request_id(&req);
    let mut conn = state.connection().await?;
    let subscription = store::create(
        &mut conn,
        &store::NewSubscription {
            owner: &owner,
            url: &new.url,
            events: &events,
            secret: &secret,
        },
        Actor {
            principal: &caller.0,
            request_id: request_id.as_deref(),
        },
    )
    .await?;
    Ok(HttpResponse::build(StatusCode::CREATED)
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/v1/webhooks/{}", subscription.id),
        ))
        .json(CreatedWebhook {
            subscription,
            secret,
        }))
}

/// The caller's subscriptions (every one for an admin), oldest first.
#[utoipa::path(
    tag = "webhooks",
    params(PageParams),
    security(("bearer" = ["reader"])),
    responses(
        (status = 200, description = "A page of subscriptions", body = Paginated<WebhookSubscription>),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid or unknown query parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    query: Strict<PageQuery>,
) -> ApiResult<HttpResponse> {
    let own = caller.0.owner_key();
    let owner = (caller.0.role != Role::Admin).then_some(own.as_str());
    let mut conn = state.connection().await?;
    let page = store::list(&mut conn, owner, query.0 .0).await?;
    pagination::respond(&req, query.0 .0, page)
}

/// One subscription (the caller's own, or any for an admin).
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Subscription id")),
    security(("bearer" = ["reader"])),
    responses(
        (status = 200, description = "The subscription", body = WebhookSubscription),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "None of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks/{id}")]
pub async fn get_webhook(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    _: Strict<NoParams>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(visible(&state, &caller, &path).await?))
}

/// Ends a subscription; its delivery log goes with it.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Subscription id")),
    security(("bearer" = ["reader"])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "None of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/webhooks/{id}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
    _: Strict<NoParams>,
) -> ApiResult<HttpResponse> {
    let subscription = visible(&state, &caller, &path).await?;
    let request_id = request_id(&req);
    let mut conn = state.connection().await?;
    let actor = Actor {
        principal: &caller.0,
        request_id: request_id.as_deref(),
    };
    if !store::delete(&mut conn, subscription.id, actor).await? {
        return Err(ApiError::NotFound(
            "Nenhuma assinatura de webhook tem este id.",
        ));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The delivery log of a subscription, newest first: every attempt with the receiver's status
/// code or why none came.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Subscription id"), PageParams),
    security(("bearer" = ["reader"])),
    responses(
        (status = 200, description = "A page of attempts", body = Paginated<WebhookDelivery>),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "None of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid or unknown query parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
    query: Strict<PageQuery>,
) -> ApiResult<HttpResponse> {
    let subscription = visible(&state, &caller, &path).await?;
    let mut conn = state.connection().await?;
    let page = store::deliveries(&mut conn, subscription.id, query.0 .0).await?;
    pagination::respond(&req, query.0 .0, page)
}
