//! What the search index knows of a published service, and the search vocabulary kept as data.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::place::MunicipalityRef;
use crate::service::{ServiceContent, ServiceSummary, Variants};
use crate::taxonomy::{SegmentCode, TaxonRef};
use crate::validation::{Errors, FieldError};

/// A published service as search sees it: the summary a hit returns, the text it matches on, and
/// the values it is filtered and faceted by.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchDocument {
    pub summary: ServiceSummary,
    pub keywords: Vec<String>,
    /// Plain text, markup removed.
    pub description: String,
    /// Requesters, steps, documents, costs and channels: matched, but weighed least.
    pub details: String,
    /// The service's topics with all their ancestors, so a topic filter includes sub-topics.
    pub topic_ids: Vec<Uuid>,
    pub life_event_ids: Vec<Uuid>,
    pub segments: Vec<SegmentCode>,
    pub municipalities: Vec<i32>,
    /// Offered everywhere in the State: it matches every municipality filter.
    pub statewide: bool,
}

impl SearchDocument {
    pub fn new(
        summary: ServiceSummary,
        content: &ServiceContent,
        links: SearchLinks,
    ) -> SearchDocument {
        SearchDocument {
            summary,
            keywords: content.keywords.clone(),
            description: plain_text(&content.description),
            details: details_text(content),
            topic_ids: links.topic_ids,
            life_event_ids: links.life_event_ids,
            segments: links.segments,
            municipalities: links.municipalities,
            statewide: links.statewide,
        }
    }
}

/// The relational part of a [`SearchDocument`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchLinks {
    pub topic_ids: Vec<Uuid>,
    pub life_event_ids: Vec<Uuid>,
    pub segments: Vec<SegmentCode>,
    pub municipalities: Vec<i32>,
    pub statewide: bool,
}

/// Names of what search filters and facets refer to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchVocabulary {
    /// Organizations as taxa: id, slug and name.
    pub organizations: Vec<TaxonRef>,
    /// Topics with their parent.
    pub topics: Vec<(TaxonRef, Option<Uuid>)>,
    pub life_events: Vec<TaxonRef>,
    pub municipalities: Vec<MunicipalityRef>,
    pub synonyms: Vec<SynonymGroup>,
}

/// Expressions citizens use for the same thing ("rg", "carteira de identidade").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynonymGroup {
    pub id: i32,
    pub terms: Vec<String>,
}

/// A synonym group as admins write it: the expressions, in the spelling shown back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SynonymGroupDraft {
    /// Two or more expressions a citizen may use for the same thing; each in one group only.
    /// Read trimmed, inner spaces collapsed.
    #[schema(example = json!(["carteirinha do sus", "cartão nacional de saúde", "cns"]))]
    #[serde(deserialize_with = "tidy_terms")]
    pub terms: Vec<String>,
    /// Why the group exists, for those who keep the vocabulary (public, as the group is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Terms as stored: what is validated, compared and saved is what search and readers see.
fn tidy_terms<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let terms = Vec::<String>::deserialize(deserializer)?;
    Ok(terms
        .iter()
        .map(|term| term.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect())
}

/// A synonym group as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SynonymGroupDetail {
    /// Its number, which addresses it.
    pub id: i32,
    pub terms: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub const SYNONYM_TERMS_MAX: usize = 20;
pub const SYNONYM_TERM_MAX: usize = 100;
pub const SYNONYM_NOTE_MAX: usize = 500;

/// Checks a synonym group on its own; every problem at once. `key` reads a term as search does
/// (the stems of its meaningful words): a term of ignored words only ("de") has none.
pub fn validate_synonym_group(
    draft: &SynonymGroupDraft,
    key: impl Fn(&str) -> String,
) -> Result<(), Vec<FieldError>> {
    let mut errors = Errors::default();
    if draft.terms.len() < 2 {
        errors.add(
            "/terms",
            "too_few",
            "Um grupo precisa de pelo menos dois termos: a expressão e o que ela quer dizer.",
        );
    }
    if draft.terms.len() > SYNONYM_TERMS_MAX {
        // Its terms are not read one by one: the list may be anything up to the body's limit.
        errors.add(
            "/terms",
            "too_many",
            format!(
                "O grupo tem {} termos; o máximo é {SYNONYM_TERMS_MAX}.",
                draft.terms.len()
            ),
        );
        return errors.into_result();
    }
    let mut seen: HashMap<String, &str> = HashMap::new();
    for (index, term) in draft.terms.iter().enumerate() {
        let pointer = format!("/terms/{index}");
        if term.is_empty() {
            errors.add(&pointer, "required", "O termo está vazio.");
            continue;
        }
        errors.max_chars(&pointer, term, SYNONYM_TERM_MAX, "O termo");
        if key(term).is_empty() {
            errors.add(
                &pointer,
                "no_words",
                "O termo não tem palavra que a busca leia: só sinais ou palavras que ela \
                 ignora (como “de” e “para”).",
            );
        }
        // Variants search reads alike ("pessoa física", "pessoas físicas") may stay side by
        // side; the same text twice is a slip.
        match seen.get(&term.to_lowercase()) {
            Some(earlier) => errors.add(
                &pointer,
                "duplicate",
                format!("O termo repete “{earlier}”, que já está no grupo."),
            ),
            None => {
                seen.insert(term.to_lowercase(), term);
            }
        }
    }
    if draft
        .note
        .as_ref()
        .is_some_and(|note| note.trim().is_empty())
    {
        errors.add(
            "/note",
            "required",
            "A nota está vazia; para tirá-la, envie null.",
        );
    }
    if let Some(note) = &draft.note {
        errors.max_chars("/note", note, SYNONYM_NOTE_MAX, "A nota");
    }
    errors.into_result()
}

/// The terms of `draft` another group already has (by `key`): search would read an expression
/// in two groups as only one of them, so each is in one group only.
pub fn terms_in_other_groups(
    draft: &SynonymGroupDraft,
    key: impl Fn(&str) -> String,
    others: &[SynonymGroup],
) -> Vec<FieldError> {
    let others: Vec<(&SynonymGroup, Vec<String>)> = others
        .iter()
        .map(|group| (group, group.terms.iter().map(|term| key(term)).collect()))
        .collect();
    let mut errors = Errors::default();
    for (index, term) in draft.terms.iter().enumerate() {
        let term_key = key(term);
        if term_key.is_empty() {
            continue;
        }
        let holder = others.iter().find(|(_, keys)| keys.contains(&term_key));
        if let Some((group, _)) = holder {
            errors.add(
                format!("/terms/{index}"),
                "taken",
                format!(
                    "O grupo {} ({}) já tem este termo; cada expressão fica em um só grupo. \
                     Acrescente os outros termos a esse grupo.",
                    group.id,
                    group.terms.join(", ")
                ),
            );
        }
    }
    errors.into_result().err().unwrap_or_default()
}

/// A write to something search depends on, as recorded by the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangedEntity {
    Service(Uuid),
    Organization(Uuid),
    Topic(Uuid),
    LifeEvent(Uuid),
    Synonym,
    /// Municipality names (facet labels) changed.
    Municipality,
    /// A service unit: not searched, but shown in cached pages.
    Location,
}

/// Appends a piece of the details text; pieces are separated by a visible mark, since a passage
/// of them may be shown as a highlight.
fn push_text(out: &mut String, text: &str) {
    let text = text.trim();
    if !text.is_empty() {
        if !out.is_empty() {
            out.push_str(" · ");
        }
        out.push_str(text);
    }
}

fn push_variants<T>(out: &mut String, variants: &Variants<T>, text: impl Fn(&T) -> Vec<&str>) {
    let all = variants
        .default
        .iter()
        .chain(variants.cases.iter().flat_map(|case| case.items.iter()));
    for item in all {
        for part in text(item) {
            push_text(out, part);
        }
    }
    for case in &variants.cases {
        push_text(out, &case.description);
    }
}

fn details_text(content: &ServiceContent) -> String {
    let mut out = String::new();
    for requester in &content.requesters {
        push_text(&mut out, &requester.kind);
        push_text(&mut out, requester.requirements.as_deref().unwrap_or(""));
    }
    push_text(&mut out, content.outcome.as_deref().unwrap_or(""));
    for step in &content.steps {
        push_text(&mut out, &step.title);
        push_text(&mut out, step.description.as_deref().unwrap_or(""));
        push_variants(&mut out, &step.documents, |d| vec![d.name.as_str()]);
        push_variants(&mut out, &step.costs, |c| vec![c.description.as_str()]);
        push_variants(&mut out, &step.channels, |c| vec![c.description.as_str()]);
    }
    plain_text(&out)
}

/// Markdown or HTML reduced to words: tags, link targets and markup characters dropped,
/// entities decoded (`&nbsp;`, `&amp;`), whitespace collapsed.
pub fn plain_text(text: &str) -> String {
    // Byte by byte: every markup character is ASCII, and what is dropped always begins and ends
    // at one, so the bytes kept are still UTF-8 (this runs over every text the index reads).
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut in_tag = false;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        let next = bytes.get(i + 1).copied();
        i += 1;
        match byte {
            // A tag, not a "less than" in the text ("renda < 3 salários").
            b'<' if next
                .is_some_and(|next| next.is_ascii_alphabetic() || next == b'/' || next == b'!') =>
            {
                in_tag = true
            }
            b'>' if in_tag => {
                in_tag = false;
                out.push(b' ');
            }
            _ if in_tag => {}
            // A markdown link's target: "](https://…)".
            b']' if next == Some(b'(') => {
                i = bytes[i..]
                    .iter()
                    .position(|b| *b == b')')
                    .map_or(bytes.len(), |close| i + close + 1);
                // A word right after the link is another word; punctuation stays attached.
                if bytes
                    .get(i)
                    .is_some_and(|next| next.is_ascii_alphanumeric() || *next >= 0x80)
                {
                    out.push(b' ');
                }
            }
            b'*' | b'_' | b'#' | b'[' | b'`' | b'\r' => out.push(b' '),
            _ => out.push(byte),
        }
    }
    let out = String::from_utf8(out)
        .unwrap_or_else(|invalid| String::from_utf8_lossy(invalid.as_bytes()).into_owned());
    let out = html_escape::decode_html_entities(&out);
    let mut collapsed = String::with_capacity(out.len());
    for word in out.split_whitespace() {
        if !collapsed.is_empty() {
            collapsed.push(' ');
        }
        collapsed.push_str(word);
    }
    collapsed
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn plain_text_drops_markup_and_link_targets() {
        assert_eq!(
            plain_text("**Emita** a <b>certidão</b> [aqui](https://x.gov.br/a_b)."),
            "Emita a certidão aqui."
        );
        assert_eq!(plain_text("[aqui](https://x)seguinte"), "aqui seguinte");
        // Entities, as the federal corpus writes spaces and ampersands.
        assert_eq!(
            plain_text("pobres.&nbsp;Ao se inscrever, P&amp;D &lt;ok&gt;"),
            "pobres. Ao se inscrever, P&D <ok>"
        );
        assert_eq!(plain_text("renda < 3 salários"), "renda < 3 salários");
        assert_eq!(
            plain_text("Taxa — <i>isenção</i>\u{a0}para  idosos <é [ver](x"),
            "Taxa — isenção para idosos <é ver"
        );
    }

    fn lowercase(term: &str) -> String {
        term.trim().to_lowercase()
    }

    #[test]
    fn a_synonym_term_is_in_one_group_only() {
        let others = [SynonymGroup {
            id: 3,
            terms: vec!["cpf".into(), "cadastro de pessoas físicas".into()],
        }];
        let draft = SynonymGroupDraft {
            terms: vec!["CPF".into(), "documento".into()],
            note: None,
        };
        let errors = terms_in_other_groups(&draft, lowercase, &others);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].pointer, "/terms/0");
        assert_eq!(errors[0].code, "taken");
        assert!(
            errors[0].message.contains("grupo 3"),
            "{}",
            errors[0].message
        );
        assert!(validate_synonym_group(&draft, lowercase).is_ok());
    }

    #[test]
    fn a_synonym_group_lists_every_problem_of_its_terms() {
        let draft: SynonymGroupDraft = serde_json::from_value(serde_json::json!({
            "terms": ["  Carteira   de  trabalho ", "carteira de trabalho", " "],
            "note": "",
        }))
        .unwrap();
        assert_eq!(draft.terms[0], "Carteira de trabalho");
        let errors = validate_synonym_group(&draft, lowercase).unwrap_err();
        let found: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.pointer.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("/terms/1", "duplicate"),
                ("/terms/2", "required"),
                ("/note", "required")
            ]
        );
        let alone = SynonymGroupDraft {
            terms: vec!["cpf".into()],
            note: None,
        };
        assert_eq!(
            validate_synonym_group(&alone, lowercase).unwrap_err()[0].code,
            "too_few"
        );
        // Past the limit, the terms are not read one by one.
        let many = SynonymGroupDraft {
            terms: vec![String::new(); SYNONYM_TERMS_MAX + 1],
            note: None,
        };
        let errors = validate_synonym_group(&many, lowercase).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].code, "too_many");
    }
}
