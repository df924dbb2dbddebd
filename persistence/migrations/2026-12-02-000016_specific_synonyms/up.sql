-- Bare "habilitação" in the driving licence's group made "cnh" find every other "habilitação"
-- (an aircraft mechanic's, a technical one for energy auctions): "cnh rg" listed none of the
-- licence services. The licence is a "carteira de habilitação"; "habilitação" typed alone still
-- finds it by its name.
-- A group an instance's administrators already changed keeps its own terms.
UPDATE search_synonyms
SET terms = array_replace(terms, 'habilitação', 'carteira de habilitação')
WHERE terms = '{cnh,"carteira nacional de habilitação","carteira de motorista","carta de motorista","habilitação"}'::text[];
