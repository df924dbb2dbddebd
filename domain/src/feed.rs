//! The public change feed and the webhook subscriptions that follow it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// One change to the public catalogue, as stored (the feed position is the storage's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Commit order, gap-free.
    pub position: i64,
    /// `service`, `organization`, `location`, `topic` or `life_event`.
    pub resource: String,
    pub id: Uuid,
    pub slug: Option<String>,
    pub event: String,
    /// `upsert` or `delete`.
    pub operation: String,
    pub occurred_at: DateTime<Utc>,
}

impl Change {
    /// The public address of the resource, as of this change.
    pub fn href(&self) -> String {
        let collection = match self.resource.as_str() {
            "service" => "services",
            "organization" => "organizations",
            "location" => "locations",
            "topic" => "topics",
            _ => "life-events",
        };
        // Unique to this change: no HTTP cache (nor this instance's memory) can answer it with
        // the copy from before it.
        format!("/v1/{collection}/{}?change={}", self.id, self.position)
    }
}

/// Every event the feed carries.
pub const EVENTS: &[&str] = &[
    "service.published",
    "service.updated",
    "service.archived",
    "service.deleted",
    "organization.created",
    "organization.updated",
    "organization.deleted",
    "location.created",
    "location.updated",
    "location.deleted",
    "topic.created",
    "topic.updated",
    "topic.deleted",
    "life_event.created",
    "life_event.updated",
    "life_event.deleted",
];

/// Resources, for `<resource>.*` patterns.
pub const RESOURCES: &[&str] = &["service", "organization", "location", "topic", "life_event"];

/// Whether `pattern` is `*`, `<resource>.*` or one of `EVENTS`.
pub fn is_known_pattern(pattern: &str) -> bool {
    pattern == "*"
        || EVENTS.contains(&pattern)
        || pattern
            .strip_suffix(".*")
            .is_some_and(|resource| RESOURCES.contains(&resource))
}

/// Whether any of the patterns selects the event.
pub fn matches(patterns: &[String], event: &str) -> bool {
    patterns.iter().any(|pattern| {
        pattern == "*"
            || pattern == event
            || pattern.strip_suffix(".*").is_some_and(|resource| {
                event
                    .strip_prefix(resource)
                    .is_some_and(|rest| rest.starts_with('.'))
            })
    })
}

/// A partner's subscription, as its owner and admins read it (never with its secret).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WebhookSubscription {
    pub id: Uuid,
    /// The partner it belongs to (a token subject: client id or person).
    pub owner: String,
    #[schema(example = "https://parceiro.example.org/carta/webhook")]
    pub url: String,
    /// Event patterns: `*`, `service.*`, or exact events such as `service.published`.
    #[schema(example = json!(["service.*"]))]
    pub events: Vec<String>,
    /// Failed attempts at the entry now due; 0 when delivery is up to date or on track.
    pub failed_attempts: i32,
    /// When the next attempt is due.
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WebhookDelivery {
    /// The `Carta-Delivery` (and `Idempotency-Key`) header: the same for every retry of an event.
    pub delivery_id: Uuid,
    pub event: String,
    /// The attempt's number for this event, from 1.
    pub attempt: i32,
    /// The receiver's HTTP status; absent when no response came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<i32>,
    /// Why no response came (connection refused, timeout...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: i32,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_select_events() {
        let patterns = vec!["service.*".to_owned(), "topic.created".to_owned()];
        assert!(matches(&patterns, "service.archived"));
        assert!(matches(&patterns, "topic.created"));
        assert!(!matches(&patterns, "topic.updated"));
        assert!(!matches(&["servic.*".to_owned()], "service.updated"));
        assert!(matches(&["*".to_owned()], "life_event.deleted"));
        assert!(is_known_pattern("life_event.*") && is_known_pattern("*"));
        assert!(!is_known_pattern("service.created") && !is_known_pattern("services.*"));
    }
}
