-- A group an instance's administrators already changed keeps its own terms.
DELETE FROM search_synonyms
WHERE terms = '{"regularizar cpf","regularização do cpf","cpf suspenso","cpf irregular","cpf pendente","cpf pendente de regularização"}'::text[];
