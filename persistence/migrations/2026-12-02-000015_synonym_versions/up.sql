-- Synonym groups are written through the API, with versions (ETag) as every other record.
ALTER TABLE search_synonyms ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
UPDATE search_synonyms SET updated_at = created_at;

-- The version moves with every change, also one made in SQL (as the vocabulary migrations make
-- them): an admin holding an older ETag then gets 412 instead of overwriting it. The API sets
-- its own, later, time.
CREATE FUNCTION touch_search_synonyms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD AND NEW.updated_at = OLD.updated_at THEN
        NEW.updated_at := greatest(now(), OLD.updated_at + interval '1 microsecond');
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER search_synonyms_touch BEFORE UPDATE ON search_synonyms
    FOR EACH ROW EXECUTE FUNCTION touch_search_synonyms();
