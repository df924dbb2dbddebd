DELETE FROM search_synonyms
WHERE terms = '{"doação de órgãos","doador de órgãos","transplante de órgãos"}'::text[];
UPDATE search_synonyms
SET terms = '{"antecedentes criminais","atestado de antecedentes","folha corrida","nada consta criminal"}'::text[]
WHERE terms = '{"antecedentes criminais","atestado de antecedentes","folha corrida","nada consta criminal","bons antecedentes"}'::text[];
