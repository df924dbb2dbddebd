-- The write side: API clients and Carta's signing keys (authentication), service revisions (the
-- record of who changed what, when and why), old slugs (redirects) and the audit log.

-- Partner machine clients (OAuth 2.0 client credentials). Only an Argon2 hash of the secret is kept.
CREATE TABLE api_clients (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id       text NOT NULL UNIQUE CHECK (client_id ~ '^[a-z0-9_-]{8,64}$'),
    name            text NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 200),
    role            text NOT NULL CHECK (role IN ('admin', 'publisher', 'editor', 'reader')),
    organization_id uuid REFERENCES organizations (id) ON DELETE RESTRICT,
    secret_hash     text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    -- Every role but the platform's admin acts for one organization.
    CHECK (role = 'admin' OR organization_id IS NOT NULL)
);

-- Carta's own token-signing keys (Ed25519). The newest unretired key signs; retired keys still
-- verify the tokens they signed until those expire, and are published in the JWKS until then.
CREATE TABLE signing_keys (
    kid         text PRIMARY KEY,
    algorithm   text NOT NULL CHECK (algorithm = 'EdDSA'),
    private_key bytea NOT NULL,
    public_key  bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);

-- The editable version of a service is its newest revision; `services` holds what the public
-- sees (the last published version once there is one).
ALTER TABLE services ADD COLUMN revision integer NOT NULL DEFAULT 0 CHECK (revision >= 0);

-- Every change to a service, immutable: the whole editable form after the change.
CREATE TABLE service_revisions (
    service_id      uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    number          integer NOT NULL CHECK (number >= 1),
    status          text NOT NULL CHECK (status IN ('draft', 'in_review', 'published', 'archived')),
    action          text NOT NULL CHECK (action IN ('create', 'update', 'submit', 'publish', 'archive',
                        'restore', 'rollback')),
    form            jsonb NOT NULL CHECK (jsonb_typeof(form) = 'object'),
    changed_fields  text[] NOT NULL DEFAULT '{}',
    reason          text CHECK (length(reason) <= 500),
    author          text NOT NULL,
    client_id       text,
    organization_id uuid NOT NULL,
    request_id      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, number)
);
CREATE FUNCTION refuse_revision_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'service revisions are immutable';
END $$;
CREATE TRIGGER service_revisions_immutable BEFORE UPDATE ON service_revisions
    FOR EACH ROW EXECUTE FUNCTION refuse_revision_change();

-- Slugs a service was published under: the public endpoint redirects them to the current one.
CREATE TABLE service_old_slugs (
    slug       text PRIMARY KEY,
    service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    retired_at timestamptz NOT NULL DEFAULT now()
);

-- Every write, with who did it and for whom. Never holds secrets or tokens.
CREATE TABLE audit_log (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor           text NOT NULL,
    client_id       text,
    role            text NOT NULL,
    organization_id uuid,
    action          text NOT NULL,
    target_type     text NOT NULL,
    target_id       text NOT NULL,
    request_id      text,
    detail          jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor ON audit_log (actor, at DESC);
CREATE INDEX audit_log_organization ON audit_log (organization_id, at DESC);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id, at DESC);

-- Municipalities are now written through the API too: their names feed search facets, so their
-- changes join the change log (one row per statement: a load of all 5,570 is one change).
ALTER TABLE catalogue_changes DROP CONSTRAINT catalogue_changes_entity_check;
ALTER TABLE catalogue_changes ADD CONSTRAINT catalogue_changes_entity_check
    CHECK (entity IN ('service', 'organization', 'topic', 'life_event', 'synonym', 'municipality'));
CREATE FUNCTION record_municipalities_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO catalogue_changes (entity, entity_id) VALUES ('municipality', '*');
    RETURN NULL;
END
$$;
CREATE TRIGGER municipalities_changes AFTER INSERT OR UPDATE OR DELETE ON municipalities
    FOR EACH STATEMENT EXECUTE FUNCTION record_municipalities_change();
