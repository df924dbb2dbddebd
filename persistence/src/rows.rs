//! Row structs: private to this crate, converted to domain types here.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::organization::{
    Branch, ExternalCodes, Organization, OrganizationKind, OrganizationSummary, Sphere,
};
use domain::place::{Address, GeoPoint, Location, LocationSummary, Municipality, MunicipalityRef};
use domain::service::{ServiceContent, ServiceStatus, ServiceSummary, SourceRef};
use uuid::Uuid;

use crate::schema::{locations, municipalities, organizations, services};
use crate::StoreError;

/// A `jsonb` column as its JSON text, parsed once straight into the type that reads it rather
/// than into a `serde_json::Value` first: building the search index reads every service, and the
/// detour through `Value` was a third of reading them.
#[derive(Debug, Clone, diesel::deserialize::FromSqlRow)]
pub(crate) struct JsonText(Vec<u8>);

impl diesel::deserialize::FromSql<diesel::sql_types::Jsonb, diesel::pg::Pg> for JsonText {
    fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
        // The binary form of jsonb is a version byte, then the JSON text.
        match value.as_bytes().split_first() {
            Some((1, json)) => Ok(JsonText(json.to_vec())),
            _ => Err("unsupported jsonb encoding version".into()),
        }
    }
}

impl JsonText {
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, StoreError> {
        Ok(serde_json::from_slice(&self.0)?)
    }
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what} `{value}`"))
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = organizations, check_for_backend(diesel::pg::Pg))]
pub(crate) struct OrganizationRow {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub acronym: Option<String>,
    pub kind: String,
    pub sphere: String,
    pub branch: String,
    pub parent_id: Option<Uuid>,
    pub siorg_code: Option<String>,
    pub ibge_code: Option<i32>,
    pub cnpj: Option<String>,
    pub description: Option<String>,
    pub contact: Option<String>,
    pub website: Option<String>,
    pub ombudsman_url: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl OrganizationRow {
    pub fn summary(&self) -> Result<OrganizationSummary, StoreError> {
        Ok(OrganizationSummary {
            id: self.id,
            slug: self.slug.clone(),
            name: self.name.clone(),
            acronym: self.acronym.clone(),
            sphere: Sphere::from_code(&self.sphere)
                .ok_or_else(|| corrupt("sphere", &self.sphere))?,
            ombudsman_url: self.ombudsman_url.clone(),
        })
    }

    pub fn into_organization(
        self,
        parent: Option<OrganizationSummary>,
        service_count: i64,
    ) -> Result<Organization, StoreError> {
        Ok(Organization {
            kind: OrganizationKind::from_code(&self.kind)
                .ok_or_else(|| corrupt("kind", &self.kind))?,
            sphere: Sphere::from_code(&self.sphere)
                .ok_or_else(|| corrupt("sphere", &self.sphere))?,
            branch: Branch::from_code(&self.branch)
                .ok_or_else(|| corrupt("branch", &self.branch))?,
            id: self.id,
            slug: self.slug,
            name: self.name,
            acronym: self.acronym,
            parent,
            codes: ExternalCodes {
                siorg: self.siorg_code,
                ibge: self.ibge_code,
                cnpj: self.cnpj,
            },
            description: self.description,
            contact: self.contact,
            website: self.website,
            ombudsman_url: self.ombudsman_url,
            service_count,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = services, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ServiceRow {
    pub id: Uuid,
    pub slug: String,
    pub organization_id: Uuid,
    pub status: String,
    pub revision: i32,
    pub digital: bool,
    pub statewide: bool,
    pub content: JsonText,
    pub source: Option<String>,
    pub external_id: Option<String>,
    pub source_url: Option<String>,
    pub source_updated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
}

impl ServiceRow {
    pub fn status(&self) -> Result<ServiceStatus, StoreError> {
        ServiceStatus::parse(&self.status).ok_or_else(|| corrupt("status", &self.status))
    }

    pub fn content(&self) -> Result<ServiceContent, StoreError> {
        self.content.parse()
    }

    pub fn source(&self) -> Option<SourceRef> {
        match (&self.source, &self.external_id) {
            (Some(source), Some(external_id)) => Some(SourceRef {
                source: source.clone(),
                external_id: external_id.clone(),
                url: self.source_url.clone(),
                updated_at: self.source_updated_at,
            }),
            _ => None,
        }
    }

    pub fn summary(&self, organization: OrganizationSummary) -> Result<ServiceSummary, StoreError> {
        self.summary_of(&self.content()?, organization)
    }

    /// The summary, from content the caller already parsed.
    pub fn summary_of(
        &self,
        content: &ServiceContent,
        organization: OrganizationSummary,
    ) -> Result<ServiceSummary, StoreError> {
        Ok(ServiceSummary {
            opinion: Default::default(),
            id: self.id,
            slug: self.slug.clone(),
            summary: domain::service::summarize(&content.description, 300),
            channel_types: content.channel_types(),
            name: content.name.clone(),
            acronym: content.acronym.clone(),
            popular_names: content.popular_names.clone(),
            organization,
            free: content.free,
            digital: self.digital,
            time_estimate: content.time_estimate.clone(),
            status: self.status()?,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = municipalities, check_for_backend(diesel::pg::Pg))]
pub(crate) struct MunicipalityRow {
    pub ibge_code: i32,
    pub name: String,
    pub state: String,
    pub lat: f64,
    pub lon: f64,
    pub is_capital: bool,
}

impl MunicipalityRow {
    pub fn reference(&self) -> MunicipalityRef {
        MunicipalityRef {
            ibge_code: self.ibge_code,
            name: self.name.clone(),
            state: self.state.clone(),
        }
    }
}

impl From<MunicipalityRow> for Municipality {
    fn from(row: MunicipalityRow) -> Self {
        Municipality {
            ibge_code: row.ibge_code,
            name: row.name,
            state: row.state,
            point: GeoPoint {
                lat: row.lat,
                lon: row.lon,
            },
            is_capital: row.is_capital,
        }
    }
}

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = locations, check_for_backend(diesel::pg::Pg))]
pub(crate) struct LocationRow {
    pub id: Uuid,
    pub name: String,
    pub street: String,
    pub number: Option<String>,
    pub complement: Option<String>,
    pub district: Option<String>,
    pub postal_code: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub opening_hours: serde_json::Value,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub accessibility: Option<String>,
    pub responsible_sector: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl LocationRow {
    fn point(&self) -> Option<GeoPoint> {
        match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => Some(GeoPoint { lat, lon }),
            _ => None,
        }
    }

    pub fn summary(&self, municipality: &MunicipalityRow) -> LocationSummary {
        LocationSummary {
            id: self.id,
            name: self.name.clone(),
            municipality: municipality.reference(),
            point: self.point(),
        }
    }

    pub fn into_location(
        self,
        organization: OrganizationSummary,
        municipality: &MunicipalityRow,
    ) -> Result<Location, StoreError> {
        Ok(Location {
            point: self.point(),
            id: self.id,
            organization,
            name: self.name,
            address: Address {
                street: self.street,
                number: self.number,
                complement: self.complement,
                district: self.district,
                postal_code: self.postal_code,
            },
            municipality: municipality.reference(),
            opening_hours: serde_json::from_value(self.opening_hours)?,
            phone: self.phone,
            email: self.email,
            accessibility: self.accessibility,
            responsible_sector: self.responsible_sector,
            updated_at: self.updated_at,
        })
    }
}
