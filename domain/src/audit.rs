//! The audit log as admins read it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// One write: who made it, acting for whom, on what, in which request.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The token's subject: a client id or a person at the identity provider.
    pub actor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    pub role: String,
    /// The organization the target belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<Uuid>,
    /// E.g. `service.publish`, `client.create`.
    #[schema(example = "service.publish")]
    pub action: String,
    #[schema(example = "service")]
    pub target_type: String,
    pub target_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// What changed (field names, states); never secrets or tokens.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// Filters of the audit log; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub organization_id: Option<Uuid>,
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}
