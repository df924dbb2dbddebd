//! Rendered answers kept until the catalogue changes. Public reads are highly repetitive (a few
//! hundred searches and pages make most of a portal's traffic) and an answer costs microseconds
//! to send again against a database round trip or a search to compute. Every instance drops them
//! as soon as it sees a change (see `SearchIndex::catch_up`), so none outlives a publication.

use std::future::Future;
use std::sync::Arc;

use actix_web::HttpResponse;
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::http_caching::Representation;
use crate::search::CachedPage;
use crate::AppState;

/// The cache key of a list: its path and query string.
pub fn list_key(req: &actix_web::HttpRequest) -> String {
    format!("{}?{}", req.path(), req.query_string())
}

/// The cached answer to `key` when the catalogue has not changed since it was rendered;
/// otherwise `answer`'s (a body and an optional `Link` header), rendered and remembered.
pub fn cached_answer<T: Serialize>(
    state: &AppState,
    key: &str,
    answer: impl FnOnce() -> ApiResult<(T, Option<String>)>,
) -> ApiResult<HttpResponse> {
    if let Some(cached) = state.search.cached(key) {
        return Ok(cached.response());
    }
    // Read before answering: an answer racing a change is never remembered as current.
    let generation = state.search.generation();
    let (body, link) = answer()?;
    remember(state, key, generation, &body, link)
}

/// [`cached_answer`] for answers read from the database.
pub async fn cached_reply<T: Serialize, F: Future<Output = ApiResult<(T, Option<String>)>>>(
    state: &AppState,
    key: &str,
    answer: impl FnOnce() -> F,
) -> ApiResult<HttpResponse> {
    if let Some(cached) = state.search.cached(key) {
        return Ok(cached.response());
    }
    let generation = state.search.generation();
    let (body, link) = answer().await?;
    remember(state, key, generation, &body, link)
}

/// Renders `body` and keeps it under `key` if the catalogue is still at `generation`.
pub fn remember<T: Serialize>(
    state: &AppState,
    key: &str,
    generation: u64,
    body: &T,
    link: Option<String>,
) -> ApiResult<HttpResponse> {
    keep(state, key, generation, body, link, None)
}

/// [`remember`] for the page of the service `subject`, whose views are counted when it is sent
/// again.
pub fn remember_page<T: Serialize>(
    state: &AppState,
    key: &str,
    generation: u64,
    body: &T,
    subject: uuid::Uuid,
) -> ApiResult<HttpResponse> {
    keep(state, key, generation, body, None, Some(subject))
}

fn keep<T: Serialize>(
    state: &AppState,
    key: &str,
    generation: u64,
    body: &T,
    link: Option<String>,
    subject: Option<uuid::Uuid>,
) -> ApiResult<HttpResponse> {
    let rendered = CachedPage {
        generation,
        subject,
        body: Arc::new(Representation::new(
            serde_json::to_vec(body)
                .map_err(|e| ApiError::Internal(e.to_string()))?
                .into(),
        )),
        link,
    };
    let response = rendered.response();
    state.search.remember(key, rendered);
    Ok(response)
}
