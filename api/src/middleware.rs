//! Request ids and access logs: every response carries `X-Request-Id` (the caller's, when it is a
//! sane token, so ids can be followed across services) and every request logs one structured line.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request id, stored in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn accepted(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|value| accepted(value))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.path(),
    );
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut response = result?;
    let status = response.status().as_u16();
    span.in_scope(|| tracing::info!(status, elapsed_ms, "served"));
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

/// A path holding an encoded NUL (`%00`) names nothing: no id or slug contains one, and PostgreSQL
/// cannot even take it as text, so it is a 404 before any handler reads it.
pub async fn refuse_nul_in_path(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, Error> {
    if req.path().contains("%00") {
        let error = crate::error::ApiError::NotFound("Nada tem este endereço.");
        return Ok(req.error_response(error).map_into_boxed_body());
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
