DROP TABLE search_synonyms;
DROP TRIGGER services_changes ON services;
DROP TRIGGER organizations_changes ON organizations;
DROP TRIGGER topics_changes ON topics;
DROP TRIGGER life_events_changes ON life_events;
DROP FUNCTION record_catalogue_change();
DROP TABLE catalogue_changes;
