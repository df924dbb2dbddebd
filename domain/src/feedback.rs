//! What citizens say of a service (Lei 13.460 art. 23): whether its information was useful
//! ("as orientações foram úteis?") and how satisfied they were with the service itself (1–5
//! stars, by the channel they used). Both are anonymous: only what the aggregates and the
//! agencies' reading need is kept, never who said it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::taxonomy::vocabulary;
use crate::validation::{Errors, FieldError};

/// Longest comment kept, in characters, after cleaning.
pub const MAX_COMMENT_CHARS: usize = 500;
/// Longest request protocol accepted.
pub const MAX_PROTOCOL_CHARS: usize = 60;

vocabulary! {
    /// Why the information was not useful (the federal `motivoInformacaoNaoUtil`, as a fixed list).
    NotUsefulReason {
        Incomplete = "incomplete", "A informação está incompleta", "incompleta";
        Outdated = "outdated", "A informação está desatualizada", "desatualizada";
        Incorrect = "incorrect", "A informação está incorreta", "incorreta";
        Unclear = "unclear", "A informação é difícil de entender", "dificil-de-entender";
        BrokenLink = "broken_link", "Um link, telefone ou endereço não funciona", "link-quebrado";
        NotWhatINeeded = "not_what_i_needed", "Não era o serviço que eu procurava", "nao-era-o-servico";
        Other = "other", "Outro motivo (descreva no comentário)", "outro";
    }
}

vocabulary! {
    /// The channel through which the service was provided: the eight of the federal evaluation
    /// API (`canalPrestacao` 1–8, in this order), by name.
    RatingChannel {
        MobileApp = "mobile_app", "Aplicativo móvel", "1";
        Email = "email", "E-mail", "2";
        Fax = "fax", "Fax", "3";
        Postal = "postal", "Postal", "4";
        InPerson = "in_person", "Presencial", "5";
        Sms = "sms", "SMS", "6";
        Phone = "phone", "Telefone", "7";
        Web = "web", "Web", "8";
    }
}

/// "Was this information useful?"
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"useful": false, "reason": "outdated", "comment": "O valor da taxa mudou em 2026."}))]
pub struct FeedbackForm {
    pub useful: bool,
    /// Required when `useful` is false; only then allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<NotUsefulReason>,
    /// Free text, at most 500 characters once control and formatting characters are removed;
    /// required with reason `other`. What looks like a CPF, CNPJ or phone number (8 or more
    /// digits) or an e-mail address is replaced by `[removido]` before it is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Satisfaction with the service itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"stars": 4, "channel": "in_person", "comment": "Fui bem atendido.", "protocol": "2026.000123-4"}))]
pub struct RatingForm {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    #[schema(minimum = 1, maximum = 5)]
    pub stars: i32,
    /// The channel used.
    pub channel: RatingChannel,
    /// Free text, at most 500 characters, cleaned as in feedback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The request's protocol number, if any (1–60 letters, digits, `.`, `-`, `/`). A second rating
    /// of the same protocol replaces the first. It is kept only as a keyed hash, and only as long
    /// as duplicates are suppressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// The violations of a feedback form, by JSON pointer.
pub fn feedback_rules(form: &FeedbackForm) -> Vec<FieldError> {
    let mut errors = Errors::default();
    match (form.useful, form.reason) {
        (false, None) => errors.add(
            "/reason",
            "required",
            "Diga por que a informação não foi útil.",
        ),
        (true, Some(_)) => errors.add(
            "/reason",
            "invalid",
            "O motivo só se aplica quando a informação não foi útil.",
        ),
        _ => {}
    }
    let comment = form.comment.as_deref().map(strip_comment);
    if form.reason == Some(NotUsefulReason::Other) && comment.as_deref().is_none_or(str::is_empty) {
        errors.add(
            "/comment",
            "required",
            "Com o motivo \"outro\", descreva-o no comentário.",
        );
    }
    comment_rules(&mut errors, comment.as_deref());
    errors.into_result().err().unwrap_or_default()
}

/// The violations of a rating form, by JSON pointer.
pub fn rating_rules(form: &RatingForm) -> Vec<FieldError> {
    let mut errors = Errors::default();
    if !(1..=5).contains(&form.stars) {
        errors.add("/stars", "out_of_range", "Dê de 1 a 5 estrelas.");
    }
    comment_rules(
        &mut errors,
        form.comment.as_deref().map(strip_comment).as_deref(),
    );
    if let Some(protocol) = &form.protocol {
        let protocol = protocol.trim();
        let well_formed = (1..=MAX_PROTOCOL_CHARS).contains(&protocol.chars().count())
            && protocol
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '/'));
        if !well_formed {
            errors.add(
                "/protocol",
                "invalid",
                format!(
                    "Use o número do protocolo: de 1 a {MAX_PROTOCOL_CHARS} letras, algarismos, pontos, hífens ou barras."
                ),
            );
        }
    }
    errors.into_result().err().unwrap_or_default()
}

fn comment_rules(errors: &mut Errors, cleaned: Option<&str>) {
    if let Some(comment) = cleaned {
        errors.max_chars("/comment", comment, MAX_COMMENT_CHARS, "O comentário");
    }
}

/// A comment as it is kept: cleaned ([`strip_comment`]) and with what looks like personal data
/// masked (LGPD: the form is anonymous, and agencies read these). `None` when nothing is left.
pub fn clean_comment(raw: &str) -> Option<String> {
    let masked = mask_personal_data(&strip_comment(raw));
    (!masked.is_empty()).then_some(masked)
}

/// A comment without control, formatting or bidirectional characters (which can disguise text
/// on an agency's screen), with at most one blank line in a row, trimmed. The length limit
/// applies to this, what the citizen wrote.
pub fn strip_comment(raw: &str) -> String {
    let mut text = String::with_capacity(raw.len());
    let mut newlines = 0;
    for c in raw.chars() {
        match c {
            '\n' | '\u{2028}' | '\u{2029}' => {
                newlines += 1;
                if newlines <= 2 {
                    text.push('\n');
                }
            }
            '\t' => text.push(' '),
            c if c.is_control() || is_invisible_format(c) => {}
            c => {
                if !c.is_whitespace() {
                    newlines = 0;
                }
                text.push(c);
            }
        }
    }
    text.trim().to_owned()
}

/// Unicode's format characters (category Cf) that text may hold: soft hyphen, bidirectional
/// marks, overrides and isolates, zero-width characters, invisible operators, interlinear
/// annotations, the BOM and tag characters.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' | '\u{E0000}'..='\u{E007F}')
}

/// Replacement for masked personal data.
pub const MASK: &str = "[removido]";

/// Masks e-mail addresses and runs of 8 or more digits (CPF, CNPJ, phone numbers; written with
/// or without `.`, `-`, `/`, spaces or parentheses between them).
fn mask_personal_data(text: &str) -> String {
    let words: Vec<&str> = text.split_inclusive(char::is_whitespace).collect();
    let mut out = String::with_capacity(text.len());
    let punctuation = |c: char| {
        matches!(
            c,
            '.' | ',' | ';' | ':' | '!' | '?' | '(' | ')' | '<' | '>' | '"' | '\''
        )
    };
    for word in words {
        // The address without the punctuation around it, which is kept.
        let core = word.trim_end().trim_end_matches(punctuation);
        let core = core.trim_start_matches(punctuation);
        let is_email = core
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
        if is_email {
            out.push_str(&word.replacen(core, MASK, 1));
        } else {
            out.push_str(word);
        }
    }
    mask_digit_runs(&out)
}

fn mask_digit_runs(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let joiner = |c: char| matches!(c, '.' | '-' | '/' | ' ' | '(' | ')' | '\u{A0}' | '–' | '—');
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() && chars[i] != '(' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The longest run of digits and joiners from here, ending on a digit.
        let (mut j, mut end, mut digits) = (i, i, 0);
        while j < chars.len() && (chars[j].is_ascii_digit() || joiner(chars[j])) {
            if chars[j].is_ascii_digit() {
                digits += 1;
                end = j + 1;
            }
            j += 1;
        }
        let run: String = chars[i..end].iter().collect();
        if digits >= 8 && !is_date(&run) {
            out.push_str(MASK);
            i = end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// `dd/mm/yyyy` (or with `-` or `.`): a date, not a document number.
fn is_date(run: &str) -> bool {
    let parts: Vec<&str> = run.split(['/', '-', '.']).collect();
    matches!(parts.as_slice(), [d, m, y]
        if (1..=2).contains(&d.len()) && (1..=2).contains(&m.len()) && y.len() == 4
            && [d, m, y].iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())))
}

/// "Was this useful?" votes of a service or an organization.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Usefulness {
    pub useful: i64,
    pub not_useful: i64,
    /// Share of useful votes, 0–100 with one decimal; absent without votes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 87.5)]
    pub useful_percent: Option<f64>,
}

impl Usefulness {
    pub fn new(useful: i64, not_useful: i64) -> Usefulness {
        let total = useful + not_useful;
        Usefulness {
            useful,
            not_useful,
            useful_percent: (total > 0)
                .then(|| (useful as f64 * 1000.0 / total as f64).round() / 10.0),
        }
    }
}

/// Star ratings in brief: how many, and their mean.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RatingSummary {
    pub ratings: i64,
    /// Mean stars with two decimals; absent without ratings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 4.25)]
    pub average: Option<f64>,
}

impl RatingSummary {
    pub fn new(ratings: i64, stars_sum: i64) -> RatingSummary {
        RatingSummary {
            ratings,
            average: (ratings > 0)
                .then(|| (stars_sum as f64 * 100.0 / ratings as f64).round() / 100.0),
        }
    }
}

/// What a service page and a list item show of citizens' opinion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Opinion {
    pub usefulness: Usefulness,
    pub satisfaction: RatingSummary,
}

/// Ratings given through one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChannelSatisfaction {
    pub channel: RatingChannel,
    #[serde(flatten)]
    pub summary: RatingSummary,
}

/// Satisfaction in full: the distribution of stars and the split by channel.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct Satisfaction {
    #[serde(flatten)]
    pub summary: RatingSummary,
    /// Ratings with 1, 2, 3, 4 and 5 stars, in that order.
    #[schema(example = json!([1, 0, 2, 5, 12]))]
    pub distribution: [i64; 5],
    /// Channels with at least one rating, most rated first.
    pub by_channel: Vec<ChannelSatisfaction>,
}

/// The public opinion report of a service or an organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OpinionReport {
    pub usefulness: Usefulness,
    pub satisfaction: Satisfaction,
}

/// A service named in an agency's reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ServiceMention {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

/// A "was this useful?" vote as its agency reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FeedbackEntry {
    pub id: i64,
    pub service: ServiceMention,
    pub useful: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<NotUsefulReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// To the hour.
    pub created_at: DateTime<Utc>,
}

/// A rating as its agency reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RatingEntry {
    pub id: i64,
    pub service: ServiceMention,
    pub stars: i32,
    pub channel: RatingChannel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Whether the citizen gave a protocol number (the number itself is not kept).
    pub with_protocol: bool,
    /// To the hour.
    pub created_at: DateTime<Utc>,
}

/// Filters of an agency's reading of feedback.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedbackFilter {
    pub organization_id: Uuid,
    pub service: Option<String>,
    pub useful: Option<bool>,
    pub reason: Option<NotUsefulReason>,
    pub since: Option<DateTime<Utc>>,
}

/// Filters of an agency's reading of ratings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RatingFilter {
    pub organization_id: Uuid,
    pub service: Option<String>,
    pub channel: Option<RatingChannel>,
    pub stars: Option<i32>,
    pub since: Option<DateTime<Utc>>,
}

/// A count and its share of the organization's published services.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Share {
    pub count: i64,
    /// 0–100 with one decimal; absent when there is nothing to share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
}

impl Share {
    pub fn of(count: i64, total: i64) -> Share {
        Share {
            count,
            percent: (total > 0).then(|| (count as f64 * 1000.0 / total as f64).round() / 10.0),
        }
    }
}

/// A published service with the date its page last changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReviewedService {
    #[serde(flatten)]
    pub service: ServiceMention,
    pub updated_at: DateTime<Utc>,
}

/// What the panel weighs of one published service.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelInput {
    pub service: ServiceMention,
    pub digital: bool,
    pub checklist_complete: bool,
    pub updated_at: DateTime<Utc>,
}

/// A service unreviewed for this long is flagged (Lei 13.460 art. 7 §4: the Carta is kept
/// up to date; a yearly review is the common practice).
pub const REVIEW_MONTHS: u32 = 12;
/// How many of the least recently reviewed services the panel names.
pub const PANEL_OLDEST: usize = 20;

/// The monitoring panel of an organization (Lei 14.129 art. 22).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Panel {
    pub organization: crate::organization::OrganizationSummary,
    pub published_services: i64,
    /// Services that can be started online.
    pub fully_digital: Share,
    /// Services whose Lei 13.460 art. 7 checklist is complete.
    pub checklist_complete: Share,
    /// Services whose page has not changed in the last 12 months.
    pub not_reviewed_in_12_months: Share,
    /// The least recently reviewed of those, oldest first (at most 20).
    pub least_recently_reviewed: Vec<ReviewedService>,
    pub usefulness: Usefulness,
    pub satisfaction: Satisfaction,
}

impl Panel {
    pub fn compute(
        organization: crate::organization::OrganizationSummary,
        services: Vec<PanelInput>,
        opinion: OpinionReport,
        now: DateTime<Utc>,
    ) -> Panel {
        let total = services.len() as i64;
        let count =
            |keep: &dyn Fn(&PanelInput) -> bool| services.iter().filter(|s| keep(s)).count() as i64;
        let cutoff = now
            .checked_sub_months(chrono::Months::new(REVIEW_MONTHS))
            .unwrap_or(now);
        let mut stale: Vec<&PanelInput> =
            services.iter().filter(|s| s.updated_at < cutoff).collect();
        stale.sort_by(|a, b| {
            a.updated_at
                .cmp(&b.updated_at)
                .then(a.service.id.cmp(&b.service.id))
        });
        Panel {
            organization,
            published_services: total,
            fully_digital: Share::of(count(&|s| s.digital), total),
            checklist_complete: Share::of(count(&|s| s.checklist_complete), total),
            not_reviewed_in_12_months: Share::of(stale.len() as i64, total),
            least_recently_reviewed: stale
                .into_iter()
                .take(PANEL_OLDEST)
                .map(|s| ReviewedService {
                    service: s.service.clone(),
                    updated_at: s.updated_at,
                })
                .collect(),
            usefulness: opinion.usefulness,
            satisfaction: opinion.satisfaction,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn feedback(
        useful: bool,
        reason: Option<NotUsefulReason>,
        comment: Option<&str>,
    ) -> FeedbackForm {
        FeedbackForm {
            useful,
            reason,
            comment: comment.map(str::to_owned),
        }
    }

    fn codes(errors: Vec<FieldError>) -> Vec<(String, String)> {
        errors.into_iter().map(|e| (e.pointer, e.code)).collect()
    }

    #[test]
    fn a_reason_is_required_for_not_useful_and_only_then() {
        assert!(feedback_rules(&feedback(true, None, None)).is_empty());
        assert!(feedback_rules(&feedback(false, Some(NotUsefulReason::Outdated), None)).is_empty());
        assert_eq!(
            codes(feedback_rules(&feedback(false, None, Some("x")))),
            [("/reason".into(), "required".into())]
        );
        assert_eq!(
            codes(feedback_rules(&feedback(
                true,
                Some(NotUsefulReason::Unclear),
                None
            ))),
            [("/reason".into(), "invalid".into())]
        );
        assert_eq!(
            codes(feedback_rules(&feedback(
                false,
                Some(NotUsefulReason::Other),
                Some(" \u{7} ")
            ))),
            [("/comment".into(), "required".into())]
        );
    }

    #[test]
    fn the_limit_counts_what_was_written_not_the_masks() {
        let digits = "12345678 x ".repeat(45);
        assert!(digits.trim().chars().count() <= MAX_COMMENT_CHARS);
        assert!(feedback_rules(&feedback(true, None, Some(&digits))).is_empty());
        assert!(clean_comment(&digits).unwrap().chars().count() > MAX_COMMENT_CHARS);
    }

    #[test]
    fn comments_are_limited_after_cleaning() {
        let long = "a".repeat(MAX_COMMENT_CHARS) + "\u{0}\u{1b}";
        assert!(feedback_rules(&feedback(true, None, Some(&long))).is_empty());
        let longer = "á".repeat(MAX_COMMENT_CHARS + 1);
        assert_eq!(
            codes(feedback_rules(&feedback(true, None, Some(&longer)))),
            [("/comment".into(), "too_long".into())]
        );
    }

    #[test]
    fn cleaning_strips_controls_and_masks_personal_data() {
        assert_eq!(
            clean_comment("  Oi\u{202E}\u{0}\u{1b}[31m\r\n\n\n\nfim\t!  ").as_deref(),
            Some("Oi[31m\n\nfim !")
        );
        assert_eq!(
            clean_comment("meu cpf 123.456.789-09, fone (65) 99999-1234, <joao@exemplo.com.br>.")
                .as_deref(),
            Some("meu cpf [removido], fone [removido], <[removido]>.")
        );
        assert_eq!(
            clean_comment("Em 2026 paguei R$ 150,00 no dia 12/03").as_deref(),
            Some("Em 2026 paguei R$ 150,00 no dia 12/03")
        );
        assert_eq!(clean_comment(" \u{200B}\n "), None);
        assert_eq!(
            clean_comment("a\u{2028}\u{2029}\u{2028}b\u{AD}\u{E0041} nasci em 12/03/1990, tel 65\u{A0}3613–4000")
                .as_deref(),
            Some("a\n\nb nasci em 12/03/1990, tel [removido]")
        );
    }

    #[test]
    fn ratings_check_stars_and_protocol() {
        let form = |stars, protocol: Option<&str>| RatingForm {
            stars,
            channel: RatingChannel::Web,
            comment: None,
            protocol: protocol.map(str::to_owned),
        };
        assert!(rating_rules(&form(5, Some("2026.000123-4/MT"))).is_empty());
        assert_eq!(
            codes(rating_rules(&form(0, None))),
            [("/stars".into(), "out_of_range".into())]
        );
        assert_eq!(
            codes(rating_rules(&form(6, None))),
            [("/stars".into(), "out_of_range".into())]
        );
        assert_eq!(
            codes(rating_rules(&form(3, Some("abc def")))),
            [("/protocol".into(), "invalid".into())]
        );
        assert_eq!(
            codes(rating_rules(&form(3, Some(&"9".repeat(61))))),
            [("/protocol".into(), "invalid".into())]
        );
    }

    #[test]
    fn the_panel_counts_shares_and_stale_services() {
        let now: DateTime<Utc> = "2026-11-30T12:00:00Z".parse().unwrap();
        let input = |n: u128, digital, complete, updated: &str| PanelInput {
            service: ServiceMention {
                id: Uuid::from_u128(n),
                slug: format!("s{n}"),
                name: format!("S{n}"),
            },
            digital,
            checklist_complete: complete,
            updated_at: updated.parse().unwrap(),
        };
        let organization = crate::organization::OrganizationSummary {
            id: Uuid::nil(),
            slug: "o".into(),
            name: "O".into(),
            acronym: None,
            sphere: crate::organization::Sphere::State,
            ombudsman_url: None,
        };
        let report = OpinionReport {
            usefulness: Usefulness::new(3, 1),
            satisfaction: Satisfaction::default(),
        };
        let panel = Panel::compute(
            organization,
            vec![
                input(1, true, true, "2026-11-01T00:00:00Z"),
                input(2, false, true, "2025-11-29T00:00:00Z"),
                input(3, true, false, "2024-01-01T00:00:00Z"),
            ],
            report,
            now,
        );
        assert_eq!(panel.published_services, 3);
        assert_eq!(panel.fully_digital, Share::of(2, 3));
        assert_eq!(panel.fully_digital.percent, Some(66.7));
        assert_eq!(panel.checklist_complete.count, 2);
        assert_eq!(panel.not_reviewed_in_12_months.count, 2);
        let oldest: Vec<&str> = panel
            .least_recently_reviewed
            .iter()
            .map(|s| s.service.slug.as_str())
            .collect();
        assert_eq!(oldest, ["s3", "s2"]);
        assert_eq!(panel.usefulness.useful_percent, Some(75.0));
        assert_eq!(Share::of(0, 0).percent, None);
    }

    #[test]
    fn aggregates_round() {
        assert_eq!(Usefulness::new(2, 1).useful_percent, Some(66.7));
        assert_eq!(Usefulness::new(0, 0).useful_percent, None);
        assert_eq!(RatingSummary::new(3, 13).average, Some(4.33));
        assert_eq!(RatingSummary::new(0, 0).average, None);
        assert_eq!(
            RatingChannel::from_govbr("5"),
            Some(RatingChannel::InPerson)
        );
    }
}
