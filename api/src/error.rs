//! One error type for the HTTP layer, rendered as one body: RFC 9457 `application/problem+json`
//! with a machine-readable `code` and per-field `errors`. Titles and messages are pt-BR, the
//! editors' language. Storage errors are logged and never shown to the client.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
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
    /// `unknown`, `invalid`, `out_of_range`, `duplicate`, `required`, `too_long`.
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
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid query parameters")]
    InvalidQuery(Vec<InvalidField>),
    #[error("not found: {0}")]
    NotFound(&'static str),
    #[error("no such route")]
    NoRoute,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidQuery(_) => "invalid_query",
            ApiError::NotFound(_) | ApiError::NoRoute => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Store(StoreError::Unavailable(_)) => "service_unavailable",
            ApiError::Store(_) | ApiError::Internal(_) => "internal_error",
        }
    }

    pub fn problem(&self) -> Problem {
        let (title, detail): (&str, String) = match self {
            ApiError::InvalidQuery(_) => (
                "Parâmetros de consulta inválidos",
                "Corrija os parâmetros indicados em `errors`.".into(),
            ),
            ApiError::NotFound(detail) => ("Não encontrado", (*detail).to_owned()),
            ApiError::NoRoute => (
                "Não encontrado",
                "Este endereço não existe na API. Veja /docs.".into(),
            ),
            ApiError::MethodNotAllowed => (
                "Método não permitido",
                "Este endereço não aceita este método HTTP.".into(),
            ),
            ApiError::Store(StoreError::Unavailable(_)) => (
                "Serviço indisponível",
                "O banco de dados está indisponível no momento. Tente novamente em instantes."
                    .into(),
            ),
            ApiError::Store(_) | ApiError::Internal(_) => (
                "Erro interno",
                "Ocorreu um erro inesperado. Ele foi registrado; tente novamente.".into(),
            ),
        };
        let errors = match self {
            ApiError::InvalidQuery(errors) => errors.clone(),
            _ => Vec::new(),
        };
        Problem {
            problem_type: format!("/docs/problems#{}", self.code()),
            title: title.to_owned(),
            status: self.status_code().as_u16(),
            detail,
            code: self.code().to_owned(),
            errors,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidQuery(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound(_) | ApiError::NoRoute => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Store(StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
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
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, "5"));
        }
        response.body(serde_json::to_string(&self.problem()).unwrap_or_default())
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
