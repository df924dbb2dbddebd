use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use domain::search::{SynonymGroupDetail, SYNONYM_TERM_MAX};
use persistence::reference_writes;

use crate::error::{ApiError, ApiResult, Problem};
use crate::popularity::DependsOnPopularity;
use crate::query::{NoParams, QueryModel, QueryParams, Strict};
use crate::routes::answers::{cached_answer, cached_reply, list_key};
use crate::routes::reference_writes::NO_SYNONYM_GROUP;
use crate::routes::support::tagged;
use crate::search::{synonym_key, Suggested, Suggestion};
use crate::AppState;

const MAX_SUGGESTIONS: u32 = 10;

/// Documents the parameters in OpenAPI; parsing is the `QueryModel` below.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SuggestQuery {
    /// What the citizen has typed so far; the last word may be incomplete.
    #[param(example = "passap", min_length = 1, max_length = 100)]
    q: String,
    #[param(minimum = 1, maximum = 10, default = 10)]
    limit: Option<u32>,
}

pub struct SuggestParams {
    text: Option<String>,
    limit: u32,
}

impl QueryModel for SuggestParams {
    const PARAMETERS: &'static [&'static str] = &["q", "limit"];

    fn read(params: &mut QueryParams) -> Self {
        // A space after the last word says it is finished (see `SearchIndex::suggest`).
        let finished = params.ends_with_whitespace("q");
        SuggestParams {
            text: params
                .required_text("q", 100)
                .map(|text| if finished { text + " " } else { text }),
            limit: params
                .integer_in("limit", 1, MAX_SUGGESTIONS)
                .unwrap_or(MAX_SUGGESTIONS),
        }
    }
}

/// Completions for a search box.
#[derive(Debug, Serialize, ToSchema)]
pub struct Suggestions {
    pub items: Vec<Suggestion>,
    /// When nothing completed `q` as typed: the text the items complete, its misspelt words read
    /// as words of names one edit away ("seguro desenp" read as "seguro desemp"). A front end
    /// that marks the typed part of each item marks this one instead. Plain text, as `q`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "seguro desemp")]
    pub read_as: Option<String>,
}

/// Autocomplete.
///
/// At most 10 names and popular names of published services for what was typed so far: earlier
/// words whole, the last one as a prefix, accents and case ignored. Texts starting with what was
/// typed come first, then those of the services viewed most (as search's popularity boost
/// counts them). When nothing completes it, its misspelt words are read as words of names
/// and popular names one edit away ("seguro desenp" as "seguro desemp"), and `read_as` says so.
#[utoipa::path(
    tag = "services",
    params(SuggestQuery),
    responses(
        (status = 200, description = "Suggestions, best first", body = Suggestions),
        (status = 422, description = "`q` missing or too long, or a bad or unknown parameter", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/search/suggest")]
pub async fn suggest(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Strict<SuggestParams>,
) -> ApiResult<HttpResponse> {
    let SuggestParams { text, limit } = query.0;
    // Keystrokes repeat across citizens even more than searches: answers are cached alike,
    // under the popularity boosts they are ordered by.
    let mut answer = cached_answer(&state, &state.popularity.boost_cache_key(&req), || {
        let suggested = match text {
            Some(text) => state.search.suggest(&text, limit as usize)?,
            None => Suggested {
                items: Vec::new(),
                read_as: None,
            },
        };
        let body = Suggestions {
            items: suggested.items,
            read_as: suggested.read_as,
        };
        Ok((body, None))
    })?;
    answer.extensions_mut().insert(DependsOnPopularity::Boost);
    Ok(answer)
}

/// Documents the parameters in OpenAPI; parsing is the `QueryModel` below.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SynonymListQuery {
    /// Only the group with this expression as search reads it (accents, case, plurals and
    /// words such as "de" aside): where an admin adds a term, or finds why one is `taken`.
    #[param(example = "Cadastro de Pessoa Física")]
    term: Option<String>,
}

pub struct SynonymList {
    term: Option<String>,
}

impl QueryModel for SynonymList {
    const PARAMETERS: &'static [&'static str] = &["term"];

    fn read(params: &mut QueryParams) -> Self {
        SynonymList {
            term: params.text("term", SYNONYM_TERM_MAX),
        }
    }
}

/// Synonym groups.
///
/// The search vocabulary: each group lists expressions citizens use for the same thing (an
/// acronym, the official name, common names). A search with one of them also finds the services
/// that use the others, the expression typed first. By number.
#[utoipa::path(
    tag = "search",
    params(SynonymListQuery),
    responses(
        (status = 200, description = "The synonym groups, by number", body = Vec<SynonymGroupDetail>),
        (status = 422, description = "A bad or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/search/synonyms")]
pub async fn list_synonym_groups(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Strict<SynonymList>,
) -> ApiResult<HttpResponse> {
    let term = query.0.term.map(|term| synonym_key(&term));
    cached_reply(&state, &list_key(&req), || async {
        let mut conn = state.connection().await?;
        let mut groups = reference_writes::synonym_groups(&mut conn).await?;
        if let Some(term) = term {
            groups.retain(|group| group.terms.iter().any(|t| synonym_key(t) == term));
        }
        Ok((groups, None))
    })
    .await
}

/// Get a synonym group. Its `ETag` is what writes expect in `If-Match`.
#[utoipa::path(
    tag = "search",
    params(("id" = i32, Path, description = "Synonym group number")),
    responses(
        (status = 200, description = "The synonym group", body = SynonymGroupDetail,
            headers(("ETag" = String, description = "Strong entity tag of its version"))),
        (status = 404, description = "Unknown synonym group", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Any parameter", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry after `Retry-After` seconds", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/search/synonyms/{id}")]
pub async fn get_synonym_group(
    state: web::Data<AppState>,
    path: web::Path<String>,
    _: Strict<NoParams>,
) -> ApiResult<HttpResponse> {
    let Ok(id) = path.parse() else {
        return Err(ApiError::NotFound(NO_SYNONYM_GROUP));
    };
    let mut conn = state.connection().await?;
    reference_writes::synonym_group(&mut conn, id)
        .await?
        .map(tagged)
        .ok_or(ApiError::NotFound(NO_SYNONYM_GROUP))
}
