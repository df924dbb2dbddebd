//! Loads the sample Mato Grosso catalogue (see `seed/README.md`) into a database.

use diesel_async::AsyncPgConnection;

use crate::seed_data::{self, SeedData};
use crate::writes::{self, OrganizationKey};
use crate::StoreError;

/// What the seed stored.
#[derive(Debug, Default, Clone, Copy)]
pub struct SeedReport {
    pub municipalities: usize,
    pub organizations: usize,
    pub topics: usize,
    pub life_events: usize,
    pub locations: usize,
    pub services: usize,
}

pub fn data() -> Result<SeedData, StoreError> {
    seed_data::load().map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Stores the sample catalogue; running it again changes nothing.
pub async fn run(conn: &mut AsyncPgConnection) -> Result<SeedReport, StoreError> {
    let data = data()?;
    writes::save_municipalities(conn, &data.municipalities).await?;
    for organization in &data.organizations {
        writes::save_organization(conn, organization, OrganizationKey::Slug, true).await?;
    }
    for topic in &data.topics {
        writes::save_topic(conn, topic).await?;
    }
    for life_event in &data.life_events {
        writes::save_life_event(conn, life_event).await?;
    }
    for location in &data.locations {
        writes::save_location(conn, location).await?;
    }
    let mut saved = Vec::with_capacity(data.services.len());
    for service in &data.services {
        saved.push(writes::save_service(conn, service).await?.id);
    }
    for (service, id) in data.services.iter().zip(saved) {
        let missing =
            writes::save_related_services(conn, id, &service.form.related_services).await?;
        if let Some(slug) = missing.first() {
            return Err(StoreError::MissingReference {
                what: "service",
                key: slug.clone(),
            });
        }
    }
    Ok(SeedReport {
        municipalities: data.municipalities.len(),
        organizations: data.organizations.len(),
        topics: data.topics.len(),
        life_events: data.life_events.len(),
        locations: data.locations.len(),
        services: data.services.len(),
    })
}
