DROP TRIGGER search_synonyms_touch ON search_synonyms;
DROP FUNCTION touch_search_synonyms();
ALTER TABLE search_synonyms DROP COLUMN updated_at;
