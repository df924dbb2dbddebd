-- The public change feed (GET /v1/changes) and the webhooks' outbox: one entry per change a
-- client syncing the public catalogue must apply, written by triggers in the writer's transaction.
--
-- Entries are numbered in COMMIT order, without gaps: a row's `position` stays NULL while its
-- transaction runs and is stamped at commit (a deferred constraint trigger) from a one-row counter,
-- `feed_clock`. The counter's row lock is taken only at commit, so writers queue only for that
-- instant; PostgreSQL makes a commit visible before it releases its locks, so a reader that sees
-- position p also sees every position below it. A rolled-back transaction rolls its numbers back
-- with it (a sequence would leave holes). Nothing may be locked after the clock: it is last.
CREATE TABLE feed_clock (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    position bigint NOT NULL CHECK (position >= 0)
);
INSERT INTO feed_clock (position) VALUES (0);

CREATE TABLE public_changes (
    -- Order of the changes within their transaction.
    id          bigserial PRIMARY KEY,
    position    bigint UNIQUE,
    resource    text NOT NULL CHECK (resource IN ('service', 'organization', 'location', 'topic', 'life_event')),
    resource_id uuid NOT NULL,
    slug        text,
    event       text NOT NULL,
    operation   text NOT NULL CHECK (operation IN ('upsert', 'delete')),
    occurred_at timestamptz NOT NULL DEFAULT now()
);
-- The entries of the running transaction (other transactions' pending rows are invisible to it).
CREATE INDEX public_changes_pending ON public_changes (resource, resource_id) WHERE position IS NULL;

-- Records that a public resource changed. A resource changed twice in one transaction keeps one
-- entry: the last operation, and the more specific event of two upserts (`published`, `created`).
CREATE FUNCTION emit_public_change(changed_resource text, changed_id uuid, changed_slug text, action text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    new_event     text := changed_resource || '.' || action;
    new_operation text := CASE WHEN action IN ('archived', 'deleted') THEN 'delete' ELSE 'upsert' END;
    pending       public_changes%ROWTYPE;
BEGIN
    SELECT * INTO pending FROM public_changes
     WHERE position IS NULL AND resource = changed_resource AND resource_id = changed_id;
    IF pending.id IS NULL THEN
        INSERT INTO public_changes (resource, resource_id, slug, event, operation)
        VALUES (changed_resource, changed_id, changed_slug, new_event, new_operation);
        -- New entries need stamping, even if this transaction already stamped others.
        PERFORM set_config('carta.public_changes_stamped', '', true);
    ELSE
        IF new_operation = 'upsert' AND pending.operation = 'upsert' AND action = 'updated' THEN
            new_event := pending.event;
        END IF;
        UPDATE public_changes SET event = new_event, operation = new_operation, slug = changed_slug
         WHERE id = pending.id;
    END IF;
END
$$;

-- Fires at commit, once per entry queued; the first stamps them all, the others see the flag.
CREATE FUNCTION stamp_public_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pending bigint;
    last    bigint;
BEGIN
    IF current_setting('carta.public_changes_stamped', true) = 'on' THEN
        RETURN NULL;
    END IF;
    SELECT count(*) INTO pending FROM public_changes WHERE position IS NULL;
    IF pending > 0 THEN
        UPDATE feed_clock SET position = position + pending RETURNING position INTO last;
        UPDATE public_changes AS c
           SET position = last - pending + o.rank, occurred_at = clock_timestamp()
          FROM (SELECT id, row_number() OVER (ORDER BY id) AS rank
                  FROM public_changes WHERE position IS NULL) AS o
         WHERE c.id = o.id;
    END IF;
    PERFORM set_config('carta.public_changes_stamped', 'on', true);
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER public_changes_stamp AFTER INSERT ON public_changes
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION stamp_public_changes();

-- Published services whose public detail shows something that changed.
CREATE FUNCTION emit_services_updated(changed_ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    service record;
BEGIN
    FOR service IN SELECT id, slug FROM services
                    WHERE id = ANY (changed_ids) AND status = 'published' ORDER BY id
    LOOP
        PERFORM emit_public_change('service', service.id, service.slug, 'updated');
    END LOOP;
END
$$;

-- Services are public only while published. Draft saves only move `revision`: no entry.
CREATE FUNCTION record_service_public_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_public boolean := false;
    is_public  boolean := false;
BEGIN
    IF TG_OP <> 'INSERT' THEN was_public := OLD.status = 'published'; END IF;
    IF TG_OP <> 'DELETE' THEN is_public := NEW.status = 'published'; END IF;
    IF TG_OP = 'DELETE' THEN
        IF was_public THEN
            PERFORM emit_public_change('service', OLD.id, OLD.slug, 'deleted');
        END IF;
        RETURN NULL;
    END IF;
    IF is_public AND NOT was_public THEN
        PERFORM emit_public_change('service', NEW.id, NEW.slug, 'published');
    ELSIF was_public AND NOT is_public THEN
        PERFORM emit_public_change('service', NEW.id, NEW.slug, 'archived');
    ELSIF is_public AND (to_jsonb(OLD) - 'revision') IS DISTINCT FROM (to_jsonb(NEW) - 'revision') THEN
        PERFORM emit_public_change('service', NEW.id, NEW.slug, 'updated');
    END IF;
    -- Published services list their published related services by slug and name.
    IF TG_OP = 'UPDATE' AND (was_public <> is_public
        OR (is_public AND (OLD.slug <> NEW.slug OR OLD.name <> NEW.name))) THEN
        PERFORM emit_services_updated(ARRAY(
            SELECT service_id FROM related_services WHERE related_id = NEW.id));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER services_public_changes AFTER INSERT OR UPDATE OR DELETE ON services
    FOR EACH ROW EXECUTE FUNCTION record_service_public_change();

-- Related services are saved apart from the service row (imports save them after all services).
CREATE FUNCTION record_related_services_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM emit_services_updated(ARRAY[CASE WHEN TG_OP = 'DELETE' THEN OLD.service_id ELSE NEW.service_id END]);
    RETURN NULL;
END
$$;
CREATE TRIGGER related_services_public_changes AFTER INSERT OR UPDATE OR DELETE ON related_services
    FOR EACH ROW EXECUTE FUNCTION record_related_services_change();

-- Organizations; services and locations show their summary (and services' compliance checklist
-- reads it), child organizations their parent's.
CREATE FUNCTION record_organization_public_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    child record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM emit_public_change('organization', OLD.id, OLD.slug, 'deleted');
        RETURN NULL;
    END IF;
    PERFORM emit_public_change('organization', NEW.id, NEW.slug, CASE TG_OP WHEN 'INSERT' THEN 'created' ELSE 'updated' END);
    IF TG_OP = 'UPDATE' AND (OLD.slug, OLD.name, OLD.acronym, OLD.sphere, OLD.ombudsman_url)
        IS DISTINCT FROM (NEW.slug, NEW.name, NEW.acronym, NEW.sphere, NEW.ombudsman_url) THEN
        PERFORM emit_services_updated(ARRAY(
            SELECT id FROM services WHERE organization_id = NEW.id AND status = 'published'));
        FOR child IN SELECT id, 'location' AS resource, NULL AS slug FROM locations WHERE organization_id = NEW.id
                     UNION ALL
                     SELECT id, 'organization', slug FROM organizations WHERE parent_id = NEW.id
                     ORDER BY 2, 1
        LOOP
            PERFORM emit_public_change(child.resource, child.id, child.slug, 'updated');
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER organizations_public_changes AFTER INSERT OR DELETE ON organizations
    FOR EACH ROW EXECUTE FUNCTION record_organization_public_change();
CREATE TRIGGER organizations_public_updates AFTER UPDATE ON organizations
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION record_organization_public_change();

-- Topics: a topic's detail shows its parent and children; services show their topics.
CREATE FUNCTION record_topic_public_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    neighbour record;
    renamed boolean := false;
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM emit_public_change('topic', OLD.id, OLD.slug, 'deleted');
    ELSE
        PERFORM emit_public_change('topic', NEW.id, NEW.slug, CASE TG_OP WHEN 'INSERT' THEN 'created' ELSE 'updated' END);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        renamed := (OLD.slug, OLD.name) IS DISTINCT FROM (NEW.slug, NEW.name);
    END IF;
    -- The parents whose children lists change.
    FOR neighbour IN SELECT id, slug FROM topics
                      WHERE (TG_OP <> 'UPDATE' OR renamed OR OLD.parent_id IS DISTINCT FROM NEW.parent_id)
                        AND id IN (CASE WHEN TG_OP <> 'INSERT' THEN OLD.parent_id END,
                                   CASE WHEN TG_OP <> 'DELETE' THEN NEW.parent_id END)
                     UNION ALL
                     SELECT id, slug FROM topics WHERE renamed AND parent_id = NEW.id
                     ORDER BY 1
    LOOP
        PERFORM emit_public_change('topic', neighbour.id, neighbour.slug, 'updated');
    END LOOP;
    IF renamed THEN
        PERFORM emit_services_updated(ARRAY(SELECT service_id FROM service_topics WHERE topic_id = NEW.id));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER topics_public_changes AFTER INSERT OR DELETE ON topics
    FOR EACH ROW EXECUTE FUNCTION record_topic_public_change();
CREATE TRIGGER topics_public_updates AFTER UPDATE ON topics
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION record_topic_public_change();

CREATE FUNCTION record_life_event_public_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM emit_public_change('life_event', OLD.id, OLD.slug, 'deleted');
        RETURN NULL;
    END IF;
    PERFORM emit_public_change('life_event', NEW.id, NEW.slug, CASE TG_OP WHEN 'INSERT' THEN 'created' ELSE 'updated' END);
    IF TG_OP = 'UPDATE' AND (OLD.slug, OLD.name) IS DISTINCT FROM (NEW.slug, NEW.name) THEN
        PERFORM emit_services_updated(ARRAY(
            SELECT service_id FROM service_life_events WHERE life_event_id = NEW.id));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER life_events_public_changes AFTER INSERT OR DELETE ON life_events
    FOR EACH ROW EXECUTE FUNCTION record_life_event_public_change();
CREATE TRIGGER life_events_public_updates AFTER UPDATE ON life_events
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION record_life_event_public_change();

-- Locations; services show a summary of theirs. On delete the services are found BEFORE the
-- cascade removes their links.
CREATE FUNCTION record_location_public_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_WHEN = 'BEFORE' THEN
        PERFORM emit_services_updated(ARRAY(SELECT service_id FROM service_locations WHERE location_id = OLD.id));
        RETURN OLD;
    END IF;
    IF TG_OP = 'DELETE' THEN
        PERFORM emit_public_change('location', OLD.id, NULL, 'deleted');
        RETURN NULL;
    END IF;
    PERFORM emit_public_change('location', NEW.id, NULL, CASE TG_OP WHEN 'INSERT' THEN 'created' ELSE 'updated' END);
    IF TG_OP = 'UPDATE' AND (OLD.name, OLD.municipality, OLD.lat, OLD.lon)
        IS DISTINCT FROM (NEW.name, NEW.municipality, NEW.lat, NEW.lon) THEN
        PERFORM emit_services_updated(ARRAY(SELECT service_id FROM service_locations WHERE location_id = NEW.id));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER locations_public_changes AFTER INSERT OR DELETE ON locations
    FOR EACH ROW EXECUTE FUNCTION record_location_public_change();
CREATE TRIGGER locations_public_updates AFTER UPDATE ON locations
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION record_location_public_change();
CREATE TRIGGER locations_public_deletes BEFORE DELETE ON locations
    FOR EACH ROW EXECUTE FUNCTION record_location_public_change();

-- Municipalities are not in the feed, but locations and services show their names.
CREATE FUNCTION record_municipality_public_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    location record;
BEGIN
    FOR location IN SELECT id FROM locations WHERE municipality = NEW.ibge_code ORDER BY id LOOP
        PERFORM emit_public_change('location', location.id, NULL, 'updated');
    END LOOP;
    PERFORM emit_services_updated(ARRAY(
        SELECT service_id FROM service_municipalities WHERE ibge_code = NEW.ibge_code
        UNION
        SELECT sl.service_id FROM service_locations sl JOIN locations l ON l.id = sl.location_id
         WHERE l.municipality = NEW.ibge_code));
    RETURN NULL;
END
$$;
CREATE TRIGGER municipalities_public_updates AFTER UPDATE ON municipalities
    FOR EACH ROW WHEN ((OLD.name, OLD.state) IS DISTINCT FROM (NEW.name, NEW.state))
    EXECUTE FUNCTION record_municipality_public_change();

-- The catalogue as it stands is the feed's starting point.
DO $$
DECLARE
    item record;
BEGIN
    FOR item IN SELECT 'organization' AS resource, id, slug FROM organizations
                UNION ALL SELECT 'topic', id, slug FROM topics
                UNION ALL SELECT 'life_event', id, slug FROM life_events
                UNION ALL SELECT 'location', id, NULL FROM locations
                ORDER BY 1, 2
    LOOP
        PERFORM emit_public_change(item.resource, item.id, item.slug, 'created');
    END LOOP;
    FOR item IN SELECT id, slug FROM services WHERE status = 'published' ORDER BY id LOOP
        PERFORM emit_public_change('service', item.id, item.slug, 'published');
    END LOOP;
END
$$;
