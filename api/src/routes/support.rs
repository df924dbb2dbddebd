//! What write endpoints share: `If-Match` and strong `ETag`s, the request id for the audit log,
//! reading JSON bodies into typed values with every error at once, merge patches (RFC 7396), and
//! making a change searchable at once.

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use domain::validation::{unknown_members, FieldError};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ApiError, ApiResult, InvalidField};
use crate::middleware::RequestId;
use crate::AppState;

/// The request's id, for the audit log.
pub fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions().get::<RequestId>().map(|id| id.0.clone())
}

/// A strong `ETag` for a version.
pub fn etag(version: &str) -> String {
    format!("\"{version}\"")
}

/// The versions `If-Match` names (its strong tags, unquoted); `None` without the header.
/// `*` would match any version: it cannot protect an edit, so it counts as absent (428). Weak
/// tags never match (strong comparison): a header with no strong tag is 412.
pub fn optional_if_match(req: &HttpRequest) -> ApiResult<Option<Vec<String>>> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ApiError::PreconditionFailed)?;
    if value.trim() == "*" {
        return Err(ApiError::PreconditionRequired);
    }
    let tags: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|tag| !tag.starts_with("W/"))
        .filter_map(|tag| tag.strip_prefix('"')?.strip_suffix('"'))
        // A public read's tag is the version, a dot, and its body's hash (see `http_caching`).
        .map(|tag| {
            tag.split_once('.')
                .map_or(tag, |(version, _)| version)
                .to_owned()
        })
        .collect();
    if tags.is_empty() {
        return Err(ApiError::PreconditionFailed);
    }
    Ok(Some(tags))
}

/// The versions `If-Match` names: 428 without the header, as `optional_if_match` otherwise.
pub fn if_match(req: &HttpRequest) -> ApiResult<Vec<String>> {
    optional_if_match(req)?.ok_or(ApiError::PreconditionRequired)
}

/// Reads a typed value; a type error or a missing member is a 422 naming its field.
pub fn deserialize<T: DeserializeOwned>(value: &serde_json::Value) -> ApiResult<T> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let pointer: String = error
            .path()
            .iter()
            .map(|segment| match segment {
                serde_path_to_error::Segment::Seq { index } => format!("/{index}"),
                serde_path_to_error::Segment::Map { key } => format!("/{key}"),
                serde_path_to_error::Segment::Enum { variant } => format!("/{variant}"),
                serde_path_to_error::Segment::Unknown => String::new(),
            })
            .collect();
        let message = error.inner().to_string();
        // serde names a missing member in its message, at the object's own path.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        ApiError::InvalidBody(vec![match missing {
            Some(field) => InvalidField {
                parameter: None,
                pointer: Some(format!("{pointer}/{field}")),
                code: "required".into(),
                message: "Campo obrigatório.".into(),
            },
            None => InvalidField {
                parameter: None,
                pointer: Some(pointer),
                code: "invalid".into(),
                message: format!("Valor inválido: {message}"),
            },
        }])
    })
}

/// Reads a body as a typed value: a type error is a 422 naming its field; members no field takes
/// (reported, never dropped) and the violations of `rules` are 422s, all listed at once.
pub fn read_body<T: DeserializeOwned + Serialize>(
    value: &serde_json::Value,
    rules: impl FnOnce(&T) -> Vec<FieldError>,
) -> ApiResult<T> {
    let typed: T = deserialize(value)?;
    let read = serde_json::to_value(&typed).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut errors: Vec<InvalidField> = null_characters(value)
        .into_iter()
        .map(|pointer| InvalidField {
            parameter: None,
            pointer: Some(pointer),
            code: "invalid".into(),
            message: "O texto não pode conter o caractere nulo (U+0000).".into(),
        })
        .collect();
    errors.extend(
        unknown_members(value, &read)
            .into_iter()
            .map(|pointer| InvalidField {
                parameter: None,
                pointer: Some(pointer),
                code: "unknown".into(),
                message: "Campo desconhecido.".into(),
            }),
    );
    errors.extend(rules(&typed).into_iter().map(InvalidField::from));
    if errors.is_empty() {
        Ok(typed)
    } else {
        Err(ApiError::InvalidBody(errors))
    }
}

/// Pointers of the strings holding U+0000, which PostgreSQL cannot store in text or JSONB.
fn null_characters(value: &serde_json::Value) -> Vec<String> {
    fn walk(value: &serde_json::Value, at: String, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(text) if text.contains('\0') => out.push(at),
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, format!("{at}/{i}"), out);
                }
            }
            serde_json::Value::Object(members) => {
                for (key, member) in members {
                    let key = key.replace('~', "~0").replace('/', "~1");
                    walk(member, format!("{at}/{key}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, String::new(), &mut out);
    out
}

/// `current` with a JSON merge patch (RFC 7396) applied: members given replace the current ones,
/// `null` removes one. The patch must be an object.
pub fn merge_patch<T: Serialize>(
    current: &T,
    patch: &serde_json::Value,
) -> ApiResult<serde_json::Value> {
    if !patch.is_object() {
        return Err(ApiError::MalformedBody(
            "um merge patch deve ser um objeto JSON".into(),
        ));
    }
    let mut merged =
        serde_json::to_value(current).map_err(|e| ApiError::Internal(e.to_string()))?;
    json_patch::merge(&mut merged, patch);
    Ok(merged)
}

/// Makes the change searchable at once on this instance (others follow within their poll).
pub async fn refresh_search(state: &AppState) {
    if let Err(error) = state.search.catch_up(&state.pool).await {
        tracing::warn!(%error, "search index did not catch up after a write");
    }
}

/// A record with its strong `ETag`, as a public read answers it: an editor reads, then writes
/// with `If-Match`.
pub fn tagged<T: Serialize>(found: persistence::reference_writes::Versioned<T>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(&found.version)))
        .json(found.item)
}
