-- "consulta" alone also found "consultar" (to look something up: "Consultar processo"), whose
-- stem it shares: a citizen searching "médico" wants a medical appointment.
UPDATE search_synonyms
SET terms = '{médico,"consulta médica"}'::text[]
WHERE terms = '{médico,consulta}'::text[];
-- The federal catalogue names the BPC "Benefício Assistencial à Pessoa com Deficiência" and
-- "ao Idoso".
UPDATE search_synonyms
SET terms = terms || '{"benefício assistencial"}'::text[]
WHERE terms = '{bpc,loas,"benefício de prestação continuada"}'::text[];
-- Groups an instance's administrators already changed keep their own terms.
