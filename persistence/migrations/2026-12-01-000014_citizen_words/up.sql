-- What citizens call a few things, found by an audit of their searches on the federal
-- catalogue. A dismissed worker searches for "rescisão" (of the contract); the services speak of
-- dismissal and unemployment.
UPDATE search_synonyms
SET terms = terms || '{rescisão}'::text[]
WHERE terms = '{demitido,demissão,"dispensa sem justa causa",desempregado}'::text[];
-- The reservist's certificate comes from the military service.
UPDATE search_synonyms
SET terms = terms || '{reservista,"alistamento militar"}'::text[]
WHERE terms = '{exército,"forças armadas","serviço militar"}'::text[];
-- The access-to-information law is known by its acronym; migrants' card by its old and new ones.
-- A refused benefit is "negado" to the citizen and "indeferido" to the agency; a company is opened
-- by its CNPJ registration.
INSERT INTO search_synonyms (terms, note)
SELECT new.terms, new.note
FROM (VALUES
    ('{lai,"lei de acesso à informação","acesso à informação"}'::text[], 'Lei de Acesso à Informação'),
    ('{crnm,"carteira de registro nacional migratório","carteira de registro migratório",rne,"registro nacional de estrangeiro"}'::text[], 'Carteira de Registro Nacional Migratório'),
    ('{negado,negada,indeferido,indeferimento}'::text[], NULL),
    ('{"abrir empresa","abertura de empresa","inscrever pessoa jurídica","inscrição no cnpj"}'::text[], 'Abertura de empresa')
) AS new (terms, note)
WHERE NOT EXISTS (SELECT 1 FROM search_synonyms WHERE terms && new.terms);
