-- Every write to a resource the public can see, recorded by triggers in the writer's transaction, so
-- in-process copies (the search index) can follow the catalogue from any instance.
-- `xid` is what makes following gap-free: a reader that has seen every change below a snapshot's
-- xmin knows no transaction below it can still commit (a plain sequence cannot tell that: numbers
-- are taken before commit, so a lower one may appear after a higher one was read).
CREATE TABLE catalogue_changes (
    id         bigserial PRIMARY KEY,
    xid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    entity     text NOT NULL CHECK (entity IN ('service', 'organization', 'topic', 'life_event', 'synonym')),
    entity_id  text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX catalogue_changes_xid ON catalogue_changes (xid);

CREATE FUNCTION record_catalogue_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO catalogue_changes (entity, entity_id)
    VALUES (TG_ARGV[0], (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER services_changes AFTER INSERT OR UPDATE OR DELETE ON services
    FOR EACH ROW EXECUTE FUNCTION record_catalogue_change('service');
CREATE TRIGGER organizations_changes AFTER INSERT OR UPDATE OR DELETE ON organizations
    FOR EACH ROW EXECUTE FUNCTION record_catalogue_change('organization');
CREATE TRIGGER topics_changes AFTER INSERT OR UPDATE OR DELETE ON topics
    FOR EACH ROW EXECUTE FUNCTION record_catalogue_change('topic');
CREATE TRIGGER life_events_changes AFTER INSERT OR UPDATE OR DELETE ON life_events
    FOR EACH ROW EXECUTE FUNCTION record_catalogue_change('life_event');

-- Search vocabulary, maintained as data: each row is a group of expressions citizens use for the
-- same thing (acronyms, official and common names). A query containing one also finds the others.
-- Add a row to extend it; running instances pick it up within seconds.
CREATE TABLE search_synonyms (
    id         serial PRIMARY KEY,
    terms      text[] NOT NULL CHECK (cardinality(terms) >= 2 AND array_position(terms, NULL) IS NULL),
    note       text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER search_synonyms_changes AFTER INSERT OR UPDATE OR DELETE ON search_synonyms
    FOR EACH ROW EXECUTE FUNCTION record_catalogue_change('synonym');

INSERT INTO search_synonyms (terms, note) VALUES
    ('{rg,"carteira de identidade","cédula de identidade","carteira nacional de identidade",cin}', 'Identidade civil'),
    ('{cnh,"carteira nacional de habilitação","carteira de motorista","carta de motorista","habilitação"}', 'Habilitação para dirigir'),
    ('{cpf,"cadastro de pessoas físicas","cadastro de pessoa física"}', NULL),
    ('{cnpj,"cadastro nacional da pessoa jurídica","cadastro nacional de pessoa jurídica"}', NULL),
    ('{ipva,"imposto sobre a propriedade de veículos automotores","imposto do carro","imposto do veículo"}', NULL),
    ('{iptu,"imposto predial e territorial urbano","imposto predial"}', NULL),
    ('{itr,"imposto territorial rural","imposto sobre a propriedade territorial rural"}', NULL),
    ('{irpf,"imposto de renda","imposto de renda pessoa física","leão"}', NULL),
    ('{icms,"imposto sobre circulação de mercadorias"}', NULL),
    ('{mei,"microempreendedor individual","micro empreendedor individual"}', NULL),
    ('{cadúnico,"cadastro único","cad único"}', 'Cadastro Único para Programas Sociais'),
    ('{nis,"número de identificação social"}', NULL),
    ('{inss,"instituto nacional do seguro social","previdência social"}', NULL),
    ('{fgts,"fundo de garantia","fundo de garantia do tempo de serviço"}', NULL),
    ('{ctps,"carteira de trabalho","carteira de trabalho e previdência social","carteira profissional"}', NULL),
    ('{pis,pasep,"pis/pasep","abono salarial"}', 'Quem diz "PIS" quase sempre procura o abono salarial'),
    ('{cnis,"cadastro nacional de informações sociais","extrato previdenciário"}', NULL),
    ('{sus,"sistema único de saúde"}', NULL),
    ('{"cartão sus","cartão nacional de saúde",cns}', NULL),
    ('{samu,"serviço de atendimento móvel de urgência"}', NULL),
    ('{enem,"exame nacional do ensino médio"}', NULL),
    ('{encceja,supletivo,"exame nacional para certificação de competências de jovens e adultos"}', NULL),
    ('{enade,"exame nacional de desempenho dos estudantes"}', NULL),
    ('{fies,"financiamento estudantil","fundo de financiamento estudantil"}', NULL),
    ('{sisu,"sistema de seleção unificada"}', NULL),
    ('{prouni,"programa universidade para todos"}', NULL),
    ('{bpc,loas,"benefício de prestação continuada"}', NULL),
    ('{darf,"documento de arrecadação de receitas federais"}', NULL),
    ('{gru,"guia de recolhimento da união"}', NULL),
    ('{crlv,"documento do carro","documento do veículo","licenciamento"}', NULL),
    ('{detran,"departamento estadual de trânsito"}', NULL),
    ('{dpvat,"seguro obrigatório"}', NULL),
    ('{cat,"comunicação de acidente de trabalho"}', NULL),
    ('{pronaf,"programa nacional de fortalecimento da agricultura familiar"}', NULL),
    ('{"segunda via","2ª via","2a via","reemissão","nova via"}', NULL),
    ('{"auxílio doença","auxílio por incapacidade temporária","benefício por incapacidade"}', 'Nome antigo e nome atual'),
    ('{"seguro desemprego","seguro-desemprego"}', NULL),
    ('{"antecedentes criminais","atestado de antecedentes","folha corrida","nada consta criminal"}', NULL),
    ('{"título de eleitor","título eleitoral"}', NULL),
    ('{"boletim de ocorrência",bo,"registro de ocorrência","ocorrência policial"}', NULL),
    ('{"nota fiscal",nfe,"nf-e","nota fiscal eletrônica"}', NULL),
    ('{"salário maternidade","licença maternidade","auxílio maternidade"}', NULL),
    ('{"restituição","devolução do imposto"}', NULL),
    ('{"emprego","vaga de emprego",sine}', NULL),
    ('{"ouvidoria","reclamação"}', NULL),
    ('{"assistência jurídica gratuita","advogado gratuito","defensoria pública"}', NULL),
    -- Everyday words for what services call otherwise.
    ('{grátis,"de graça",gratuito,gratuidade,"sem custo"}', NULL),
    ('{carro,veículo,automóvel}', NULL),
    ('{moto,motocicleta}', NULL),
    ('{faculdade,universidade,"ensino superior",graduação}', NULL),
    ('{"curso técnico","ensino técnico","curso profissionalizante"}', NULL),
    ('{exército,"forças armadas","serviço militar"}', NULL),
    ('{mudar,alterar,trocar,atualizar}', NULL),
    ('{abrir,criar,inscrever,cadastrar}', NULL),
    ('{roubado,roubo,furtado,furto}', NULL),
    ('{perdi,perda,extravio,extraviado}', NULL),
    ('{multa,infração,autuação,"auto de infração"}', NULL),
    ('{recorrer,contestar,recurso,impugnar}', NULL),
    ('{"informe de rendimentos","comprovante de rendimentos"}', NULL),
    ('{deficiente,"pessoa com deficiência",pcd}', NULL),
    ('{idoso,"pessoa idosa","terceira idade"}', NULL),
    ('{passagem,bilhete,"passe livre"}', NULL),
    ('{empréstimo,financiamento,crédito}', NULL),
    ('{exterior,"fora do país","morando fora","mora fora"}', NULL),
    ('{"violência doméstica","violência contra a mulher","violência contra mulheres","maria da penha"}', NULL),
    ('{remédio,medicamento}', NULL),
    ('{médico,consulta}', NULL),
    ('{escola,colégio,"ensino fundamental","ensino médio"}', NULL),
    ('{casa,moradia,habitação,imóvel}', NULL),
    ('{dinheiro,valor,saque,sacar}', NULL),
    ('{demitido,demissão,"dispensa sem justa causa",desempregado}', NULL),
    ('{grávida,gestante,gravidez}', NULL),
    ('{bebê,recém-nascido,nascimento}', NULL),
    ('{morte,óbito,falecimento}', NULL),
    ('{casamento,casar,matrimônio}', NULL),
    ('{estrangeiro,imigrante,migrante}', NULL);
