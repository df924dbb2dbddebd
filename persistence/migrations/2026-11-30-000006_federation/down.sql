ALTER TABLE organizations DROP CONSTRAINT organizations_external_id_has_source;
ALTER TABLE organizations DROP CONSTRAINT organizations_source_external_id;
ALTER TABLE organizations DROP COLUMN external_id;
ALTER TABLE services DROP COLUMN source_data;
