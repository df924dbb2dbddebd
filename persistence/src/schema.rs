// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "xid8", schema = "pg_catalog"))]
    pub struct Xid8;
}

diesel::table! {
    api_clients (id) {
        id -> Uuid,
        client_id -> Text,
        name -> Text,
        role -> Text,
        organization_id -> Nullable<Uuid>,
        secret_hash -> Text,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Int8,
        at -> Timestamptz,
        actor -> Text,
        client_id -> Nullable<Text>,
        role -> Text,
        organization_id -> Nullable<Uuid>,
        action -> Text,
        target_type -> Text,
        target_id -> Text,
        request_id -> Nullable<Text>,
        detail -> Jsonb,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Xid8;

    catalogue_changes (id) {
        id -> Int8,
        xid -> Xid8,
        entity -> Text,
        entity_id -> Text,
        changed_at -> Timestamptz,
    }
}

diesel::table! {
    channel_types (code) {
        code -> Text,
        name -> Text,
        govbr_name -> Text,
    }
}

diesel::table! {
    feed_clock (only_row) {
        only_row -> Bool,
        position -> Int8,
    }
}

diesel::table! {
    life_events (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    locations (id) {
        id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        street -> Text,
        number -> Nullable<Text>,
        complement -> Nullable<Text>,
        district -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        municipality -> Int4,
        lat -> Nullable<Float8>,
        lon -> Nullable<Float8>,
        opening_hours -> Jsonb,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        accessibility -> Nullable<Text>,
        responsible_sector -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    municipalities (ibge_code) {
        ibge_code -> Int4,
        name -> Text,
        state -> Text,
        lat -> Float8,
        lon -> Float8,
        is_capital -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    organizations (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        acronym -> Nullable<Text>,
        kind -> Text,
        sphere -> Text,
        branch -> Text,
        parent_id -> Nullable<Uuid>,
        siorg_code -> Nullable<Text>,
        ibge_code -> Nullable<Int4>,
        cnpj -> Nullable<Text>,
        description -> Nullable<Text>,
        contact -> Nullable<Text>,
        website -> Nullable<Text>,
        ombudsman_url -> Nullable<Text>,
        source -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        external_id -> Nullable<Text>,
    }
}

diesel::table! {
    public_changes (id) {
        id -> Int8,
        position -> Nullable<Int8>,
        resource -> Text,
        resource_id -> Uuid,
        slug -> Nullable<Text>,
        event -> Text,
        operation -> Text,
        occurred_at -> Timestamptz,
    }
}

diesel::table! {
    related_services (service_id, related_id) {
        service_id -> Uuid,
        related_id -> Uuid,
        position -> Int4,
    }
}

diesel::table! {
    search_synonyms (id) {
        id -> Int4,
        terms -> Array<Nullable<Text>>,
        note -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    segments (code) {
        code -> Text,
        name -> Text,
        govbr_name -> Text,
    }
}

diesel::table! {
    service_channel_types (service_id, channel_type) {
        service_id -> Uuid,
        channel_type -> Text,
    }
}

diesel::table! {
    service_feedback (id) {
        id -> Int8,
        service_id -> Uuid,
        useful -> Bool,
        reason -> Nullable<Text>,
        comment -> Nullable<Text>,
        sender -> Nullable<Bytea>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    service_life_events (service_id, life_event_id) {
        service_id -> Uuid,
        life_event_id -> Uuid,
    }
}

diesel::table! {
    service_locations (service_id, location_id) {
        service_id -> Uuid,
        location_id -> Uuid,
        position -> Int4,
    }
}

diesel::table! {
    service_municipalities (service_id, ibge_code) {
        service_id -> Uuid,
        ibge_code -> Int4,
    }
}

diesel::table! {
    service_old_slugs (slug) {
        slug -> Text,
        service_id -> Uuid,
        retired_at -> Timestamptz,
    }
}

diesel::table! {
    service_opinion (service_id) {
        service_id -> Uuid,
        useful -> Int4,
        not_useful -> Int4,
        ratings -> Int4,
        stars_sum -> Int4,
        version -> Int8,
    }
}

diesel::table! {
    service_popularity (service_id) {
        service_id -> Uuid,
        score -> Int8,
        refreshed_on -> Date,
    }
}

diesel::table! {
    service_ratings (id) {
        id -> Int8,
        service_id -> Uuid,
        stars -> Int2,
        channel -> Text,
        comment -> Nullable<Text>,
        with_protocol -> Bool,
        sender -> Nullable<Bytea>,
        protocol -> Nullable<Bytea>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    service_revisions (service_id, number) {
        service_id -> Uuid,
        number -> Int4,
        status -> Text,
        action -> Text,
        form -> Jsonb,
        changed_fields -> Array<Nullable<Text>>,
        reason -> Nullable<Text>,
        author -> Text,
        client_id -> Nullable<Text>,
        organization_id -> Uuid,
        request_id -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    service_segments (service_id, segment_code) {
        service_id -> Uuid,
        segment_code -> Text,
    }
}

diesel::table! {
    service_topics (service_id, topic_id) {
        service_id -> Uuid,
        topic_id -> Uuid,
    }
}

diesel::table! {
    service_views (service_id, day) {
        service_id -> Uuid,
        day -> Date,
        views -> Int8,
    }
}

diesel::table! {
    services (id) {
        id -> Uuid,
        slug -> Text,
        organization_id -> Uuid,
        status -> Text,
        name -> Text,
        free -> Nullable<Bool>,
        digital -> Bool,
        statewide -> Bool,
        content -> Jsonb,
        fingerprint -> Text,
        source -> Nullable<Text>,
        external_id -> Nullable<Text>,
        source_url -> Nullable<Text>,
        source_updated_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        published_at -> Nullable<Timestamptz>,
        revision -> Int4,
        source_data -> Nullable<Jsonb>,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        algorithm -> Text,
        private_key -> Bytea,
        public_key -> Bytea,
        created_at -> Timestamptz,
        retired_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    topics (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        description -> Nullable<Text>,
        parent_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Int8,
        subscription_id -> Uuid,
        delivery_id -> Uuid,
        position -> Int8,
        event -> Text,
        attempt -> Int4,
        status_code -> Nullable<Int4>,
        error -> Nullable<Text>,
        duration_ms -> Int4,
        at -> Timestamptz,
    }
}

diesel::table! {
    webhook_subscriptions (id) {
        id -> Uuid,
        owner -> Text,
        url -> Text,
        events -> Array<Nullable<Text>>,
        secret -> Text,
        cursor -> Int8,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        lease_token -> Nullable<Uuid>,
        leased_until -> Nullable<Timestamptz>,
        created_by -> Text,
        created_at -> Timestamptz,
        disabled_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(api_clients -> organizations (organization_id));
diesel::joinable!(locations -> municipalities (municipality));
diesel::joinable!(locations -> organizations (organization_id));
diesel::joinable!(organizations -> municipalities (ibge_code));
diesel::joinable!(service_channel_types -> channel_types (channel_type));
diesel::joinable!(service_channel_types -> services (service_id));
diesel::joinable!(service_life_events -> life_events (life_event_id));
diesel::joinable!(service_life_events -> services (service_id));
diesel::joinable!(service_feedback -> services (service_id));
diesel::joinable!(service_locations -> locations (location_id));
diesel::joinable!(service_locations -> services (service_id));
diesel::joinable!(service_municipalities -> municipalities (ibge_code));
diesel::joinable!(service_municipalities -> services (service_id));
diesel::joinable!(service_old_slugs -> services (service_id));
diesel::joinable!(service_opinion -> services (service_id));
diesel::joinable!(service_popularity -> services (service_id));
diesel::joinable!(service_ratings -> services (service_id));
diesel::joinable!(service_revisions -> services (service_id));
diesel::joinable!(service_segments -> segments (segment_code));
diesel::joinable!(service_segments -> services (service_id));
diesel::joinable!(service_topics -> services (service_id));
diesel::joinable!(service_topics -> topics (topic_id));
diesel::joinable!(service_views -> services (service_id));
diesel::joinable!(services -> organizations (organization_id));
diesel::joinable!(webhook_deliveries -> webhook_subscriptions (subscription_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_clients,
    audit_log,
    catalogue_changes,
    channel_types,
    feed_clock,
    life_events,
    locations,
    municipalities,
    organizations,
    public_changes,
    related_services,
    search_synonyms,
    segments,
    service_channel_types,
    service_feedback,
    service_life_events,
    service_locations,
    service_municipalities,
    service_old_slugs,
    service_opinion,
    service_popularity,
    service_ratings,
    service_revisions,
    service_segments,
    service_topics,
    service_views,
    services,
    signing_keys,
    topics,
    webhook_deliveries,
    webhook_subscriptions,
);
