-- What citizens call two services, found by an audit of their searches on the federal catalogue.
-- "Atestado de bons antecedentes" is the common name of the criminal record certificate.
UPDATE search_synonyms
SET terms = terms || '{"bons antecedentes"}'::text[]
WHERE terms = '{"antecedentes criminais","atestado de antecedentes","folha corrida","nada consta criminal"}'::text[];
-- A donor searches for donation; the service speaks of transplants ("Receber doação de livros"
-- came first, its description mentioning "órgãos oficiais").
INSERT INTO search_synonyms (terms, note)
SELECT '{"doação de órgãos","doador de órgãos","transplante de órgãos"}'::text[], 'Doação de órgãos'
WHERE NOT EXISTS (
    SELECT 1 FROM search_synonyms
    WHERE terms && '{"doação de órgãos","doador de órgãos","transplante de órgãos"}'::text[]
);
-- Groups an instance's administrators already changed keep their own terms.
