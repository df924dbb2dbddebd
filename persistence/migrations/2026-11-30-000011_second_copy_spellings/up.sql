-- How citizens also write "2ª via": with the masculine ordinal (often typed for the feminine one)
-- or with the digit alone. An instance already edited by its administrators keeps its own terms.
UPDATE search_synonyms
SET terms = terms || '{"2º via","2o via","2 via"}'::text[]
WHERE terms @> '{"segunda via","2ª via"}'::text[]
  AND NOT terms && '{"2º via","2o via","2 via"}'::text[];
