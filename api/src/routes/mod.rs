pub mod answers;
pub mod audit;
pub mod auth;
pub mod changes;
pub mod docs;
pub mod editing;
pub mod exports;
pub mod health;
pub mod opinion;
pub mod organizations;
pub mod places;
pub mod popular;
pub mod reference_writes;
pub mod search;
pub mod services;
pub(crate) mod support;
pub mod taxonomies;
pub mod webhooks;

use utoipa_actix_web::{scope, service_config::ServiceConfig};

/// Every documented route, in one place: the app and the OpenAPI document are built from it.
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(health::live)
        .service(health::ready)
        .service(auth::jwks)
        .service(
            scope::scope("/v1")
                .service(auth::token)
                .service(services::list_services)
                .service(editing::create_service)
                // Before `/services/{id_or_slug}`, which would take `popular` for a slug.
                .service(popular::popular_services)
                .service(services::get_service)
                .service(places::list_service_locations)
                .service(editing::delete_service)
                .service(editing::get_draft)
                .service(editing::put_draft)
                .service(editing::patch_draft)
                .service(editing::submit_service)
                .service(editing::publish_service)
                .service(editing::archive_service)
                .service(editing::restore_service)
                .service(editing::list_revisions)
                .service(editing::get_revision)
                .service(editing::diff_revisions)
                .service(editing::rollback_service)
                .service(opinion::post_feedback)
                .service(opinion::post_rating)
                .service(opinion::service_opinion)
                .service(audit::list_audit)
                .service(search::suggest)
                .service(search::list_synonym_groups)
                .service(reference_writes::create_synonym_group)
                .service(search::get_synonym_group)
                .service(reference_writes::replace_synonym_group)
                .service(reference_writes::patch_synonym_group)
                .service(reference_writes::delete_synonym_group)
                .service(organizations::list_organizations)
                .service(reference_writes::create_organization)
                .service(organizations::get_organization)
                .service(reference_writes::replace_organization)
                .service(reference_writes::patch_organization)
                .service(reference_writes::delete_organization)
                .service(opinion::organization_opinion)
                .service(opinion::organization_panel)
                .service(opinion::organization_feedback)
                .service(opinion::organization_ratings)
                .service(taxonomies::list_topics)
                .service(reference_writes::create_topic)
                .service(taxonomies::get_topic)
                .service(reference_writes::replace_topic)
                .service(reference_writes::patch_topic)
                .service(reference_writes::delete_topic)
                .service(taxonomies::list_life_events)
                .service(reference_writes::create_life_event)
                .service(taxonomies::get_life_event)
                .service(reference_writes::replace_life_event)
                .service(reference_writes::patch_life_event)
                .service(reference_writes::delete_life_event)
                .service(taxonomies::list_segments)
                .service(taxonomies::list_channel_types)
                .service(places::list_municipalities)
                .service(places::get_municipality)
                .service(reference_writes::replace_municipality)
                .service(reference_writes::patch_municipality)
                .service(reference_writes::delete_municipality)
                .service(places::list_locations)
                .service(reference_writes::create_location)
                .service(places::get_location)
                .service(reference_writes::replace_location)
                .service(reference_writes::patch_location)
                .service(reference_writes::delete_location)
                // The bulk answers are streamed, so `http_caching` leaves them alone: they are
                // compressed on the fly instead.
                .service(
                    scope::scope("/federation")
                        .wrap(actix_web::middleware::Compress::default())
                        .service(exports::govbr_feed),
                )
                .service(
                    scope::scope("/export")
                        .wrap(actix_web::middleware::Compress::default())
                        .service(exports::export_ndjson)
                        .service(exports::export_csv),
                )
                .service(changes::list_changes)
                .service(webhooks::create_webhook)
                .service(webhooks::list_webhooks)
                .service(webhooks::get_webhook)
                .service(webhooks::delete_webhook)
                .service(webhooks::list_deliveries),
        );
}
