//! Authentication: bearer JWTs from trusted issuers and from Carta's own token endpoint (OAuth 2.0
//! client credentials), verified into a `Caller`; and the failure limiter of the token endpoint.

pub mod clients;
pub mod keys;
pub mod limiter;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::{web, FromRequest, HttpRequest};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::Utc;
use domain::access::{Principal, Role};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Header, Validation};
use persistence::DbPool;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;
use crate::AppState;
use keys::{OwnKeys, TrustedIssuer, VerifyingKey, ACCEPTED};

/// How tokens are checked and issued.
#[derive(Clone)]
pub struct AuthSettings {
    /// `iss` of the tokens Carta issues.
    pub issuer: String,
    /// `aud` every accepted token must carry.
    pub audience: String,
    /// Lifetime of the tokens Carta issues.
    pub token_ttl: Duration,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    pub trusted_issuers: Vec<TrustedIssuer>,
    /// How often Carta's own keys are reread (another instance may have rotated them).
    pub key_refresh: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            issuer: "carta".into(),
            audience: "carta".into(),
            token_ttl: Duration::from_secs(900),
            leeway: Duration::from_secs(30),
            trusted_issuers: Vec::new(),
            key_refresh: Duration::from_secs(60),
        }
    }
}

/// Claims of the access tokens Carta issues. `role` and `orgs` (organization ids) carry the
/// caller's rights; trusted identity providers must emit them too.
#[derive(Debug, Serialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub jti: String,
    pub role: String,
    #[serde(default)]
    pub orgs: Vec<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// What Carta reads of a verified token. The registered claims (`exp`, `nbf`, `iss`, `aud`, a
/// string or an array) are checked by `jsonwebtoken` itself; `jti`, `iat` and `nbf` are optional,
/// as RFC 7519 has them.
#[derive(Deserialize)]
struct Rights {
    sub: String,
    role: String,
    #[serde(default)]
    orgs: Vec<Uuid>,
    #[serde(default)]
    client_id: Option<String>,
}

/// Only the issuer, read before the signature is checked, to pick the keys.
#[derive(Deserialize)]
struct Unverified {
    iss: Option<String>,
}

pub struct Auth {
    pub settings: AuthSettings,
    pub own_keys: OwnKeys,
    pub limiter: limiter::FailureLimiter,
    /// Argon2 checks of client secrets running at once: each takes ~19 MiB and tens of
    /// milliseconds, and anyone may ask for a token, so they are bounded.
    pub secret_checks: tokio::sync::Semaphore,
}

impl Auth {
    pub async fn start(pool: &DbPool, settings: AuthSettings) -> Result<Auth, ApiError> {
        // A retired key verifies for as long as a token it signed can live, plus one refresh
        // period during which another instance may still have signed with it.
        let verify_retired_for = settings.token_ttl + settings.leeway + settings.key_refresh;
        Ok(Auth {
            own_keys: OwnKeys::start(pool, verify_retired_for).await?,
            limiter: limiter::FailureLimiter::default(),
            secret_checks: tokio::sync::Semaphore::new(4),
            settings,
        })
    }

    /// Verifies a bearer token into the caller it names.
    pub async fn verify(&self, pool: &DbPool, token: &str) -> Result<Principal, ApiError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| invalid_token("O token está malformado.", "malformed token"))?;
        if !ACCEPTED.contains(&header.alg) {
            return Err(invalid_token(
                "Algoritmo de assinatura não aceito: use RS256, ES256 ou EdDSA.",
                "signature algorithm not accepted",
            ));
        }
        let kid = header
            .kid
            .as_deref()
            .ok_or_else(|| invalid_token("O token não indica a chave (kid).", "no kid"))?;
        let issuer = jsonwebtoken::dangerous::insecure_decode::<Unverified>(token)
            .ok()
            .and_then(|data| data.claims.iss)
            .ok_or_else(|| invalid_token("O token não indica o emissor (iss).", "no issuer"))?;
        let (key, max_role) = self.key_for(pool, &issuer, kid).await?;
        if key.algorithm != header.alg {
            return Err(invalid_token(
                "O algoritmo do token não é o da chave indicada.",
                "algorithm does not match the key",
            ));
        }
        let mut validation = Validation::new(key.algorithm);
        validation.algorithms = vec![key.algorithm];
        validation.leeway = self.settings.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Rights>(token, &key.key, &validation)
            .map_err(|error| match error.kind() {
                ErrorKind::ExpiredSignature => invalid_token("O token expirou.", "token expired"),
                ErrorKind::ImmatureSignature => {
                    invalid_token("O token ainda não é válido (nbf).", "token not yet valid")
                }
                ErrorKind::InvalidIssuer => {
                    invalid_token("Emissor não confiável.", "untrusted issuer")
                }
                ErrorKind::InvalidAudience => invalid_token(
                    "O token não foi emitido para esta API (aud).",
                    "wrong audience",
                ),
                ErrorKind::InvalidSignature => {
                    invalid_token("A assinatura do token é inválida.", "invalid signature")
                }
                ErrorKind::MissingRequiredClaim(claim) => invalid_token(
                    &format!("Falta a declaração `{claim}` no token."),
                    "missing claim",
                ),
                ErrorKind::Json(_) => invalid_token(
                    "As declarações do token não têm a forma esperada (sub, role, orgs).",
                    "malformed claims",
                ),
                _ => invalid_token("O token é inválido.", "invalid token"),
            })?
            .claims;
        let role = Role::parse(&claims.role).ok_or_else(|| {
            invalid_token(
                "O token não traz um papel (role) conhecido.",
                "unknown role",
            )
        })?;
        if role > max_role {
            return Err(invalid_token(
                "Este emissor não pode conceder este papel.",
                "role above what the issuer may grant",
            ));
        }
        let own = issuer == self.settings.issuer;
        Ok(Principal {
            subject: claims.sub,
            issuer: (!own).then_some(issuer.to_owned()),
            // Only Carta's own tokens name an OAuth client of Carta's: another issuer's
            // `client_id` would let it sign the audit log in someone else's name.
            client_id: claims.client_id.filter(|_| own),
            role,
            organizations: claims.orgs,
        })
    }

    /// The key that verifies `kid` of `issuer`, and the highest role that issuer may grant.
    async fn key_for(
        &self,
        pool: &DbPool,
        issuer: &str,
        kid: &str,
    ) -> Result<(VerifyingKey, Role), ApiError> {
        let unknown_kid = || invalid_token("Chave (kid) desconhecida.", "unknown kid");
        if issuer == self.settings.issuer {
            if let Some(key) = self.own_keys.verifying(kid) {
                return Ok((key, Role::Admin));
            }
            // Maybe another instance rotated the keys; reread them, but not on every bad token.
            if self.own_keys.age() > Duration::from_secs(5) {
                self.own_keys.reload(pool).await?;
            }
            return self
                .own_keys
                .verifying(kid)
                .map(|key| (key, Role::Admin))
                .ok_or_else(unknown_kid);
        }
        let trusted = self
            .settings
            .trusted_issuers
            .iter()
            .find(|trusted| trusted.issuer == issuer)
            .ok_or_else(|| invalid_token("Emissor não confiável.", "untrusted issuer"))?;
        trusted
            .keys
            .iter()
            .find(|key| key.kid == kid)
            .map(|key| (key.clone(), trusted.max_role))
            .ok_or_else(unknown_kid)
    }

    /// Signs an access token for a client.
    pub fn issue(
        &self,
        subject: &str,
        role: Role,
        organizations: Vec<Uuid>,
    ) -> Result<String, ApiError> {
        let (kid, key) = self.own_keys.signing()?;
        let now = Utc::now().timestamp();
        let claims = Claims {
            iss: self.settings.issuer.clone(),
            sub: subject.to_owned(),
            aud: self.settings.audience.clone(),
            exp: now + self.settings.token_ttl.as_secs() as i64,
            nbf: now,
            iat: now,
            jti: Uuid::new_v4().to_string(),
            role: role.as_str().to_owned(),
            orgs: organizations,
            client_id: Some(subject.to_owned()),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid);
        header.typ = Some("at+jwt".into());
        jsonwebtoken::encode(&header, &claims, &key)
            .map_err(|e| ApiError::Internal(format!("cannot sign a token: {e}")))
    }
}

/// A 401 for a token that was presented but cannot be accepted. `reason` goes into
/// `WWW-Authenticate` (ASCII), `detail` into the body (pt-BR).
fn invalid_token(detail: &str, reason: &str) -> ApiError {
    ApiError::Unauthenticated {
        code: "invalid_token",
        detail: detail.to_owned(),
        challenge: format!(
            r#"Bearer realm="carta", error="invalid_token", error_description="{reason}""#
        ),
    }
}

/// The authenticated caller of a request. Extracting it fails with 401 when the request has no
/// valid bearer token.
pub struct Caller(pub Principal);

impl Caller {
    /// The one authorization check of an endpoint: 403 when the caller lacks `role` within
    /// `organization` (`None`: platform-wide, admins only).
    pub fn require(&self, role: Role, organization: Option<Uuid>) -> Result<(), ApiError> {
        self.0
            .require(role, organization)
            .map_err(|denied| ApiError::Forbidden(denied.message()))
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| token.trim().to_owned())
            });
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("no app state".into()))?;
            let Some(token) = token.filter(|token| !token.is_empty()) else {
                return Err(ApiError::Unauthenticated {
                    code: "unauthenticated",
                    detail:
                        "Envie um token de acesso no cabeçalho Authorization: Bearer. Veja /docs."
                            .into(),
                    challenge: r#"Bearer realm="carta""#.into(),
                });
            };
            Ok(Caller(state.auth.verify(&state.pool, &token).await?))
        })
    }
}

/// An Argon2 hash of a client secret (PHC string).
pub fn hash_secret(secret: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut rand_core::OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ApiError::Internal(format!("cannot hash a secret: {e}")))
}

/// Checks a secret against its hash; a malformed hash never matches.
pub fn secret_matches(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A new random client secret: 32 bytes, URL-safe base64.
pub fn new_secret() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
