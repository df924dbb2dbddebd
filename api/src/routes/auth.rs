use std::sync::OnceLock;

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use base64::Engine;
use persistence::credentials;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{hash_secret, secret_matches};
use crate::error::{ApiError, ApiResult, Problem};
use crate::AppState;

/// OAuth 2.0 client credentials grant (RFC 6749 §4.4), form-encoded. The client authenticates
/// with HTTP Basic (preferred) or with `client_id` and `client_secret` in the body.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct TokenRequest {
    /// Always `client_credentials`.
    #[schema(example = "client_credentials")]
    grant_type: String,
    client_id: Option<String>,
    client_secret: Option<String>,
    /// Ignored: the token carries the client's registered role and organization.
    scope: Option<String>,
}

/// RFC 6749 §5.1.
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// A JWT signed with Carta's key (see `/.well-known/jwks.json`).
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the token expires.
    #[schema(example = 900)]
    pub expires_in: u64,
}

fn oauth(status: StatusCode, error: &'static str, description: &str) -> ApiError {
    ApiError::OAuth {
        status,
        error,
        description: description.to_owned(),
        challenge: None,
    }
}

/// Issues an access token to a partner's machine client.
///
/// Errors follow RFC 6749 §5.2: the problem body also carries `error` and `error_description`.
/// Failed attempts are limited per client and per address (429 with `Retry-After`).
#[utoipa::path(
    tag = "auth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A token", body = TokenResponse),
        (status = 400, description = "Malformed request or unsupported grant", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown client, wrong secret or revoked client", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/token")]
pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let form_encoded = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if !form_encoded {
        return Err(oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Envie o pedido como application/x-www-form-urlencoded.",
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).map_err(|_| {
        oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Formulário malformado.",
        )
    })?;
    let mut names: Vec<&str> = pairs.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err(oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Um parâmetro foi enviado mais de uma vez.",
        ));
    }
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    match param("grant_type").as_deref() {
        None => {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Informe grant_type=client_credentials.",
            ))
        }
        Some("client_credentials") => {}
        Some(_) => {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Só o fluxo client_credentials é aceito.",
            ))
        }
    }
    let basic = basic_credentials(&req);
    let in_body = param("client_id").zip(param("client_secret"));
    let (client_id, secret, used_basic) = match (basic, in_body) {
        (Some(_), Some(_)) => {
            return Err(oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Use um só método de autenticação do cliente.",
            ))
        }
        (Some((id, secret)), None) => (id, secret, true),
        (None, Some((id, secret))) => (id, secret, false),
        (None, None) => {
            return Err(invalid_client(false));
        }
    };
    let ip = state
        .trusted_proxies
        .client_address(&req)
        .map(|address| address.to_string())
        .unwrap_or_default();
    let limiter = &state.auth.limiter;
    if let Some(wait) = limiter.blocked(Some(&client_id), &ip) {
        return Err(ApiError::TooManyRequests {
            retry_after_s: wait.as_secs().max(1),
        });
    }
    // Counted as failed until proven right (see `limiter`).
    limiter.record_failure(Some(&client_id), &ip);
    let mut conn = state.connection().await?;
    let client = credentials::find_client(&mut conn, &client_id).await?;
    drop(conn);
    let hash = client
        .as_ref()
        .map(|client| client.secret_hash.clone())
        .unwrap_or_else(|| unknown_client_hash().to_owned());
    // Argon2 takes tens of milliseconds: off the async workers, a few at a time. An unknown
    // client is checked against a dummy hash, so timing does not tell which client ids exist.
    let matches = {
        let _slot = state
            .auth
            .secret_checks
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        web::block(move || secret_matches(&secret, &hash))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
    };
    let client = client.filter(|client| matches && client.revoked_at.is_none());
    let Some(client) = client else {
        return Err(invalid_client(used_basic));
    };
    limiter.forgive(Some(&client.client_id), &ip);
    let access_token = state.auth.issue(
        &client.client_id,
        client.role,
        client.organization_id.into_iter().collect(),
    )?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: state.auth.settings.token_ttl.as_secs(),
        }))
}

fn invalid_client(used_basic: bool) -> ApiError {
    ApiError::OAuth {
        status: StatusCode::UNAUTHORIZED,
        error: "invalid_client",
        description: "Cliente desconhecido, segredo errado ou cliente revogado.".into(),
        challenge: used_basic.then_some(r#"Basic realm="carta""#),
    }
}

fn unknown_client_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_secret("no such client").unwrap_or_default())
}

/// `Authorization: Basic` credentials, each part form-decoded (RFC 6749 §2.3.1).
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let form_decode = |part: &str| -> Option<String> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(&format!("v={}", part)).ok()?;
        pairs.into_iter().next().map(|(_, value)| value)
    };
    Some((form_decode(id)?, form_decode(secret)?))
}

/// Carta's public signing keys (RFC 7517), for verifying the tokens it issues. Keys being
/// retired stay listed until the tokens they signed have expired.
#[utoipa::path(
    tag = "auth",
    responses((status = 200, description = "JSON Web Key Set", body = Object, content_type = "application/json"))
)]
#[get("/.well-known/jwks.json")]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .json(state.auth.own_keys.jwks())
}
