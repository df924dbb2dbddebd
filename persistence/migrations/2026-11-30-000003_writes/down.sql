DROP TABLE audit_log;
DROP TABLE service_old_slugs;
DROP TABLE service_revisions;
DROP FUNCTION refuse_revision_change();
ALTER TABLE services DROP COLUMN revision;
DROP TABLE signing_keys;
DROP TABLE api_clients;
