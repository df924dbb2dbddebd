DROP TRIGGER municipalities_changes ON municipalities;
DROP FUNCTION record_municipalities_change();
DELETE FROM catalogue_changes WHERE entity = 'municipality';
ALTER TABLE catalogue_changes DROP CONSTRAINT catalogue_changes_entity_check;
ALTER TABLE catalogue_changes ADD CONSTRAINT catalogue_changes_entity_check
    CHECK (entity IN ('service', 'organization', 'topic', 'life_event', 'synonym'));
DROP TABLE audit_log;
DROP TABLE service_old_slugs;
DROP TABLE service_revisions;
DROP FUNCTION refuse_revision_change();
ALTER TABLE services DROP COLUMN revision;
DROP TABLE signing_keys;
DROP TABLE api_clients;
