-- Service units are shown in service pages and lists that instances cache: their changes join the
-- change log so every instance drops what it rendered from them.
ALTER TABLE catalogue_changes DROP CONSTRAINT catalogue_changes_entity_check;
ALTER TABLE catalogue_changes ADD CONSTRAINT catalogue_changes_entity_check
    CHECK (entity IN ('service', 'organization', 'topic', 'life_event', 'synonym', 'municipality', 'location'));
CREATE TRIGGER locations_changes AFTER INSERT OR UPDATE OR DELETE ON locations
    FOR EACH ROW EXECUTE FUNCTION record_catalogue_change('location');
