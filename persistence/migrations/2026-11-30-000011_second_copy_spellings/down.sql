UPDATE search_synonyms
SET terms = '{"segunda via","2ª via","2a via",reemissão,"nova via"}'::text[]
WHERE terms = '{"segunda via","2ª via","2a via",reemissão,"nova via","2º via"}'::text[];
