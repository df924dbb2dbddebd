UPDATE search_synonyms
SET terms = '{bpc,loas,"benefício de prestação continuada"}'::text[]
WHERE terms = '{bpc,loas,"benefício de prestação continuada","benefício assistencial"}'::text[];
UPDATE search_synonyms
SET terms = '{médico,consulta}'::text[]
WHERE terms = '{médico,"consulta médica"}'::text[];
