-- The catalogue: providers, taxonomies, places and services.
-- Closed vocabularies are text with CHECK constraints (or reference tables filled by the
-- application from the domain's enums), so the database refuses what the code would.

CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE municipalities (
    ibge_code  integer PRIMARY KEY CHECK (ibge_code BETWEEN 1000000 AND 9999999),
    name       text COLLATE "pt-BR-x-icu" NOT NULL CHECK (btrim(name) <> ''),
    state      text NOT NULL CHECK (state ~ '^[A-Z]{2}$'),
    lat        double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon        double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    is_capital boolean NOT NULL DEFAULT false
);
CREATE INDEX municipalities_state_name ON municipalities (state, name);

CREATE TABLE segments (
    code       text PRIMARY KEY CHECK (code ~ '^[a-z_]+$'),
    name       text NOT NULL,
    govbr_name text NOT NULL UNIQUE
);

CREATE TABLE channel_types (
    code       text PRIMARY KEY CHECK (code ~ '^[a-z_]+$'),
    name       text NOT NULL,
    govbr_name text NOT NULL UNIQUE
);

CREATE TABLE organizations (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug          text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 200),
    name          text COLLATE "pt-BR-x-icu" NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 300),
    acronym       text CHECK (length(acronym) <= 30),
    kind          text NOT NULL CHECK (kind IN ('direct_administration', 'autarchy', 'foundation',
                      'public_company', 'mixed_capital_company', 'municipality', 'concessionaire',
                      'private_company', 'service_hub', 'other')),
    sphere        text NOT NULL CHECK (sphere IN ('federal', 'state', 'municipal', 'private')),
    branch        text NOT NULL CHECK (branch IN ('executive', 'legislative', 'judiciary',
                      'public_prosecution', 'public_defender', 'audit_court', 'none')),
    parent_id     uuid REFERENCES organizations (id) ON DELETE SET NULL CHECK (parent_id <> id),
    siorg_code    text UNIQUE CHECK (siorg_code ~ '^[0-9]+$'),
    ibge_code     integer REFERENCES municipalities (ibge_code),
    cnpj          text UNIQUE CHECK (cnpj ~ '^[0-9]{14}$'),
    description   text,
    contact       text,
    website       text,
    ombudsman_url text,
    source        text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organizations_name ON organizations (name);
CREATE INDEX organizations_parent ON organizations (parent_id);

CREATE TABLE topics (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 200),
    name        text COLLATE "pt-BR-x-icu" NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 150),
    description text,
    parent_id   uuid REFERENCES topics (id) ON DELETE RESTRICT CHECK (parent_id <> id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX topics_parent ON topics (parent_id);

CREATE TABLE life_events (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 200),
    name        text COLLATE "pt-BR-x-icu" NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 150),
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE locations (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id    uuid NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
    name               text COLLATE "pt-BR-x-icu" NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 200),
    street             text NOT NULL,
    number             text,
    complement         text,
    district           text,
    postal_code        text CHECK (postal_code ~ '^[0-9]{8}$'),
    municipality       integer NOT NULL REFERENCES municipalities (ibge_code),
    lat                double precision CHECK (lat BETWEEN -90 AND 90),
    lon                double precision CHECK (lon BETWEEN -180 AND 180),
    opening_hours      jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(opening_hours) = 'array'),
    phone              text,
    email              text,
    accessibility      text,
    responsible_sector text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((lat IS NULL) = (lon IS NULL))
);
CREATE INDEX locations_municipality ON locations (municipality);
CREATE INDEX locations_organization ON locations (organization_id);

CREATE TABLE services (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug              text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 200),
    organization_id   uuid NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
    status            text NOT NULL CHECK (status IN ('draft', 'in_review', 'published', 'archived')),
    -- Copied out of `content` for sorting and filtering; the application keeps them in step.
    name              text COLLATE "pt-BR-x-icu" NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 150),
    free              boolean,
    digital           boolean NOT NULL,
    statewide         boolean NOT NULL DEFAULT true,
    -- The editor's text and nested parts (steps × documents/costs/channels × cases), always read and
    -- written whole: see domain::service::ServiceContent.
    content           jsonb NOT NULL CHECK (jsonb_typeof(content) = 'object'
                          AND jsonb_typeof(content -> 'steps') = 'array'),
    -- Hash of everything stored for the service, so re-imports can tell "unchanged" cheaply.
    fingerprint       text NOT NULL,
    source            text,
    external_id       text,
    source_url        text,
    source_updated_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    published_at      timestamptz,
    UNIQUE (source, external_id),
    CHECK ((source IS NULL) = (external_id IS NULL)),
    CHECK (status <> 'published' OR published_at IS NOT NULL)
);
-- Public lists read only published services, sorted by name or by last update.
CREATE INDEX services_published_name ON services (name, id) WHERE status = 'published';
CREATE INDEX services_published_updated ON services (updated_at DESC, id) WHERE status = 'published';
CREATE INDEX services_organization ON services (organization_id, status);
CREATE INDEX services_free ON services (free) WHERE status = 'published';
CREATE INDEX services_digital ON services (digital) WHERE status = 'published';

CREATE TABLE service_topics (
    service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    topic_id   uuid NOT NULL REFERENCES topics (id) ON DELETE RESTRICT,
    PRIMARY KEY (service_id, topic_id)
);
CREATE INDEX service_topics_topic ON service_topics (topic_id, service_id);

CREATE TABLE service_life_events (
    service_id    uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    life_event_id uuid NOT NULL REFERENCES life_events (id) ON DELETE RESTRICT,
    PRIMARY KEY (service_id, life_event_id)
);
CREATE INDEX service_life_events_life_event ON service_life_events (life_event_id, service_id);

CREATE TABLE service_segments (
    service_id   uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    segment_code text NOT NULL REFERENCES segments (code),
    PRIMARY KEY (service_id, segment_code)
);
CREATE INDEX service_segments_segment ON service_segments (segment_code, service_id);

-- Derived from the channels of the steps, for the `channel` filter.
CREATE TABLE service_channel_types (
    service_id   uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    channel_type text NOT NULL REFERENCES channel_types (code),
    PRIMARY KEY (service_id, channel_type)
);
CREATE INDEX service_channel_types_type ON service_channel_types (channel_type, service_id);

-- Where a service is offered when it is not statewide.
CREATE TABLE service_municipalities (
    service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    ibge_code  integer NOT NULL REFERENCES municipalities (ibge_code),
    PRIMARY KEY (service_id, ibge_code)
);
CREATE INDEX service_municipalities_municipality ON service_municipalities (ibge_code, service_id);

CREATE TABLE service_locations (
    service_id  uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    location_id uuid NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    position    integer NOT NULL CHECK (position >= 0),
    PRIMARY KEY (service_id, location_id)
);
CREATE INDEX service_locations_location ON service_locations (location_id);

CREATE TABLE related_services (
    service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    related_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    position   integer NOT NULL CHECK (position >= 0),
    PRIMARY KEY (service_id, related_id),
    CHECK (service_id <> related_id)
);
CREATE INDEX related_services_related ON related_services (related_id);
