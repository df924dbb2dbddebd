//! Revisions: the immutable record of every change to a service (who, when, why, what).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::service::{ServiceForm, ServiceStatus};
use crate::workflow::Action;

/// A revision without its form, as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RevisionSummary {
    /// 1 for the first revision, then one more for each change.
    pub number: i32,
    /// State of the editable version after this change.
    pub status: ServiceStatus,
    pub action: Action,
    /// Top-level fields of the form this change altered.
    pub changed_fields: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The token's subject: a client id or a person at the identity provider.
    pub author: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The service's organization when the change was made.
    pub organization_id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// A revision with the whole form it recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Revision {
    #[serde(flatten)]
    pub summary: RevisionSummary,
    pub form: ServiceForm,
}

/// One field that differs between two revisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FieldChange {
    pub field: String,
    /// Absent when the field was not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// The differences between two forms, field by field (top-level fields, in name order).
pub fn diff(before: &Value, after: &Value) -> Vec<FieldChange> {
    let empty = serde_json::Map::new();
    let before = before.as_object().unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    let mut fields: Vec<&String> = before.keys().chain(after.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|field| before.get(*field) != after.get(*field))
        .map(|field| FieldChange {
            field: field.clone(),
            before: before.get(field).cloned(),
            after: after.get(field).cloned(),
        })
        .collect()
}

/// Names of the top-level fields that differ.
pub fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    diff(before, after)
        .into_iter()
        .map(|change| change.field)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_lists_changed_added_and_removed_fields() {
        let before = serde_json::json!({"name": "A", "keywords": ["x"], "acronym": "AB"});
        let after = serde_json::json!({"name": "B", "keywords": ["x"], "free": true});
        assert_eq!(
            changed_fields(&before, &after),
            vec!["acronym", "free", "name"]
        );
        let changes = diff(&before, &after);
        assert_eq!(changes[0].after, None);
        assert_eq!(changes[1].before, None);
    }
}
