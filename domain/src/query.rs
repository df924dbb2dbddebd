//! What a reader may ask of the service list: filters that combine with AND, sort and page.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::taxonomy::{ChannelTypeCode, SegmentCode};

pub const MAX_PER_PAGE: u32 = 100;
pub const DEFAULT_PER_PAGE: u32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceSort {
    /// Alphabetical by name (the default).
    #[default]
    Name,
    /// Most recently updated first.
    Updated,
    /// Best match first: only with a search text, and then the default.
    Relevance,
    /// Most viewed first (service page views of the last 30 days), then by name; in a search,
    /// equally viewed matches by relevance.
    Popular,
}

/// Filters of the public list; `None` means "any".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceFilter {
    /// Organization id or slug.
    pub organization: Option<String>,
    /// Topic slug; includes its sub-topics.
    pub topic: Option<String>,
    pub life_event: Option<String>,
    pub segment: Option<SegmentCode>,
    /// IBGE code: services offered there, including statewide ones.
    pub municipality: Option<i32>,
    pub channel: Option<ChannelTypeCode>,
    pub free: Option<bool>,
    pub digital: Option<bool>,
    /// Only services whose public version changed after this instant (incremental sync).
    pub modified_after: Option<chrono::DateTime<chrono::Utc>>,
}

/// A page request, already within limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

impl PageRequest {
    pub fn offset(self) -> i64 {
        i64::from(self.page.saturating_sub(1)) * i64::from(self.per_page)
    }

    /// Number of pages for `total` items (at least 1, so page 1 of nothing exists).
    pub fn last_page(self, total: i64) -> u32 {
        let per_page = i64::from(self.per_page.max(1));
        let pages = (total + per_page - 1) / per_page;
        u32::try_from(pages.max(1)).unwrap_or(u32::MAX)
    }
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}
