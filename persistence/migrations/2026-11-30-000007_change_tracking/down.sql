DROP TRIGGER municipalities_touch ON municipalities;
DROP FUNCTION touch_municipality();
ALTER TABLE municipalities DROP COLUMN updated_at;
DROP TRIGGER related_services_catalogue_changes ON related_services;
DROP FUNCTION record_related_service_links_change();
DROP TRIGGER locations_changes ON locations;
DELETE FROM catalogue_changes WHERE entity = 'location';
ALTER TABLE catalogue_changes DROP CONSTRAINT catalogue_changes_entity_check;
ALTER TABLE catalogue_changes ADD CONSTRAINT catalogue_changes_entity_check
    CHECK (entity IN ('service', 'organization', 'topic', 'life_event', 'synonym', 'municipality'));
