UPDATE search_synonyms
SET terms = array_replace(terms, 'carteira de habilitação', 'habilitação')
WHERE terms = '{cnh,"carteira nacional de habilitação","carteira de motorista","carta de motorista","carteira de habilitação"}'::text[];
