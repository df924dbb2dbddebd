-- "2º via": the masculine ordinal, often typed for the feminine one ("2ª via"). ("2o via" reads
-- the same once folded; "2 via" is left out, as it would also match "em 2 vias", two copies.)
-- A group an instance's administrators already changed keeps its own terms.
UPDATE search_synonyms
SET terms = terms || '{"2º via"}'::text[]
WHERE terms = '{"segunda via","2ª via","2a via",reemissão,"nova via"}'::text[];
