-- The naive PostgreSQL baseline the search design is measured against: ranked full-text search,
-- `ts_rank` over a GIN-indexed tsvector of name and description (kept out of TOAST, its best case).
\set ON_ERROR_STOP on
ALTER TABLE services ADD COLUMN IF NOT EXISTS naive_tsv tsvector
    GENERATED ALWAYS AS (to_tsvector('portuguese', name || ' ' || coalesce(content ->> 'description', ''))) STORED;
ALTER TABLE services ALTER COLUMN naive_tsv SET STORAGE MAIN;
CREATE INDEX IF NOT EXISTS services_naive_tsv ON services USING gin (naive_tsv);
ANALYZE services;
