-- Federation: services imported from another portal's feed keep the record as the source sent it,
-- and the providers such a feed names are matched by the source's own id for them.
ALTER TABLE services ADD COLUMN source_data jsonb;

ALTER TABLE organizations ADD COLUMN external_id text;
ALTER TABLE organizations ADD CONSTRAINT organizations_source_external_id UNIQUE (source, external_id);
ALTER TABLE organizations ADD CONSTRAINT organizations_external_id_has_source
    CHECK (external_id IS NULL OR source IS NOT NULL);
