//! Token keys: Carta's own Ed25519 keys (kept in the database, so every instance signs and
//! verifies with the same ones) and the public keys of trusted issuers (from configuration).
//! Only asymmetric algorithms are accepted, and each key verifies only its own algorithm, so a
//! token cannot choose how it is checked (no `none`, no HMAC signed with a public key).

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use persistence::credentials::{self, StoredKey};
use persistence::DbPool;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use domain::access::Role;

use crate::error::ApiError;

/// The algorithms a token may be signed with.
pub const ACCEPTED: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

/// A key that verifies one algorithm.
#[derive(Clone)]
pub struct VerifyingKey {
    pub kid: String,
    pub algorithm: Algorithm,
    pub key: DecodingKey,
}

/// An issuer Carta trusts, with its keys.
#[derive(Clone)]
pub struct TrustedIssuer {
    pub issuer: String,
    pub keys: Vec<VerifyingKey>,
    /// The highest role its tokens may grant: a partner's identity provider should not be able
    /// to mint platform admins. `admin` when not configured.
    pub max_role: Role,
}

/// The trusted-issuers file (`CARTA_TRUSTED_ISSUERS_FILE`): JSON, paths relative to the file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuersFile {
    issuers: Vec<IssuerEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuerEntry {
    issuer: String,
    /// A JWKS document (as the identity provider publishes it).
    jwks_file: Option<PathBuf>,
    /// PEM public keys.
    #[serde(default)]
    keys: Vec<PemEntry>,
    /// `reader`, `editor`, `publisher` or `admin` (the default).
    max_role: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PemEntry {
    kid: String,
    /// `RS256`, `ES256` or `EdDSA`.
    alg: String,
    pem_file: PathBuf,
}

fn config_error(path: &Path, what: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("trusted issuers file {}: {what}", path.display()))
}

/// Reads the trusted issuers; a bad file stops the server at start.
pub fn load_trusted_issuers(path: &Path) -> Result<Vec<TrustedIssuer>, ApiError> {
    let text = std::fs::read_to_string(path).map_err(|e| config_error(path, e))?;
    let file: IssuersFile = serde_json::from_str(&text).map_err(|e| config_error(path, e))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut issuers = Vec::new();
    for entry in file.issuers {
        let mut keys = Vec::new();
        if let Some(jwks) = &entry.jwks_file {
            let jwks_path = base.join(jwks);
            let text =
                std::fs::read_to_string(&jwks_path).map_err(|e| config_error(&jwks_path, e))?;
            let set: JwkSet =
                serde_json::from_str(&text).map_err(|e| config_error(&jwks_path, e))?;
            for jwk in &set.keys {
                keys.push(key_of_jwk(jwk).map_err(|e| config_error(&jwks_path, e))?);
            }
        }
        for pem in &entry.keys {
            let pem_path = base.join(&pem.pem_file);
            let bytes = std::fs::read(&pem_path).map_err(|e| config_error(&pem_path, e))?;
            let (algorithm, key) = match pem.alg.as_str() {
                "RS256" => (Algorithm::RS256, DecodingKey::from_rsa_pem(&bytes)),
                "ES256" => (Algorithm::ES256, DecodingKey::from_ec_pem(&bytes)),
                "EdDSA" => (Algorithm::EdDSA, DecodingKey::from_ed_pem(&bytes)),
                other => {
                    return Err(config_error(
                        &pem_path,
                        format!("algorithm {other} is not accepted (RS256, ES256, EdDSA)"),
                    ))
                }
            };
            keys.push(VerifyingKey {
                kid: pem.kid.clone(),
                algorithm,
                key: key.map_err(|e| config_error(&pem_path, e))?,
            });
        }
        if keys.is_empty() {
            return Err(config_error(
                path,
                format!("issuer {} has no keys", entry.issuer),
            ));
        }
        let max_role = match &entry.max_role {
            None => Role::Admin,
            Some(role) => Role::parse(role).ok_or_else(|| {
                config_error(
                    path,
                    format!("issuer {}: unknown max_role `{role}`", entry.issuer),
                )
            })?,
        };
        issuers.push(TrustedIssuer {
            issuer: entry.issuer,
            keys,
            max_role,
        });
    }
    Ok(issuers)
}

fn key_of_jwk(jwk: &Jwk) -> Result<VerifyingKey, String> {
    let kid = jwk.common.key_id.clone().ok_or("a key has no kid")?;
    let algorithm = match (&jwk.algorithm, &jwk.common.key_algorithm) {
        (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
        (AlgorithmParameters::EllipticCurve(p), None | Some(KeyAlgorithm::ES256))
            if p.curve == EllipticCurve::P256 =>
        {
            Algorithm::ES256
        }
        (AlgorithmParameters::OctetKeyPair(p), None | Some(KeyAlgorithm::EdDSA))
            if p.curve == EllipticCurve::Ed25519 =>
        {
            Algorithm::EdDSA
        }
        _ => {
            return Err(format!(
                "key {kid}: only RS256, ES256 and EdDSA keys are accepted"
            ))
        }
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("key {kid}: {e}"))?;
    Ok(VerifyingKey {
        kid,
        algorithm,
        key,
    })
}

/// One of Carta's keys, ready to use.
struct OwnKey {
    kid: String,
    public_key: Vec<u8>,
    signing: Option<EncodingKey>,
}

struct Loaded {
    keys: Vec<OwnKey>,
    at: Instant,
}

/// Carta's own keys, reloaded from the database now and then (another instance may rotate them).
pub struct OwnKeys {
    loaded: RwLock<Loaded>,
    /// How long a retired key still verifies: the longest a token it signed may live.
    verify_retired_for: Duration,
}

/// A fresh Ed25519 key: kid is its RFC 7638 thumbprint.
pub fn generate_key() -> Result<StoredKey, ApiError> {
    let signing = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
    let private_key = signing
        .to_pkcs8_der()
        .map_err(|e| ApiError::Internal(format!("cannot encode a key: {e}")))?
        .as_bytes()
        .to_vec();
    let public_key = signing.verifying_key().to_bytes().to_vec();
    let x = URL_SAFE_NO_PAD.encode(&public_key);
    let thumbprint = Sha256::digest(format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#));
    Ok(StoredKey {
        kid: URL_SAFE_NO_PAD.encode(thumbprint),
        private_key,
        public_key,
        created_at: Utc::now(),
        retired_at: None,
    })
}

impl OwnKeys {
    /// Loads the keys, creating the first one when there is none.
    pub async fn start(pool: &DbPool, verify_retired_for: Duration) -> Result<OwnKeys, ApiError> {
        let mut conn = persistence::pool::connection(pool).await?;
        credentials::add_signing_key(&mut conn, &generate_key()?, true).await?;
        let keys = OwnKeys {
            loaded: RwLock::new(Loaded {
                keys: Vec::new(),
                at: Instant::now(),
            }),
            verify_retired_for,
        };
        keys.reload(pool).await?;
        Ok(keys)
    }

    pub async fn reload(&self, pool: &DbPool) -> Result<(), ApiError> {
        let mut conn = persistence::pool::connection(pool).await?;
        let since = Utc::now()
            - chrono::Duration::from_std(self.verify_retired_for)
                .unwrap_or(chrono::Duration::zero());
        let stored = credentials::signing_keys(&mut conn, since).await?;
        let keys = stored
            .into_iter()
            .map(|key| OwnKey {
                signing: (key.retired_at.is_none())
                    .then(|| EncodingKey::from_ed_der(&key.private_key)),
                kid: key.kid,
                public_key: key.public_key,
            })
            .collect();
        let mut loaded = self.loaded.write().map_err(|_| poisoned())?;
        *loaded = Loaded {
            keys,
            at: Instant::now(),
        };
        Ok(())
    }

    /// Seconds since the keys were read.
    pub fn age(&self) -> Duration {
        self.loaded
            .read()
            .map(|loaded| loaded.at.elapsed())
            .unwrap_or(Duration::MAX)
    }

    pub fn verifying(&self, kid: &str) -> Option<VerifyingKey> {
        let loaded = self.loaded.read().ok()?;
        loaded
            .keys
            .iter()
            .find(|key| key.kid == kid)
            .map(|key| VerifyingKey {
                kid: key.kid.clone(),
                algorithm: Algorithm::EdDSA,
                key: DecodingKey::from_ed_der(&key.public_key),
            })
    }

    /// The key that signs now.
    pub fn signing(&self) -> Result<(String, EncodingKey), ApiError> {
        let loaded = self.loaded.read().map_err(|_| poisoned())?;
        loaded
            .keys
            .iter()
            .find_map(|key| Some((key.kid.clone(), key.signing.clone()?)))
            .ok_or_else(|| ApiError::Internal("no signing key".into()))
    }

    /// The public keys as a JWKS document (RFC 7517).
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .loaded
            .read()
            .map(|loaded| {
                loaded
                    .keys
                    .iter()
                    .map(|key| {
                        serde_json::json!({
                            "kty": "OKP",
                            "crv": "Ed25519",
                            "x": URL_SAFE_NO_PAD.encode(&key.public_key),
                            "kid": key.kid,
                            "alg": "EdDSA",
                            "use": "sig",
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        serde_json::json!({ "keys": keys })
    }
}

fn poisoned() -> ApiError {
    ApiError::Internal("key store lock poisoned".into())
}
