//! Structural rules of a service draft, reported all at once as per-field errors with JSON
//! pointers and pt-BR messages. Limits follow the federal editor (textoCurto 150, textoLongo 500,
//! description 3,000). Completeness for publication is the checklist's job, not this one's.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::service::{ServiceForm, TimeEstimate, TimeEstimateKind};

pub const NAME_MAX: usize = 150;
pub const ACRONYM_MAX: usize = 15;
pub const SHORT_TEXT_MAX: usize = 150;
pub const LONG_TEXT_MAX: usize = 500;
pub const DESCRIPTION_MAX: usize = 3000;
pub const SLUG_MAX: usize = 200;

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// JSON pointer (RFC 6901) to the field, e.g. `/steps/0/title`.
    #[schema(example = "/name")]
    pub pointer: String,
    /// Machine-readable code: `required`, `too_long`, `invalid`, `out_of_range`, `unknown`.
    #[schema(example = "required")]
    pub code: String,
    /// Message in pt-BR for the editor.
    #[schema(example = "O nome é obrigatório.")]
    pub message: String,
}

/// Collects field errors under a pointer prefix.
#[derive(Debug, Default)]
pub struct Errors {
    errors: Vec<FieldError>,
}

impl Errors {
    pub fn add(&mut self, pointer: impl Into<String>, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            pointer: pointer.into(),
            code: code.to_owned(),
            message: message.into(),
        });
    }

    pub fn required(&mut self, pointer: &str, value: &str, what: &str) {
        if value.trim().is_empty() {
            self.add(pointer, "required", format!("{what} é obrigatório."));
        }
    }

    pub fn max_chars(&mut self, pointer: &str, value: &str, max: usize, what: &str) {
        let count = value.chars().count();
        if count > max {
            self.add(
                pointer,
                "too_long",
                format!("{what} tem {count} caracteres; o máximo é {max}."),
            );
        }
    }

    pub fn into_result(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}

/// Pointers of the members of `input` that did not survive reading it as a typed value (`read`,
/// serialized back): members no field takes. Reported rather than dropped, so a misspelt field
/// never loses what the editor wrote. Null members are ignored (they mean "absent").
pub fn unknown_members(input: &serde_json::Value, read: &serde_json::Value) -> Vec<String> {
    fn walk(input: &serde_json::Value, read: &serde_json::Value, at: &str, out: &mut Vec<String>) {
        use serde_json::Value;
        match (input, read) {
            (Value::Object(given), Value::Object(kept)) => {
                for (key, value) in given {
                    let pointer = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                    match kept.get(key) {
                        _ if value.is_null() => {}
                        None => out.push(pointer),
                        Some(kept) => walk(value, kept, &pointer, out),
                    }
                }
            }
            (Value::Array(given), Value::Array(kept)) => {
                for (i, (value, kept)) in given.iter().zip(kept).enumerate() {
                    walk(value, kept, &format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(input, read, "", &mut out);
    out
}

/// Addresses under `/v1/services/` that are not services: a service with such a slug could be
/// reached only by its id.
pub const RESERVED_SERVICE_SLUGS: &[&str] = &["popular"];

/// A slug: lowercase ASCII letters, digits and single hyphens.
pub fn is_valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= SLUG_MAX
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--")
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn time_estimate(errors: &mut Errors, pointer: &str, estimate: &TimeEstimate) {
    let needs_amount = matches!(
        estimate.kind,
        TimeEstimateKind::UpTo | TimeEstimateKind::Between | TimeEstimateKind::OnAverage
    );
    if needs_amount {
        if estimate.max.is_none() {
            errors.add(
                format!("{pointer}/max"),
                "required",
                "Informe o valor máximo do prazo.",
            );
        }
        if estimate.unit.is_none() {
            errors.add(
                format!("{pointer}/unit"),
                "required",
                "Informe a unidade do prazo.",
            );
        }
    }
    if estimate.kind == TimeEstimateKind::Between {
        match (estimate.min, estimate.max) {
            (None, _) => errors.add(
                format!("{pointer}/min"),
                "required",
                "Informe o valor mínimo do prazo.",
            ),
            (Some(min), Some(max)) if min > max => errors.add(
                format!("{pointer}/min"),
                "out_of_range",
                "O valor mínimo do prazo não pode ser maior que o máximo.",
            ),
            _ => {}
        }
    }
}

/// Checks the structure of a draft; every problem is reported at once.
pub fn validate_service(draft: &ServiceForm) -> Result<(), Vec<FieldError>> {
    let mut errors = Errors::default();
    let content = &draft.content;
    if !is_valid_slug(&draft.slug) {
        errors.add(
            "/slug",
            "invalid",
            "O identificador (slug) deve ter só letras minúsculas sem acento, números e hifens.",
        );
    } else if RESERVED_SERVICE_SLUGS.contains(&draft.slug.as_str()) {
        errors.add(
            "/slug",
            "invalid",
            "Este identificador (slug) é reservado pela API; escolha outro.",
        );
    }
    errors.required("/organization", &draft.organization, "O órgão responsável");
    errors.required("/name", &content.name, "O nome");
    errors.max_chars("/name", &content.name, NAME_MAX, "O nome");
    if let Some(acronym) = &content.acronym {
        errors.max_chars("/acronym", acronym, ACRONYM_MAX, "A sigla");
    }
    for (i, name) in content.popular_names.iter().enumerate() {
        errors.required(&format!("/popular_names/{i}"), name, "O nome popular");
        errors.max_chars(
            &format!("/popular_names/{i}"),
            name,
            SHORT_TEXT_MAX,
            "O nome popular",
        );
    }
    errors.required("/description", &content.description, "A descrição");
    errors.max_chars(
        "/description",
        &content.description,
        DESCRIPTION_MAX,
        "A descrição",
    );
    for (i, keyword) in content.keywords.iter().enumerate() {
        errors.required(&format!("/keywords/{i}"), keyword, "A palavra-chave");
        errors.max_chars(
            &format!("/keywords/{i}"),
            keyword,
            SHORT_TEXT_MAX,
            "A palavra-chave",
        );
    }
    for (i, requester) in content.requesters.iter().enumerate() {
        errors.required(
            &format!("/requesters/{i}/kind"),
            &requester.kind,
            "O tipo de solicitante",
        );
    }
    if let Some(contact) = &content.contact {
        errors.max_chars("/contact", contact, LONG_TEXT_MAX, "O contato");
    }
    time_estimate(&mut errors, "/time_estimate", &content.time_estimate);
    if let Some(waiting) = &content.waiting_time {
        time_estimate(&mut errors, "/waiting_time", waiting);
    }
    for (i, step) in content.steps.iter().enumerate() {
        let at = format!("/steps/{i}");
        errors.required(&format!("{at}/title"), &step.title, "O título da etapa");
        errors.max_chars(
            &format!("{at}/title"),
            &step.title,
            NAME_MAX,
            "O título da etapa",
        );
        if let Some(estimate) = &step.time_estimate {
            time_estimate(&mut errors, &format!("{at}/time_estimate"), estimate);
        }
        for (j, document) in step.documents.default.iter().enumerate() {
            errors.required(
                &format!("{at}/documents/default/{j}/name"),
                &document.name,
                "O nome do documento",
            );
        }
        for (j, cost) in step.costs.default.iter().enumerate() {
            errors.required(
                &format!("{at}/costs/default/{j}/description"),
                &cost.description,
                "A descrição do custo",
            );
            if cost.amount.is_some_and(|amount| amount.is_sign_negative()) {
                errors.add(
                    format!("{at}/costs/default/{j}/amount"),
                    "out_of_range",
                    "O valor não pode ser negativo.",
                );
            }
        }
        for (j, channel) in step.channels.default.iter().enumerate() {
            errors.required(
                &format!("{at}/channels/default/{j}/description"),
                &channel.description,
                "A descrição do canal",
            );
        }
        for (kind, cases) in [
            (
                "documents",
                step.documents
                    .cases
                    .iter()
                    .map(|c| &c.description)
                    .collect::<Vec<_>>(),
            ),
            (
                "costs",
                step.costs.cases.iter().map(|c| &c.description).collect(),
            ),
            (
                "channels",
                step.channels.cases.iter().map(|c| &c.description).collect(),
            ),
        ] {
            for (j, description) in cases.into_iter().enumerate() {
                errors.required(
                    &format!("{at}/{kind}/cases/{j}/description"),
                    description,
                    "A descrição do caso",
                );
            }
        }
    }
    for (i, code) in draft.municipalities.iter().enumerate() {
        if !(1_000_000..=9_999_999).contains(code) {
            errors.add(
                format!("/municipalities/{i}"),
                "invalid",
                "O código IBGE do município deve ter 7 dígitos.",
            );
        }
    }
    for (i, slug) in draft.topics.iter().enumerate() {
        if !is_valid_slug(slug) {
            errors.add(
                format!("/topics/{i}"),
                "invalid",
                "Identificador de tema inválido.",
            );
        }
    }
    errors.into_result()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{ServiceContent, Step, TimeUnit};

    fn draft() -> ServiceForm {
        ServiceForm {
            slug: "emitir-cnh".into(),
            organization: "detran-mt".into(),
            content: ServiceContent {
                name: "Emitir CNH".into(),
                description: "Emissão da CNH.".into(),
                ..ServiceContent::default()
            },
            segments: vec![],
            topics: vec![],
            life_events: vec![],
            municipalities: vec![],
            related_services: vec![],
            locations: vec![],
        }
    }

    #[test]
    fn a_minimal_draft_is_valid() {
        assert_eq!(validate_service(&draft()), Ok(()));
    }

    #[test]
    fn a_slug_the_api_uses_under_services_is_refused() {
        let mut popular = draft();
        popular.slug = "popular".into();
        let Err(errors) = validate_service(&popular) else {
            panic!("`popular` accepted as a slug");
        };
        assert!(errors
            .iter()
            .any(|e| e.pointer == "/slug" && e.message.contains("reservado")));
    }

    #[test]
    fn every_error_is_reported_at_once_with_a_pointer() {
        let mut bad = draft();
        bad.slug = "Emitir CNH".into();
        bad.content.name = "x".repeat(151);
        bad.content.description = String::new();
        bad.content.time_estimate.kind = TimeEstimateKind::Between;
        bad.content.time_estimate.min = Some(10);
        bad.content.time_estimate.max = Some(5);
        bad.content.time_estimate.unit = Some(TimeUnit::Days);
        bad.content.steps.push(Step {
            title: " ".into(),
            description: None,
            documents: Default::default(),
            costs: Default::default(),
            channels: Default::default(),
            time_estimate: None,
        });
        bad.municipalities.push(51);
        let errors = validate_service(&bad).err().unwrap_or_default();
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            vec![
                "/slug",
                "/name",
                "/description",
                "/time_estimate/min",
                "/steps/0/title",
                "/municipalities/0"
            ]
        );
    }

    #[test]
    fn members_no_field_takes_are_reported() {
        let input = serde_json::json!({
            "slug": "a", "nmae": "typo", "acronym": null,
            "steps": [{"title": "t", "titel": "x"}]
        });
        let read = serde_json::json!({"slug": "a", "steps": [{"title": "t"}]});
        assert_eq!(
            unknown_members(&input, &read),
            vec!["/nmae", "/steps/0/titel"]
        );
    }

    #[test]
    fn slugs_are_lowercase_ascii_with_single_hyphens() {
        assert!(is_valid_slug("segunda-via-rg-2"));
        for bad in ["", "-a", "a-", "a--b", "Ação", "a b"] {
            assert!(!is_valid_slug(bad), "{bad}");
        }
    }
}
