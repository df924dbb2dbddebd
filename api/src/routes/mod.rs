pub mod docs;
pub mod health;
pub mod organizations;
pub mod places;
pub mod search;
pub mod services;
pub mod taxonomies;

use utoipa_actix_web::{scope, service_config::ServiceConfig};

/// Every documented route, in one place: the app and the OpenAPI document are built from it.
pub fn configure(config: &mut ServiceConfig) {
    config.service(health::live).service(health::ready).service(
        scope::scope("/v1")
            .service(services::list_services)
            .service(services::get_service)
            .service(search::suggest)
            .service(organizations::list_organizations)
            .service(organizations::get_organization)
            .service(taxonomies::list_topics)
            .service(taxonomies::list_life_events)
            .service(taxonomies::list_segments)
            .service(taxonomies::list_channel_types)
            .service(places::list_municipalities)
            .service(places::list_locations)
            .service(places::get_location),
    );
}
