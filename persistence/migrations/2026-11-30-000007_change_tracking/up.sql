-- Service units are shown in service pages and lists that instances cache: their changes join the
-- change log so every instance drops what it rendered from them.
ALTER TABLE catalogue_changes DROP CONSTRAINT catalogue_changes_entity_check;
ALTER TABLE catalogue_changes ADD CONSTRAINT catalogue_changes_entity_check
    CHECK (entity IN ('service', 'organization', 'topic', 'life_event', 'synonym', 'municipality', 'location'));
CREATE TRIGGER locations_changes AFTER INSERT OR UPDATE OR DELETE ON locations
    FOR EACH ROW EXECUTE FUNCTION record_catalogue_change('location');

-- A service's related services are written without touching its row: the page showing them must
-- still be dropped when they change.
CREATE FUNCTION record_related_service_links_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO catalogue_changes (entity, entity_id)
    VALUES ('service', (CASE WHEN TG_OP = 'DELETE' THEN OLD.service_id ELSE NEW.service_id END)::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER related_services_catalogue_changes AFTER INSERT OR UPDATE OR DELETE ON related_services
    FOR EACH ROW EXECUTE FUNCTION record_related_service_links_change();

-- Municipalities had no change time, so a client could not ask for those changed since its last
-- sync (`modified_after`). Loads (seed, IBGE updates) and API writes alike set it.
ALTER TABLE municipalities ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE FUNCTION touch_municipality() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER municipalities_touch BEFORE UPDATE ON municipalities
    FOR EACH ROW EXECUTE FUNCTION touch_municipality();
CREATE INDEX municipalities_updated ON municipalities (updated_at);
