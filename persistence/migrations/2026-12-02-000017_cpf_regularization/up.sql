-- A citizen whose CPF is "suspenso", "irregular" or "pendente" searches for those words; the
-- service that fixes it is "Regularizar o CPF", which says none of them. (A cancelled or null
-- CPF is not regularized there: "cancelado" is left out.) Search reads a phrase of a group as the
-- group: `cpf irregular` lists that service, not every text that says "irregular".
INSERT INTO search_synonyms (terms, note)
SELECT new.terms, new.note
FROM (VALUES
    ('{"regularizar cpf","regularização do cpf","cpf suspenso","cpf irregular","cpf pendente","cpf pendente de regularização"}'::text[], 'Situação cadastral do CPF')
) AS new (terms, note)
WHERE NOT EXISTS (SELECT 1 FROM search_synonyms WHERE terms && new.terms);
