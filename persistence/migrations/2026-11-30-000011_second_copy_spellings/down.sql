UPDATE search_synonyms
SET terms = array_remove(array_remove(array_remove(terms, '2º via'), '2o via'), '2 via')
WHERE terms @> '{"segunda via","2ª via"}'::text[];
