//! Where services are offered: municipalities (IBGE) and service units.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A geographic point (WGS 84).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GeoPoint {
    #[schema(example = -15.601)]
    pub lat: f64,
    #[schema(example = -56.097)]
    pub lon: f64,
}

/// A municipality by its 7-digit IBGE code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Municipality {
    #[schema(example = 5103403)]
    pub ibge_code: i32,
    #[schema(example = "Cuiabá")]
    pub name: String,
    /// Two-letter state code.
    #[schema(example = "MT")]
    pub state: String,
    pub point: GeoPoint,
    pub is_capital: bool,
}

/// A link to a municipality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MunicipalityRef {
    pub ibge_code: i32,
    pub name: String,
    pub state: String,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// One opening interval, local time "HH:MM".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OpeningHours {
    pub weekday: Weekday,
    #[schema(example = "07:00")]
    pub opens: String,
    #[schema(example = "19:00")]
    pub closes: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct Address {
    pub street: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complement: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// CEP, digits only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
}

/// A service unit to be stored (unidade de atendimento).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LocationDraft {
    /// Stable id, so services can name their units.
    pub id: Uuid,
    /// Slug of the organization that runs it.
    pub organization: String,
    pub name: String,
    pub address: Address,
    pub municipality: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<GeoPoint>,
    #[serde(default)]
    pub opening_hours: Vec<OpeningHours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accessibility: Option<String>,
    /// Sector responsible on site (Lei 13.460 art. 6 VI b).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responsible_sector: Option<String>,
}

/// A service unit as the public reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Location {
    pub id: Uuid,
    pub organization: crate::organization::OrganizationSummary,
    pub name: String,
    pub address: Address,
    pub municipality: MunicipalityRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<GeoPoint>,
    pub opening_hours: Vec<OpeningHours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accessibility: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responsible_sector: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A service unit in a list: with its distance when the list was asked for units `near` a point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LocationListItem {
    #[serde(flatten)]
    pub location: Location,
    /// Great-circle distance from the `near` point in km, rounded to 10 m; only when `near` is
    /// given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 1.23)]
    pub distance_km: Option<f64>,
}

/// How a service names its units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LocationSummary {
    pub id: Uuid,
    pub name: String,
    pub municipality: MunicipalityRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<GeoPoint>,
}
