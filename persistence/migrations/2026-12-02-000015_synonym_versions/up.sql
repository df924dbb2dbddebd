-- Synonym groups are written through the API, with versions (ETag) as every other record.
ALTER TABLE search_synonyms ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
UPDATE search_synonyms SET updated_at = created_at;
