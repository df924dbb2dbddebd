//! Importing another portal's federation feed (a municipality's, or another Carta's
//! `/v1/federation/govbr`), in the shape the federal portal pulls from state and municipal
//! portals: `[{id?, name, description, url, date?, organization?{name, id, url},
//! popular_names?[{name}], keywords?[]}]`.
//!
//! Each record is matched by (source, external id): its `id`, or its `url` when it has none. A
//! re-import updates in place and never duplicates; the raw record is kept as the source sent it.
//! Imported services are published (the source portal shows them). Their slug is chosen once,
//! from the name, and stays across re-imports. Records missing `name` or `url` are reported and
//! skipped. Services of the source that its feed no longer lists are archived.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel_async::AsyncPgConnection;
use domain::organization::Sphere;
use domain::service::{ServiceContent, ServiceDraft, ServiceForm, ServiceStatus, SourceRef};
use domain::validation::{is_valid_slug, FieldError};
use persistence::federation::{self, FeedProvider};
use persistence::writes::Outcome;
use persistence::StoreError;
use serde_json::Value;

use super::govbr_xml::slugify;

/// The largest feed read: far above a real catalogue's, far below what would hurt the importer.
pub const MAX_FEED_BYTES: u64 = 64 * 1024 * 1024;

/// Longest source name: it may end up in slugs.
const SOURCE_MAX: usize = 40;

/// What to import and how.
#[derive(Debug, Clone)]
pub struct FeedImport<'a> {
    /// A short name for the portal the feed comes from, e.g. `cuiaba`: records are keyed by it.
    pub source: &'a str,
    /// Sphere of the providers created for the feed's organizations.
    pub sphere: Sphere,
    /// Slug of the organization credited with records that name none; without it they are skipped.
    pub default_organization: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("the source name `{0}` must be lowercase letters, digits and single hyphens, at most {SOURCE_MAX} characters")]
    BadSource(String),
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("cannot fetch {0}: {1}")]
    Fetch(String, String),
    #[error("the feed is larger than {} MiB", MAX_FEED_BYTES / 1024 / 1024)]
    TooLarge,
    #[error("the feed is not a JSON array of services: {0}")]
    Format(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The provider a record names.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedOrganization {
    pub id: Option<String>,
    pub name: String,
    pub url: Option<String>,
}

/// One record of a feed, as far as Carta maps it.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedRecord {
    pub external_id: String,
    pub name: String,
    pub description: String,
    pub url: String,
    pub updated_at: Option<DateTime<Utc>>,
    pub organization: Option<FeedOrganization>,
    pub popular_names: Vec<String>,
    pub keywords: Vec<String>,
    /// Members present but unreadable (wrong type, bad date): ignored, and reported.
    pub ignored: Vec<String>,
}

/// A text member that is not blank, as sent.
fn raw_text<'a>(record: &'a Value, member: &str, ignored: &mut Vec<String>) -> Option<&'a str> {
    match record.get(member) {
        None | Some(Value::Null) => None,
        Some(Value::String(value)) => Some(value.as_str()).filter(|v| !v.trim().is_empty()),
        Some(_) => {
            ignored.push(member.to_owned());
            None
        }
    }
}

/// A text member that is not blank, trimmed.
fn text(record: &Value, member: &str, ignored: &mut Vec<String>) -> Option<String> {
    raw_text(record, member, ignored).map(|value| value.trim().to_owned())
}

/// An absolute http(s) address: what the feed gives is shown to citizens as a link, so a
/// `javascript:` or relative one is not taken.
fn web_address(value: String) -> Option<String> {
    reqwest::Url::parse(&value)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some())
        .map(|_| value)
}

/// An id: a string or a number.
fn identifier(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(id) => Some(id.trim().to_owned()).filter(|id| !id.is_empty()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// RFC 3339, or a date or date-time without zone (taken as UTC).
fn parse_date(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Some(at.with_timezone(&Utc));
    }
    if let Ok(at) = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(at.and_utc());
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc())
}

/// A list of texts; items may be strings or `{name}` objects.
fn names(record: &Value, member: &str, ignored: &mut Vec<String>) -> Vec<String> {
    let items = match record.get(member) {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => {
            ignored.push(member.to_owned());
            return Vec::new();
        }
    };
    let mut out: Vec<String> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let name = match item {
            Value::String(name) => Some(name.as_str()),
            Value::Object(object) => object.get("name").and_then(Value::as_str),
            _ => None,
        }
        .map(|name| name.trim().to_owned());
        match name {
            Some(name) if !name.is_empty() => {
                if !out.contains(&name) {
                    out.push(name);
                }
            }
            _ => ignored.push(format!("{member}/{index}")),
        }
    }
    out
}

/// Maps one record; the error says why it cannot be imported.
pub fn parse_record(record: &Value) -> Result<FeedRecord, String> {
    if !record.is_object() {
        return Err("not a JSON object".into());
    }
    let mut ignored = Vec::new();
    let name = text(record, "name", &mut ignored);
    let url = text(record, "url", &mut ignored);
    let (name, url) = match (name, url) {
        (Some(name), Some(url)) => (name, url),
        (None, Some(_)) => return Err("no `name`".into()),
        (Some(_), None) => return Err("no `url`".into()),
        (None, None) => return Err("no `name` nor `url`".into()),
    };
    let url = web_address(url).ok_or("`url` is not an http(s) address")?;
    let external_id = identifier(record.get("id")).unwrap_or_else(|| url.clone());
    let updated_at = text(record, "date", &mut ignored).and_then(|date| {
        let parsed = parse_date(&date);
        if parsed.is_none() {
            ignored.push("date".into());
        }
        parsed
    });
    let organization = match record.get("organization") {
        None | Some(Value::Null) => None,
        Some(organization @ Value::Object(_)) => {
            let mut inner = Vec::new();
            let found = text(organization, "name", &mut inner).map(|name| FeedOrganization {
                id: identifier(organization.get("id")),
                name,
                url: text(organization, "url", &mut inner).and_then(|url| {
                    let address = web_address(url);
                    if address.is_none() {
                        inner.push("url".into());
                    }
                    address
                }),
            });
            if found.is_none() {
                inner.push("name".into());
            }
            ignored.extend(inner.into_iter().map(|m| format!("organization/{m}")));
            found
        }
        Some(_) => {
            ignored.push("organization".into());
            None
        }
    };
    Ok(FeedRecord {
        external_id,
        // Markdown, kept as sent: its whitespace may matter.
        description: raw_text(record, "description", &mut ignored)
            .unwrap_or_default()
            .to_owned(),
        popular_names: names(record, "popular_names", &mut ignored),
        keywords: names(record, "keywords", &mut ignored),
        name,
        url,
        updated_at,
        organization,
        ignored,
    })
}

/// What a feed import did.
#[derive(Debug, Default)]
pub struct FeedReport {
    pub records: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Records not imported, with why (by record label).
    pub skipped: Vec<(String, String)>,
    /// Records the database refused, with why.
    pub failed: Vec<(String, String)>,
    /// Members ignored, by record.
    pub ignored: Vec<(String, String)>,
    /// Rules a record breaks; it is imported as its source published it, and reported.
    pub invalid: Vec<(String, FieldError)>,
    /// Services of the source its feed no longer lists: archived.
    pub archived: usize,
}

impl FeedReport {
    /// A human-readable report, one line per problem, then the totals.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (record, reason) in &self.skipped {
            out.push_str(&format!("SKIPPED  {record}: {reason}\n"));
        }
        for (record, reason) in &self.failed {
            out.push_str(&format!("FAILED   {record}: {reason}\n"));
        }
        for (record, error) in &self.invalid {
            out.push_str(&format!(
                "INVALID  {record}: {} {}\n",
                error.pointer, error.message
            ));
        }
        for (record, member) in &self.ignored {
            out.push_str(&format!("IGNORED  {record}: {member}\n"));
        }
        out.push_str(&format!(
            "{} records: {} created, {} updated, {} unchanged, {} skipped, {} failed; \
             {} rule violations; {} archived (no longer in the feed)\n",
            self.records,
            self.created,
            self.updated,
            self.unchanged,
            self.skipped.len(),
            self.failed.len(),
            self.invalid.len(),
            self.archived,
        ));
        out
    }
}

fn is_url(location: &str) -> bool {
    location.starts_with("http://") || location.starts_with("https://")
}

async fn fetch(url: &str) -> Result<Vec<u8>, FeedError> {
    let failed = |e: reqwest::Error| FeedError::Fetch(url.to_owned(), e.to_string());
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(300))
        .user_agent(concat!("carta/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(failed)?;
    let mut response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(failed)?
        .error_for_status()
        .map_err(failed)?;
    if response
        .content_length()
        .is_some_and(|length| length > MAX_FEED_BYTES)
    {
        return Err(FeedError::TooLarge);
    }
    // Read by chunks: a server that lies about the length, or sends none, is cut at the limit.
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        if (body.len() + chunk.len()) as u64 > MAX_FEED_BYTES {
            return Err(FeedError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn read_file(path: &Path) -> Result<Vec<u8>, FeedError> {
    let label = path.display().to_string();
    let length = std::fs::metadata(path)
        .map_err(|e| FeedError::Read(label.clone(), e))?
        .len();
    if length > MAX_FEED_BYTES {
        return Err(FeedError::TooLarge);
    }
    std::fs::read(path).map_err(|e| FeedError::Read(label, e))
}

/// The feed's records, from a URL (`http://` or `https://`) or a file.
pub async fn read_feed(location: &str) -> Result<Vec<Value>, FeedError> {
    let bytes = if is_url(location) {
        fetch(location).await?
    } else {
        read_file(Path::new(location))?
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Array(records)) => Ok(records),
        Ok(_) => Err(FeedError::Format("the top level is not an array".into())),
        Err(e) => Err(FeedError::Format(e.to_string())),
    }
}

fn label(index: usize, record: &Value) -> String {
    match identifier(record.get("id")) {
        Some(id) => format!("record {} (id {id})", index + 1),
        None => format!("record {}", index + 1),
    }
}

/// Imports the feed at `location` (a URL or a file) as `options.source`.
pub async fn import_govbr_feed(
    conn: &mut AsyncPgConnection,
    options: &FeedImport<'_>,
    location: &str,
) -> Result<FeedReport, FeedError> {
    let source = options.source;
    if !is_valid_slug(source) || source.len() > SOURCE_MAX {
        return Err(FeedError::BadSource(source.to_owned()));
    }
    let records = read_feed(location).await?;
    let mut report = FeedReport {
        records: records.len(),
        ..FeedReport::default()
    };
    // Every external id the feed names, imported or not: only services it no longer lists are
    // archived, never those of a record that failed this time.
    let mut present: Vec<String> = Vec::with_capacity(records.len());
    for (index, raw) in records.iter().enumerate() {
        let label = label(index, raw);
        if let Some(id) = identifier(raw.get("id")) {
            present.push(id);
        }
        let record = match parse_record(raw) {
            Ok(record) => record,
            Err(reason) => {
                report.skipped.push((label, reason));
                continue;
            }
        };
        if !present.contains(&record.external_id) {
            present.push(record.external_id.clone());
        }
        report.ignored.extend(
            record
                .ignored
                .iter()
                .map(|member| (label.clone(), member.clone())),
        );
        let (provider, provider_slug) = match (&record.organization, options.default_organization) {
            (Some(organization), _) => (
                FeedProvider::Named {
                    external_id: organization.id.clone(),
                    name: organization.name.clone(),
                    website: organization.url.clone(),
                    sphere: options.sphere,
                },
                Some(slugify(&organization.name)).filter(|slug| !slug.is_empty()),
            ),
            (None, Some(slug)) => (FeedProvider::Existing(slug.to_owned()), None),
            (None, None) => {
                report.skipped.push((
                    label,
                    "names no organization (give a default one with --organization)".into(),
                ));
                continue;
            }
        };
        let provider_slug = provider_slug.unwrap_or_else(|| source.to_owned());
        let slug = Some(slugify(&record.name))
            .filter(|slug| !slug.is_empty())
            .unwrap_or_else(|| format!("servico-{source}"));
        let draft = ServiceDraft {
            form: ServiceForm {
                slug,
                // Replaced by the stored provider's slug when saved.
                organization: match &provider {
                    FeedProvider::Existing(slug) => slug.clone(),
                    FeedProvider::Named { .. } => provider_slug.clone(),
                },
                content: ServiceContent {
                    name: record.name,
                    description: record.description,
                    popular_names: record.popular_names,
                    keywords: record.keywords,
                    ..ServiceContent::default()
                },
                segments: Vec::new(),
                topics: Vec::new(),
                life_events: Vec::new(),
                municipalities: Vec::new(),
                related_services: Vec::new(),
                locations: Vec::new(),
            },
            // The source portal shows them: they are public there.
            status: ServiceStatus::Published,
            source: Some(SourceRef {
                source: source.to_owned(),
                external_id: record.external_id,
                url: Some(record.url),
                updated_at: record.updated_at,
            }),
        };
        report
            .invalid
            .extend(super::rule_violations(&label, &draft.form));
        match federation::save_feed_service(conn, &provider, &provider_slug, &draft, raw).await {
            Ok(saved) => match saved.outcome {
                Outcome::Created => report.created += 1,
                Outcome::Updated => report.updated += 1,
                Outcome::Unchanged => report.unchanged += 1,
            },
            Err(StoreError::Unavailable(e)) => return Err(StoreError::Unavailable(e).into()),
            Err(e) => report.failed.push((label, e.to_string())),
        }
    }
    // An empty feed is more likely a fault of the source than the end of its catalogue.
    if !records.is_empty() {
        report.archived = federation::archive_dropped(conn, source, &present).await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn maps_a_full_record() {
        let record = parse_record(&json!({
            "id": 42, "name": " Alvará de funcionamento ", "description": "Licença.",
            "url": "https://cuiaba.mt.gov.br/servicos/alvara", "date": "2026-03-01",
            "organization": {"name": "Secretaria de Economia", "id": "sme", "url": "https://sme"},
            "popular_names": [{"name": "Alvará"}, "Licença", {"name": " "}],
            "keywords": ["alvará", 7]
        }))
        .unwrap();
        assert_eq!(record.external_id, "42");
        assert_eq!(record.name, "Alvará de funcionamento");
        assert_eq!(record.popular_names, vec!["Alvará", "Licença"]);
        assert_eq!(record.keywords, vec!["alvará"]);
        assert_eq!(
            record.updated_at.map(|at| at.to_rfc3339()),
            Some("2026-03-01T00:00:00+00:00".to_owned())
        );
        assert_eq!(
            record.organization.map(|o| o.id),
            Some(Some("sme".to_owned()))
        );
        assert_eq!(record.ignored, vec!["popular_names/2", "keywords/1"]);
    }

    #[test]
    fn the_url_keys_a_record_without_id_and_name_and_url_are_required() {
        let record = parse_record(&json!({"name": "A", "url": "https://x/a"})).unwrap();
        assert_eq!(record.external_id, "https://x/a");
        assert!(parse_record(&json!({"name": "A"})).is_err());
        assert!(parse_record(&json!({"url": "https://x/a", "name": "  "})).is_err());
        assert!(parse_record(&json!(["not", "an", "object"])).is_err());
        for link in ["javascript:alert(1)", "/servicos/a", "ftp://x/a"] {
            assert!(
                parse_record(&json!({"name": "A", "url": link})).is_err(),
                "{link}"
            );
        }
        let org = parse_record(&json!({"name": "A", "url": "https://x/a",
            "organization": {"name": "B", "url": "javascript:alert(1)"}}))
        .unwrap();
        assert_eq!(org.organization.unwrap().url, None);
        assert_eq!(org.ignored, vec!["organization/url"]);
        let bad_date =
            parse_record(&json!({"name": "A", "url": "https://x/u", "date": "ontem"})).unwrap();
        assert_eq!(bad_date.updated_at, None);
        assert_eq!(bad_date.ignored, vec!["date"]);
    }
}
