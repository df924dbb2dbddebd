//! Strict query strings: every parameter is known, given once and well-formed, or the request is
//! rejected with 422 naming each bad parameter. A misspelt filter silently ignored would show a
//! citizen the wrong services.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, FromRequest, HttpRequest};

use domain::validation::SLUG_MAX;

use crate::error::{ApiError, InvalidField};

/// The raw parameters of one request, with the errors found so far.
pub struct QueryParams {
    pairs: Vec<(String, String)>,
    errors: Vec<InvalidField>,
}

/// One name or value of a query string, decoded (`+` is a space); the lossy text when the bytes
/// are not UTF-8.
fn decode(raw: &str) -> Result<String, String> {
    let spaced = raw.replace('+', " ");
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&spaced).collect();
    String::from_utf8(bytes)
        .map_err(|invalid| String::from_utf8_lossy(invalid.as_bytes()).into_owned())
}

impl QueryParams {
    pub fn parse(query: &str, allowed: &[&str]) -> Self {
        let mut errors = Vec::new();
        let mut pairs: Vec<(String, String)> = Vec::new();
        for part in query.split('&').filter(|part| !part.is_empty()) {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            // A byte that is not UTF-8 would otherwise be read as "�", a value the client did
            // not send. The parameter is still known to be given: one error, not two.
            let (name, value) = match (decode(name), decode(value)) {
                (Ok(name), Ok(value)) => {
                    pairs.push((name, value));
                    continue;
                }
                (Ok(name), Err(value)) => (name, Some(value)),
                (Err(name), _) => (name, None),
            };
            errors.push(InvalidField::parameter(
                &name,
                "invalid",
                format!("O parâmetro `{name}` não está codificado em UTF-8."),
            ));
            if let Some(value) = value {
                pairs.push((name, value));
            }
        }
        for (index, (name, _)) in pairs.iter().enumerate() {
            if !allowed.contains(&name.as_str()) {
                let known = if allowed.is_empty() {
                    "Este endereço não aceita parâmetros.".to_owned()
                } else {
                    format!("Parâmetros aceitos: {}.", allowed.join(", "))
                };
                errors.push(InvalidField::parameter(
                    name,
                    "unknown",
                    format!("Parâmetro desconhecido `{name}`. {known}"),
                ));
            } else if pairs[..index].iter().any(|(other, _)| other == name) {
                errors.push(InvalidField::parameter(
                    name,
                    "duplicate",
                    format!("O parâmetro `{name}` foi informado mais de uma vez."),
                ));
            }
        }
        QueryParams { pairs, errors }
    }

    fn raw(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether the parameter was given at all (well-formed or not).
    pub fn given(&self, name: &str) -> bool {
        self.raw(name).is_some()
    }

    pub fn invalid(&mut self, name: &str, code: &str, message: impl Into<String>) {
        self.errors
            .push(InvalidField::parameter(name, code, message));
    }

    /// Whether the raw value ends with a space: in a search box, the last word is finished.
    pub fn ends_with_whitespace(&self, name: &str) -> bool {
        self.raw(name)
            .is_some_and(|value| value.ends_with(char::is_whitespace))
    }

    /// A non-empty text value that must be given.
    pub fn required_text(&mut self, name: &str, max_chars: usize) -> Option<String> {
        if self.raw(name).is_none() {
            self.invalid(name, "required", format!("Informe o parâmetro `{name}`."));
            return None;
        }
        self.text(name, max_chars)
    }

    /// A non-empty text value.
    pub fn text(&mut self, name: &str, max_chars: usize) -> Option<String> {
        let value = self.raw(name)?.trim().to_owned();
        if value.is_empty() {
            self.invalid(name, "invalid", format!("O parâmetro `{name}` está vazio."));
            return None;
        }
        if value.contains('\0') {
            // PostgreSQL cannot store it, nor compare against it.
            self.invalid(
                name,
                "invalid",
                format!("O parâmetro `{name}` contém o caractere nulo."),
            );
            return None;
        }
        if value.chars().count() > max_chars {
            self.invalid(
                name,
                "too_long",
                format!("O parâmetro `{name}` aceita no máximo {max_chars} caracteres."),
            );
            return None;
        }
        Some(value)
    }

    /// A record named by id or slug. Slugs are lowercase and UUIDs read in any case, so a
    /// reference typed in capitals (`organization=DETRAN-MT`) names the same record rather than
    /// matching nothing.
    pub fn id_or_slug(&mut self, name: &str) -> Option<String> {
        self.text(name, SLUG_MAX).map(|value| value.to_lowercase())
    }

    /// A value parsed by `parse`; `expected` describes valid values in pt-BR.
    pub fn parsed<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Option<T>,
        expected: &str,
    ) -> Option<T> {
        let raw = self.raw(name)?.to_owned();
        let value = parse(raw.trim());
        if value.is_none() {
            self.invalid(
                name,
                "invalid",
                format!("Valor inválido para `{name}`: {expected}."),
            );
        }
        value
    }

    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        self.parsed(
            name,
            |raw| match raw {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            "use `true` ou `false`",
        )
    }

    pub fn integer_in(&mut self, name: &str, min: u32, max: u32) -> Option<u32> {
        let value = self.parsed(name, |raw| raw.parse::<u64>().ok(), "use um número inteiro")?;
        if value < u64::from(min) || value > u64::from(max) {
            self.invalid(
                name,
                "out_of_range",
                format!("Use um valor entre {min} e {max}."),
            );
            return None;
        }
        u32::try_from(value).ok()
    }

    /// One of a closed list of codes.
    pub fn code<T: Copy>(
        &mut self,
        name: &str,
        all: &[T],
        code: impl Fn(T) -> &'static str,
    ) -> Option<T> {
        let codes: Vec<&str> = all.iter().map(|item| code(*item)).collect();
        let expected = format!("use um de {}", codes.join(", "));
        self.parsed(
            name,
            |raw| all.iter().copied().find(|item| code(*item) == raw),
            &expected,
        )
    }

    /// A 7-digit IBGE municipality code.
    pub fn ibge_code(&mut self, name: &str) -> Option<i32> {
        self.parsed(
            name,
            |raw| {
                raw.parse::<i32>()
                    .ok()
                    .filter(|code| (1_000_000..=9_999_999).contains(code))
            },
            "use o código IBGE de 7 dígitos do município",
        )
    }

    /// An RFC 3339 instant, e.g. `2026-11-30T12:00:00Z`.
    pub fn timestamp(&mut self, name: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        self.parsed(
            name,
            |raw| {
                chrono::DateTime::parse_from_rfc3339(raw)
                    .ok()
                    .map(|at| at.with_timezone(&chrono::Utc))
            },
            "use uma data e hora RFC 3339, como 2026-11-30T12:00:00Z",
        )
    }

    /// A comma-separated choice among `allowed` member names (a sparse fieldset).
    pub fn fields(&mut self, name: &str, allowed: &[&'static str]) -> Option<Vec<&'static str>> {
        let raw = self.raw(name)?.to_owned();
        let mut chosen = Vec::new();
        for field in raw.split(',').map(str::trim) {
            match allowed.iter().find(|known| **known == field) {
                Some(known) if !chosen.contains(known) => chosen.push(*known),
                Some(_) => {}
                None => {
                    self.invalid(
                        name,
                        "unknown_field",
                        format!(
                            "Campo desconhecido em `{name}`: \"{field}\". Use {}.",
                            allowed.join(", ")
                        ),
                    );
                    return None;
                }
            }
        }
        Some(chosen)
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::InvalidQuery(self.errors))
        }
    }
}

/// A query model: its parameter names and how to read them.
pub trait QueryModel: Sized {
    const PARAMETERS: &'static [&'static str];
    fn read(params: &mut QueryParams) -> Self;
}

/// Extractor of a strictly parsed query.
pub struct Strict<T>(pub T);

impl<T: QueryModel> Strict<T> {
    pub fn from_query(query: &str) -> Result<T, ApiError> {
        let mut params = QueryParams::parse(query, T::PARAMETERS);
        let value = T::read(&mut params);
        params.finish()?;
        Ok(value)
    }
}

impl<T: QueryModel> FromRequest for Strict<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Strict::<T>::from_query(req.query_string()).map(Strict))
    }
}

/// For endpoints that take no parameters.
pub struct NoParams;

/// The parameter of a public record's address as the change feed gives it (`?change=N`): it
/// makes the address unique to that change, so no HTTP cache can answer it with an older copy,
/// and it is answered from the database, never from an instance's memory that may not have seen
/// the change yet. Any other parameter is refused.
pub struct FeedRead {
    pub change: Option<u32>,
}

impl QueryModel for FeedRead {
    const PARAMETERS: &'static [&'static str] = &["change"];
    fn read(params: &mut QueryParams) -> Self {
        FeedRead {
            change: params.integer_in("change", 1, u32::MAX),
        }
    }
}

impl QueryModel for NoParams {
    const PARAMETERS: &'static [&'static str] = &[];
    fn read(_: &mut QueryParams) -> Self {
        NoParams
    }
}
