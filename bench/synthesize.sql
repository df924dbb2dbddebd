-- A synthetic catalogue for benchmarks: copies of the imported federal services, each published by
-- a municipality ("Obter passaporte comum em Sorriso", Prefeitura de Sorriso), until the catalogue
-- holds :total published services. Realistic in the ways search cost depends on: real texts,
-- many near-duplicates per topic, thousands of organizations and municipalities to facet on.
\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE base AS
    SELECT id, slug, name, content, free, digital, row_number() OVER (ORDER BY slug) AS n
    FROM services WHERE status = 'published' AND source = 'govbr';
CREATE TEMP TABLE munis AS
    SELECT ibge_code, name, state, row_number() OVER (ORDER BY ibge_code) - 1 AS n FROM municipalities;
CREATE TEMP TABLE plan AS
    SELECT b.id AS base_id, g AS copy, gen_random_uuid() AS new_id, m.ibge_code, m.name AS muni_name, m.state
    FROM base b
    CROSS JOIN generate_series(1, 1000) g
    JOIN munis m ON m.n = (b.n * 7919 + g * 104729) % (SELECT count(*) FROM munis)
    ORDER BY g, b.n
    LIMIT greatest(0, :total - (SELECT count(*) FROM services WHERE status = 'published'));
INSERT INTO organizations (slug, name, kind, sphere, branch, ibge_code)
    SELECT DISTINCT 'prefeitura-' || ibge_code, 'Prefeitura de ' || muni_name || ' (' || state || ')',
        'municipality', 'municipal', 'executive', ibge_code
    FROM plan
ON CONFLICT (slug) DO NOTHING;
INSERT INTO services (id, slug, organization_id, status, name, free, digital, statewide, content,
                      fingerprint, published_at)
    SELECT p.new_id, rtrim(left(b.slug, 170), '-') || '-' || p.ibge_code || '-' || p.copy, o.id, 'published',
        left(b.name || ' em ' || p.muni_name, 150), b.free, b.digital, false,
        jsonb_set(b.content, '{name}', to_jsonb(left(b.name || ' em ' || p.muni_name, 150))),
        'synthetic', now()
    FROM plan p
    JOIN base b ON b.id = p.base_id
    JOIN organizations o ON o.slug = 'prefeitura-' || p.ibge_code;
INSERT INTO service_topics SELECT p.new_id, l.topic_id FROM plan p JOIN service_topics l ON l.service_id = p.base_id;
INSERT INTO service_segments SELECT p.new_id, l.segment_code FROM plan p JOIN service_segments l ON l.service_id = p.base_id;
INSERT INTO service_channel_types SELECT p.new_id, l.channel_type FROM plan p JOIN service_channel_types l ON l.service_id = p.base_id;
INSERT INTO service_life_events SELECT p.new_id, l.life_event_id FROM plan p JOIN service_life_events l ON l.service_id = p.base_id;
INSERT INTO service_municipalities SELECT new_id, ibge_code FROM plan;
COMMIT;
ANALYZE;
SELECT count(*) AS published_services FROM services WHERE status = 'published';
