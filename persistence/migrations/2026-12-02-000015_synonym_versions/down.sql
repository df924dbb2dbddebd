ALTER TABLE search_synonyms DROP COLUMN updated_at;
