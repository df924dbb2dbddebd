-- Groups an instance's administrators already changed keep their own terms.
DELETE FROM search_synonyms
WHERE terms IN (
    '{lai,"lei de acesso à informação","acesso à informação"}'::text[],
    '{crnm,"carteira de registro nacional migratório","carteira de registro migratório",rne,"registro nacional de estrangeiro"}'::text[],
    '{negado,negada,indeferido,indeferimento}'::text[],
    '{"abrir empresa","abertura de empresa","inscrever pessoa jurídica","inscrição no cnpj"}'::text[]
);
UPDATE search_synonyms
SET terms = '{demitido,demissão,"dispensa sem justa causa",desempregado}'::text[]
WHERE terms = '{demitido,demissão,"dispensa sem justa causa",desempregado,rescisão}'::text[];
UPDATE search_synonyms
SET terms = '{exército,"forças armadas","serviço militar"}'::text[]
WHERE terms = '{exército,"forças armadas","serviço militar",reservista,"alistamento militar"}'::text[];
