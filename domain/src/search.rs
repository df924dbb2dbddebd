//! What the search index knows of a published service, and the search vocabulary kept as data.

use uuid::Uuid;

use crate::place::MunicipalityRef;
use crate::service::{ServiceContent, ServiceSummary, Variants};
use crate::taxonomy::{SegmentCode, TaxonRef};

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
}
