//! The service record of the Carta de Serviços (Lei 13.460/2017 art. 7), in the shape of the federal
//! schema v3 (steps × {documents, costs, channels} × {default, cases}) so data round-trips with gov.br.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::checklist::Checklist;
use crate::feedback::Opinion;
use crate::organization::OrganizationSummary;
use crate::place::{LocationSummary, MunicipalityRef};
use crate::taxonomy::{ChannelTypeCode, SegmentCode, TaxonRef};

/// Publication workflow state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceStatus {
    Draft,
    InReview,
    Published,
    Archived,
}

impl ServiceStatus {
    pub const ALL: [ServiceStatus; 4] = [
        ServiceStatus::Draft,
        ServiceStatus::InReview,
        ServiceStatus::Published,
        ServiceStatus::Archived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceStatus::Draft => "draft",
            ServiceStatus::InReview => "in_review",
            ServiceStatus::Published => "published",
            ServiceStatus::Archived => "archived",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
    }
}

/// Unit of a time estimate (federal `unidade`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    Minutes,
    Hours,
    Days,
    CalendarDays,
    BusinessDays,
    Months,
}

/// How a time is estimated (federal `ate`, `entre`, `em-media`, `atendimento-imediato`,
/// `nao-estimado-ainda`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeEstimateKind {
    /// At most `max` units.
    UpTo,
    /// Between `min` and `max` units.
    Between,
    /// On average `max` units: not a maximum deadline.
    OnAverage,
    /// Served on the spot.
    Immediate,
    /// The agency has not estimated it yet (a gap in Lei 13.460 art. 7 §2 IV).
    NotEstimated,
}

/// A structured deadline or duration, never free text only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"kind": "up_to", "max": 30, "unit": "business_days", "description": null}))]
pub struct TimeEstimate {
    pub kind: TimeEstimateKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<TimeUnit>,
    /// Free-text note shown beside the estimate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl TimeEstimate {
    pub fn not_estimated() -> Self {
        TimeEstimate {
            kind: TimeEstimateKind::NotEstimated,
            min: None,
            max: None,
            unit: None,
            description: None,
        }
    }

    /// True when the estimate states a maximum deadline (Lei 13.460 art. 7 §2 IV).
    pub fn states_maximum(&self) -> bool {
        match self.kind {
            TimeEstimateKind::Immediate => true,
            TimeEstimateKind::UpTo | TimeEstimateKind::Between => {
                self.max.is_some() && self.unit.is_some()
            }
            TimeEstimateKind::OnAverage | TimeEstimateKind::NotEstimated => false,
        }
    }
}

impl Default for TimeEstimate {
    fn default() -> Self {
        Self::not_estimated()
    }
}

/// Who may request the service, with eligibility requirements (federal `solicitante`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Requester {
    /// E.g. "Pessoas físicas com 16 anos ou mais".
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirements: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Document {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub where_to_get: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// A fee (Lei 13.460 art. 6 VI e). When `variable_amount` is set it is shown instead of `amount`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Cost {
    pub description: String,
    /// ISO 4217 code.
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Decimal amount as a string, e.g. "102.49".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "102.49")]
    pub amount: Option<Decimal>,
    /// How the amount varies, when it does (e.g. "Conforme tabela de taxas").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable_amount: Option<String>,
}

fn default_currency() -> String {
    "BRL".to_owned()
}

/// Where and how a step is delivered (Lei 13.460 art. 7 §2 V).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Channel {
    #[serde(rename = "type")]
    pub channel_type: ChannelTypeCode,
    /// Markdown; the address for web channels.
    pub description: String,
    /// What to do when the system is unavailable (Decreto 9.094 art. 11 §3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable_procedure: Option<String>,
    /// Expected waiting time at this channel (Lei 13.460 art. 7 §3 II).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_time: Option<TimeEstimate>,
    /// Service units where this channel is offered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub location_ids: Vec<Uuid>,
}

/// A conditional variant: "Menores de 16 anos", "Pedido por procurador".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Case<T> {
    pub description: String,
    pub items: Vec<T>,
}

/// A default list plus the conditional cases that change it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Variants<T> {
    #[serde(default)]
    pub default: Vec<T>,
    #[serde(default)]
    pub cases: Vec<Case<T>>,
}

impl<T> Default for Variants<T> {
    fn default() -> Self {
        Variants {
            default: Vec::new(),
            cases: Vec::new(),
        }
    }
}

impl<T> Variants<T> {
    pub fn is_empty(&self) -> bool {
        self.default.is_empty() && self.cases.iter().all(|case| case.items.is_empty())
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.default
            .iter()
            .chain(self.cases.iter().flat_map(|case| case.items.iter()))
    }
}

/// One ordered step of the service (Lei 13.460 art. 7 §2 III).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Step {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub documents: Variants<Document>,
    #[serde(default)]
    pub costs: Variants<Cost>,
    #[serde(default)]
    pub channels: Variants<Channel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_estimate: Option<TimeEstimate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValidityKind {
    ValidFor,
    NoExpiry,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValidityUnit {
    Days,
    Months,
    Years,
}

/// Validity of the document the service delivers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DocumentValidity {
    pub kind: ValidityKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<ValidityUnit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A link and/or instructions; used for complaints and request tracking.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct Pointer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

/// How to present a manifestação (complaint, suggestion, praise, report): Lei 13.460 art. 7 §2 VI
/// (where) and §3 IV (how it is received and answered).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct ComplaintChannel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Where and how to present it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// How it is received and answered, with the answer deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
}

/// Where an imported record came from (federation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SourceRef {
    /// E.g. "govbr".
    pub source: String,
    pub external_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// Everything an editor writes about a service, apart from its links to other records.
/// Stored as one document: it is always read and written whole.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct ServiceContent {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acronym: Option<String>,
    #[serde(default)]
    pub popular_names: Vec<String>,
    /// Markdown: what the citizen gets (Lei 13.460 art. 7 §2 I).
    pub description: String,
    /// What the citizen receives at the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// What the service does not cover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_covered: Option<String>,
    #[serde(default)]
    pub requesters: Vec<Requester>,
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Maximum deadline of the whole service (Lei 13.460 art. 7 §2 IV).
    #[serde(default)]
    pub time_estimate: TimeEstimate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_validity: Option<DocumentValidity>,
    /// Tri-state as in the federal schema: unknown when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free: Option<bool>,
    /// Where the citizen starts the service online (the "Iniciar" button).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digital_url: Option<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Markdown links, preferably LexML URNs.
    #[serde(default)]
    pub legal_basis: Vec<String>,
    /// Lei 13.460 art. 7 §3 I.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_treatment: Option<String>,
    /// Decreto 9.094 art. 11 §3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attendance_treatment: Option<String>,
    /// Accessibility, signage, cleanliness and comfort of the units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accessibility: Option<String>,
    /// Expected waiting time to be served (Lei 13.460 art. 7 §3 II).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_time: Option<TimeEstimate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complaints: Option<ComplaintChannel>,
    /// How to follow the request (Lei 13.460 art. 7 §3 V).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_tracking: Option<Pointer>,
    /// Markdown: communication with the user (Lei 13.460 art. 7 §3 III).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening_hours: Option<String>,
}

impl ServiceContent {
    /// Fully digital: it can be started online.
    pub fn is_digital(&self) -> bool {
        self.digital_url
            .as_deref()
            .is_some_and(|url| !url.trim().is_empty())
    }

    /// Channel types used anywhere in the steps, each once, in first-seen order.
    pub fn channel_types(&self) -> Vec<ChannelTypeCode> {
        let mut types = Vec::new();
        for channel in self.steps.iter().flat_map(|step| step.channels.iter()) {
            if !types.contains(&channel.channel_type) {
                types.push(channel.channel_type);
            }
        }
        types
    }

    /// Service units named by the channels of any step (default or case), each once, in
    /// first-seen order.
    pub fn channel_location_ids(&self) -> Vec<Uuid> {
        let mut ids = Vec::new();
        let channels = self.steps.iter().flat_map(|step| step.channels.iter());
        for id in channels.flat_map(|channel| channel.location_ids.iter()) {
            if !ids.contains(id) {
                ids.push(*id);
            }
        }
        ids
    }
}

/// What an editor writes about a service: its text and its links, given by natural keys (slugs and
/// IBGE codes) as seed files, importers and editors name them. The body of the write endpoints,
/// and the snapshot each revision keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ServiceForm {
    #[schema(example = "cnh-segunda-via")]
    pub slug: String,
    /// Organization slug.
    #[schema(example = "detran-mt")]
    pub organization: String,
    #[serde(flatten)]
    pub content: ServiceContent,
    #[serde(default)]
    pub segments: Vec<SegmentCode>,
    /// Topic slugs.
    #[serde(default)]
    pub topics: Vec<String>,
    /// Life event slugs.
    #[serde(default)]
    pub life_events: Vec<String>,
    /// IBGE codes; empty means offered in the whole state.
    #[serde(default)]
    pub municipalities: Vec<i32>,
    /// Slugs of related services.
    #[serde(default)]
    pub related_services: Vec<String>,
    /// Location ids, in the order shown.
    #[serde(default)]
    pub locations: Vec<Uuid>,
}

/// A service to be stored by the seed or an importer: the form, its state and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceDraft {
    #[serde(flatten)]
    pub form: ServiceForm,
    #[serde(default = "default_status")]
    pub status: ServiceStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
}

fn default_status() -> ServiceStatus {
    ServiceStatus::Draft
}

/// A related service as a link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ServiceRef {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

/// The full service as the public reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Service {
    pub id: Uuid,
    pub slug: String,
    #[serde(flatten)]
    pub content: ServiceContent,
    /// Computed: it can be started online.
    pub digital: bool,
    pub status: ServiceStatus,
    pub organization: OrganizationSummary,
    pub segments: Vec<SegmentCode>,
    pub topics: Vec<TaxonRef>,
    pub life_events: Vec<TaxonRef>,
    /// Channel types used in the steps.
    pub channel_types: Vec<ChannelTypeCode>,
    /// True when offered in the whole state; otherwise see `municipalities`.
    pub statewide: bool,
    pub municipalities: Vec<MunicipalityRef>,
    pub locations: Vec<LocationSummary>,
    pub related_services: Vec<ServiceRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
    /// Lei 13.460 art. 7 checklist, computed on read.
    pub compliance: Checklist,
    /// What citizens said of it (updated within `CARTA_OPINION_REFRESH_MS`, 30 s by default).
    #[serde(flatten, default)]
    pub opinion: Opinion,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
}

/// A list item: enough to render a result card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ServiceSummary {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acronym: Option<String>,
    pub popular_names: Vec<String>,
    /// First paragraph of the description, plain text, at most 300 characters.
    pub summary: String,
    pub organization: OrganizationSummary,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free: Option<bool>,
    pub digital: bool,
    pub time_estimate: TimeEstimate,
    pub channel_types: Vec<ChannelTypeCode>,
    pub status: ServiceStatus,
    pub updated_at: DateTime<Utc>,
    /// What citizens said of it (updated within `CARTA_OPINION_REFRESH_MS`, 30 s by default).
    #[serde(flatten, default)]
    pub opinion: Opinion,
}

/// Plain-text teaser of a markdown/HTML description.
pub fn summarize(description: &str, max_chars: usize) -> String {
    let text = crate::search::plain_text(description);
    let text = text.trim();
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    let cut = match cut.rfind(' ') {
        Some(space) if space > max_chars / 2 => cut[..space].to_owned(),
        _ => cut,
    };
    format!("{}…", cut.trim_end_matches([',', ';', ':', '.', ' ']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_strips_markup_and_cuts_on_a_word() {
        let text = "<p>Emita a **segunda via** do RG.</p>\n\n<ul><li>Rápido</li></ul>";
        assert_eq!(summarize(text, 300), "Emita a segunda via do RG. Rápido");
        assert_eq!(
            summarize("Veja [o guia](https://x.gov.br/a_b).&nbsp;Fim", 300),
            "Veja o guia. Fim"
        );
        let long = "palavra ".repeat(100);
        let cut = summarize(&long, 50);
        assert!(cut.chars().count() <= 50, "{cut}");
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn only_stated_maximums_count_as_a_deadline() {
        let mut estimate = TimeEstimate {
            kind: TimeEstimateKind::UpTo,
            min: None,
            max: Some(5),
            unit: Some(TimeUnit::Days),
            description: None,
        };
        assert!(estimate.states_maximum());
        estimate.kind = TimeEstimateKind::OnAverage;
        assert!(!estimate.states_maximum());
        assert!(!TimeEstimate::not_estimated().states_maximum());
    }
}
