//! One error type for the HTTP layer, rendered as one body: RFC 9457 `application/problem+json`
//! with a machine-readable `code` and per-field `errors`. Titles and messages are pt-BR, the
//! editors' language. Storage errors are logged and never shown to the client.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use domain::checklist::ChecklistItem;
use domain::validation::FieldError;
use persistence::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid input: a query parameter (`parameter`) or a body field (`pointer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct InvalidField {
    /// Name of the query parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "per_page")]
    pub parameter: Option<String>,
    /// JSON pointer into the request body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// `unknown`, `invalid`, `out_of_range`, `duplicate`, `required`, `too_long`, `taken`,
    /// `read_only`, `requires_q`, `requires_near`, `outside_brazil`.
    #[schema(example = "out_of_range")]
    pub code: String,
    #[schema(example = "Use um valor entre 1 e 100.")]
    pub message: String,
}

impl InvalidField {
    pub fn parameter(name: &str, code: &str, message: impl Into<String>) -> Self {
        InvalidField {
            parameter: Some(name.to_owned()),
            pointer: None,
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl From<FieldError> for InvalidField {
    fn from(error: FieldError) -> Self {
        InvalidField {
            parameter: None,
            pointer: Some(error.pointer),
            code: error.code,
            message: error.message,
        }
    }
}

/// RFC 9457 problem details.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "/docs/problems#invalid_query",
    "title": "Parâmetros de consulta inválidos",
    "status": 422,
    "detail": "Corrija os parâmetros indicados em `errors`.",
    "code": "invalid_query",
    "errors": [{"parameter": "per_page", "code": "out_of_range", "message": "Use um valor entre 1 e 100."}]
}))]
pub struct Problem {
    /// URI reference that identifies the problem type.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Machine-readable code; the same as the fragment of `type`.
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<InvalidField>,
    /// The publication checklist's missing items (`checklist_incomplete`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<ChecklistItem>,
    /// OAuth 2.0 error code (RFC 6749 §5.2), on the token endpoint's errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// Where the problem types are documented: the `type` of every problem body is this page and the
/// problem's code as fragment.
pub const PROBLEMS_PAGE: &str = "/docs/problems";

/// One kind of problem the API answers with, as `/docs/problems` documents it.
pub struct ProblemType {
    pub code: &'static str,
    pub status: u16,
    pub title: &'static str,
    /// When it happens and what the client can do.
    pub meaning: &'static str,
}

/// Every problem type, in the order the page lists them. The titles of the bodies come from here.
pub const PROBLEM_TYPES: &[ProblemType] = &[
    ProblemType { code: "invalid_query", status: 422, title: "Parâmetros de consulta inválidos", meaning: "Um parâmetro da URL é desconhecido, repetido, malformado ou fora do intervalo aceito. `errors` lista cada um, com `parameter`, `code` e uma mensagem." },
    ProblemType { code: "invalid_body", status: 422, title: "Dados inválidos", meaning: "O corpo é JSON, mas algum campo não atende às regras. `errors` lista cada campo (`pointer`), com `code` e uma mensagem." },
    ProblemType { code: "invalid_cursor", status: 422, title: "Cursor inválido", meaning: "O cursor do feed de mudanças não foi emitido por esta API. Recomece do início ou de um cursor recebido." },
    ProblemType { code: "checklist_incomplete", status: 422, title: "Carta de Serviços incompleta", meaning: "O serviço não pode ser publicado: faltam itens mínimos da Lei 13.460/2017, listados em `missing`." },
    ProblemType { code: "malformed_body", status: 400, title: "Corpo da requisição malformado", meaning: "O corpo não é um JSON válido." },
    ProblemType { code: "invalid_request", status: 400, title: "Falha ao emitir o token", meaning: "O pedido de token (OAuth 2.0) está incompleto ou ambíguo; veja `error_description`." },
    ProblemType { code: "unsupported_grant_type", status: 400, title: "Falha ao emitir o token", meaning: "Só o fluxo `client_credentials` é aceito." },
    ProblemType { code: "invalid_client", status: 401, title: "Falha ao emitir o token", meaning: "Cliente desconhecido, desativado ou com segredo errado." },
    ProblemType { code: "unauthenticated", status: 401, title: "Não autenticado", meaning: "Esta operação exige um token de acesso (`Authorization: Bearer …`)." },
    ProblemType { code: "invalid_token", status: 401, title: "Não autenticado", meaning: "O token é inválido, expirou ou foi revogado. Obtenha outro." },
    ProblemType { code: "forbidden", status: 403, title: "Acesso negado", meaning: "O token é válido, mas o papel ou a organização dele não permitem esta operação." },
    ProblemType { code: "not_found", status: 404, title: "Não encontrado", meaning: "O registro ou o endereço não existe." },
    ProblemType { code: "method_not_allowed", status: 405, title: "Método não permitido", meaning: "O endereço existe, mas não com este método HTTP; o cabeçalho `Allow` lista os aceitos." },
    ProblemType { code: "conflict", status: 409, title: "Conflito", meaning: "Outra alteração feita ao mesmo tempo impediu esta. Leia o registro de novo e refaça a alteração." },
    ProblemType { code: "reference_changed", status: 409, title: "Conflito", meaning: "Uma referência do rascunho (organização, tema…) mudou desde que ele foi lido." },
    ProblemType { code: "transition_not_allowed", status: 409, title: "Conflito", meaning: "A mudança de situação pedida não parte da situação atual do serviço." },
    ProblemType { code: "published_service", status: 409, title: "Conflito", meaning: "A operação não é permitida para um serviço publicado." },
    ProblemType { code: "in_use", status: 409, title: "Conflito", meaning: "O registro ainda é usado por outros e não pode ser removido." },
    ProblemType { code: "protocol_already_rated", status: 409, title: "Conflito", meaning: "Este protocolo de atendimento já foi avaliado." },
    ProblemType { code: "gone", status: 410, title: "Serviço arquivado", meaning: "O serviço foi arquivado e não é mais oferecido." },
    ProblemType { code: "precondition_failed", status: 412, title: "Versão desatualizada", meaning: "O registro mudou desde a leitura (`If-Match` com ETag antigo). Leia-o de novo e refaça a alteração." },
    ProblemType { code: "payload_too_large", status: 413, title: "Corpo da requisição grande demais", meaning: "O corpo excede o limite de 1 MiB." },
    ProblemType { code: "unsupported_media_type", status: 415, title: "Tipo de conteúdo não suportado", meaning: "Envie o corpo como `application/json` (ou `application/merge-patch+json` no PATCH)." },
    ProblemType { code: "precondition_required", status: 428, title: "Pré-condição exigida", meaning: "Alterações exigem o cabeçalho `If-Match` com o ETag da versão editada." },
    ProblemType { code: "too_many_requests", status: 429, title: "Muitas tentativas", meaning: "Muitas tentativas falharam; espere o tempo indicado em `Retry-After`." },
    ProblemType { code: "vote_limit", status: 429, title: "Muitas avaliações seguidas", meaning: "Avaliações demais de um mesmo endereço ou para um mesmo serviço em um minuto; espere o tempo indicado em `Retry-After`." },
    ProblemType { code: "internal_error", status: 500, title: "Erro interno", meaning: "Um erro inesperado, registrado no servidor. Tente de novo; informe o `X-Request-Id` se persistir." },
    ProblemType { code: "service_unavailable", status: 503, title: "Serviço indisponível", meaning: "O banco de dados está indisponível no momento; tente de novo em instantes." },
    ProblemType { code: "busy", status: 503, title: "Serviço ocupado", meaning: "Há exportações demais em andamento; espere o tempo indicado em `Retry-After`." },
];

/// The documented problem type of `code`.
pub fn problem_type(code: &str) -> Option<&'static ProblemType> {
    PROBLEM_TYPES.iter().find(|problem| problem.code == code)
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid query parameters")]
    InvalidQuery(Vec<InvalidField>),
    #[error("invalid body")]
    InvalidBody(Vec<InvalidField>),
    /// A change feed cursor this API did not issue.
    #[error("invalid cursor")]
    InvalidCursor(Vec<InvalidField>),
    #[error("malformed body: {0}")]
    MalformedBody(String),
    #[error("body too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("not found: {0}")]
    NotFound(&'static str),
    #[error("gone")]
    Gone,
    #[error("no such route")]
    NoRoute,
    /// The path exists, not with this method; `allow` lists those it takes (the `Allow` header).
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    /// No usable credentials. `challenge` is the `WWW-Authenticate` value (ASCII).
    #[error("unauthenticated: {detail}")]
    Unauthenticated {
        code: &'static str,
        detail: String,
        challenge: String,
    },
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("If-Match required")]
    PreconditionRequired,
    #[error("stale If-Match")]
    PreconditionFailed,
    #[error("conflict: {code}")]
    Conflict { code: &'static str, detail: String },
    #[error("checklist incomplete")]
    ChecklistIncomplete(Vec<ChecklistItem>),
    #[error("too many requests")]
    TooManyRequests { retry_after_s: u64 },
    /// Too many votes from one address, or on one service, in a minute.
    #[error("vote limit")]
    VoteLimit { retry_after_s: u64 },
    /// Every slot for a costly answer (a bulk export) is taken.
    #[error("busy")]
    Busy { retry_after_s: u64 },
    /// An OAuth 2.0 token endpoint error (RFC 6749 §5.2).
    #[error("oauth: {error}")]
    OAuth {
        status: StatusCode,
        error: &'static str,
        description: String,
        /// `WWW-Authenticate` for a failed HTTP Basic client authentication.
        challenge: Option<&'static str>,
    },
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidQuery(_) => "invalid_query",
            ApiError::InvalidBody(_) => "invalid_body",
            ApiError::InvalidCursor(_) => "invalid_cursor",
            ApiError::MalformedBody(_) => "malformed_body",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::NotFound(_) | ApiError::NoRoute => "not_found",
            ApiError::Gone => "gone",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::Unauthenticated { code, .. } => code,
            ApiError::Forbidden(_) => "forbidden",
            ApiError::PreconditionRequired => "precondition_required",
            ApiError::PreconditionFailed => "precondition_failed",
            ApiError::Conflict { code, .. } => code,
            ApiError::ChecklistIncomplete(_) => "checklist_incomplete",
            ApiError::Busy { .. } => "busy",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::VoteLimit { .. } => "vote_limit",
            ApiError::OAuth { error, .. } => error,
            ApiError::Store(StoreError::Unavailable(_)) => "service_unavailable",
            ApiError::Store(StoreError::Conflict(_) | StoreError::ForeignKey(_)) => "conflict",
            ApiError::Store(_) | ApiError::Internal(_) => "internal_error",
        }
    }

    pub fn problem(&self) -> Problem {
        let detail: String = match self {
            ApiError::InvalidQuery(_) => "Corrija os parâmetros indicados em `errors`.".into(),
            ApiError::InvalidBody(_) => "Corrija os campos indicados em `errors`.".into(),
            ApiError::InvalidCursor(_) => {
                "O cursor informado em `after` não foi emitido por esta API.".into()
            }
            ApiError::MalformedBody(reason) => format!("O corpo não é um JSON válido: {reason}"),
            ApiError::PayloadTooLarge => "O corpo excede o limite de 1 MiB.".into(),
            ApiError::UnsupportedMediaType => {
                "Envie o corpo como application/json (ou application/merge-patch+json no PATCH)."
                    .into()
            }
            ApiError::NotFound(detail) => (*detail).to_owned(),
            ApiError::Gone => "Este serviço foi arquivado e não é mais oferecido.".into(),
            ApiError::NoRoute => "Este endereço não existe na API. Veja /docs.".into(),
            ApiError::MethodNotAllowed { allow } => {
                format!("Este endereço não aceita este método HTTP; aceita {allow}.")
            }
            ApiError::Unauthenticated { detail, .. } => detail.clone(),
            ApiError::Forbidden(detail) => detail.clone(),
            ApiError::PreconditionRequired => {
                "Envie o cabeçalho If-Match com o ETag da versão que você editou.".into()
            }
            ApiError::PreconditionFailed => {
                "O registro mudou desde que você o leu. Leia-o de novo e refaça a alteração.".into()
            }
            ApiError::Conflict { detail, .. } => detail.clone(),
            ApiError::ChecklistIncomplete(_) => {
                "O serviço não pode ser publicado: faltam os itens listados em `missing`.".into()
            }
            ApiError::Busy { retry_after_s } => {
                format!("Há exportações demais em andamento. Tente de novo em {retry_after_s} s.")
            }
            ApiError::TooManyRequests { retry_after_s } => {
                format!("Muitas tentativas falharam. Tente de novo em {retry_after_s} s.")
            }
            ApiError::VoteLimit { retry_after_s } => {
                format!("Recebemos muitas avaliações seguidas. Tente de novo em {retry_after_s} s.")
            }
            ApiError::OAuth { description, .. } => description.clone(),
            ApiError::Store(StoreError::Conflict(_) | StoreError::ForeignKey(_)) => {
                "Outra alteração feita ao mesmo tempo impediu esta. Leia de novo e refaça-a.".into()
            }
            ApiError::Store(StoreError::Unavailable(_)) => {
                "O banco de dados está indisponível no momento. Tente novamente em instantes."
                    .into()
            }
            ApiError::Store(_) | ApiError::Internal(_) => {
                "Ocorreu um erro inesperado. Ele foi registrado; tente novamente.".into()
            }
        };
        let errors = match self {
            ApiError::InvalidQuery(errors)
            | ApiError::InvalidBody(errors)
            | ApiError::InvalidCursor(errors) => errors.clone(),
            _ => Vec::new(),
        };
        let missing = match self {
            ApiError::ChecklistIncomplete(items) => items.clone(),
            _ => Vec::new(),
        };
        let (error, error_description) = match self {
            ApiError::OAuth {
                error, description, ..
            } => (Some((*error).to_owned()), Some(description.clone())),
            _ => (None, None),
        };
        Problem {
            problem_type: format!("{PROBLEMS_PAGE}#{}", self.code()),
            title: problem_type(self.code())
                .map_or("Erro", |problem| problem.title)
                .to_owned(),
            status: self.status_code().as_u16(),
            detail,
            code: self.code().to_owned(),
            errors,
            missing,
            error,
            error_description,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidQuery(_)
            | ApiError::InvalidBody(_)
            | ApiError::InvalidCursor(_)
            | ApiError::ChecklistIncomplete(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::MalformedBody(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotFound(_) | ApiError::NoRoute => StatusCode::NOT_FOUND,
            ApiError::Gone => StatusCode::GONE,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::TooManyRequests { .. } | ApiError::VoteLimit { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::OAuth { status, .. } => *status,
            ApiError::Store(StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            // A constraint that answered a race the checks before it could not see.
            ApiError::Store(StoreError::Conflict(_) | StoreError::ForeignKey(_)) => {
                StatusCode::CONFLICT
            }
            ApiError::Store(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        match self {
            ApiError::Store(StoreError::Unavailable(_)) => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            ApiError::TooManyRequests { retry_after_s }
            | ApiError::VoteLimit { retry_after_s }
            | ApiError::Busy { retry_after_s } => {
                response.insert_header((header::RETRY_AFTER, retry_after_s.to_string()));
            }
            ApiError::Unauthenticated { challenge, .. } => {
                response.insert_header((header::WWW_AUTHENTICATE, challenge.as_str()));
            }
            ApiError::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.as_str()));
            }
            ApiError::OAuth {
                challenge: Some(challenge),
                ..
            } => {
                response.insert_header((header::WWW_AUTHENTICATE, *challenge));
            }
            _ => {}
        }
        if matches!(self, ApiError::OAuth { .. }) {
            response.insert_header((header::CACHE_CONTROL, "no-store"));
        }
        response.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

/// Errors reading a JSON body, as problems.
pub fn json_error(error: actix_web::error::JsonPayloadError) -> ApiError {
    use actix_web::error::JsonPayloadError;
    match error {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::PayloadTooLarge
        }
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
        JsonPayloadError::Deserialize(error) => ApiError::MalformedBody(error.to_string()),
        other => ApiError::MalformedBody(other.to_string()),
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl From<crate::search::SearchError> for ApiError {
    fn from(error: crate::search::SearchError) -> Self {
        match error {
            crate::search::SearchError::Store(error) => ApiError::Store(error),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every problem is documented on the page its `type` points to, with the status it has.
    #[test]
    fn every_problem_is_documented_with_its_status() {
        let oauth = |status, error| ApiError::OAuth {
            status,
            error,
            description: String::new(),
            challenge: None,
        };
        let conflict = |code| ApiError::Conflict {
            code,
            detail: String::new(),
        };
        let unauthenticated = |code| ApiError::Unauthenticated {
            code,
            detail: String::new(),
            challenge: String::new(),
        };
        let errors = [
            ApiError::InvalidQuery(Vec::new()),
            ApiError::InvalidBody(Vec::new()),
            ApiError::InvalidCursor(Vec::new()),
            ApiError::MalformedBody(String::new()),
            ApiError::PayloadTooLarge,
            ApiError::UnsupportedMediaType,
            ApiError::NotFound(""),
            ApiError::Gone,
            ApiError::NoRoute,
            ApiError::MethodNotAllowed {
                allow: String::new(),
            },
            unauthenticated("unauthenticated"),
            unauthenticated("invalid_token"),
            ApiError::Forbidden(String::new()),
            ApiError::PreconditionRequired,
            ApiError::PreconditionFailed,
            conflict("reference_changed"),
            conflict("transition_not_allowed"),
            conflict("published_service"),
            conflict("in_use"),
            conflict("protocol_already_rated"),
            ApiError::ChecklistIncomplete(Vec::new()),
            ApiError::TooManyRequests { retry_after_s: 1 },
            ApiError::VoteLimit { retry_after_s: 1 },
            ApiError::Busy { retry_after_s: 1 },
            oauth(StatusCode::BAD_REQUEST, "invalid_request"),
            oauth(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
            oauth(StatusCode::UNAUTHORIZED, "invalid_client"),
            ApiError::Store(StoreError::Unavailable(String::new())),
            ApiError::Store(StoreError::Conflict(String::new())),
            ApiError::Internal(String::new()),
        ];
        let mut seen = std::collections::HashSet::new();
        for error in &errors {
            let problem = error.problem();
            let documented = problem_type(&problem.code)
                .unwrap_or_else(|| panic!("{} is not in PROBLEM_TYPES", problem.code));
            assert_eq!(documented.status, problem.status, "{}", problem.code);
            assert_eq!(documented.title, problem.title);
            seen.insert(problem.code);
        }
        // And the page lists no problem the API never answers with.
        for documented in PROBLEM_TYPES {
            assert!(seen.contains(documented.code), "{}", documented.code);
        }
    }
}
