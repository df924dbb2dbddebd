-- What citizens call three situations, found by an audit of their searches on the federal
-- catalogue. A dismissed worker searches for "rescisão" (of the contract); the services speak of
-- dismissal and unemployment.
UPDATE search_synonyms
SET terms = terms || '{rescisão}'::text[]
WHERE terms = '{demitido,demissão,"dispensa sem justa causa",desempregado}'::text[];
-- The access-to-information law is known by its acronym; migrants' card by its old and new ones.
-- A refused benefit is "negado" to the citizen and "indeferido" to the agency.
INSERT INTO search_synonyms (terms, note)
SELECT new.terms, new.note
FROM (VALUES
    ('{lai,"lei de acesso à informação","acesso à informação"}'::text[], 'Lei de Acesso à Informação'),
    ('{crnm,"carteira de registro nacional migratório","carteira de registro migratório",rne,"registro nacional de estrangeiro"}'::text[], 'Carteira de Registro Nacional Migratório'),
    ('{negado,negada,indeferido,indeferimento}'::text[], NULL)
) AS new (terms, note)
WHERE NOT EXISTS (SELECT 1 FROM search_synonyms WHERE terms && new.terms);
