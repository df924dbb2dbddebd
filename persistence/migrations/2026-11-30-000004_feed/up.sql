-- The public change feed (GET /v1/changes) and the webhooks' outbox: one entry per change a
-- client syncing the public catalogue must apply, written by triggers in the writer's transaction.
--
-- Entries are numbered in COMMIT order, without gaps: a row's `position` stays NULL while its
-- transaction runs and is stamped at commit (a deferred constraint trigger) from a one-row counter,
-- `feed_clock`. The counter's row lock is taken only at commit, so writers queue only for that
-- instant; PostgreSQL makes a commit visible before it releases its locks, so a reader that sees
-- position p also sees every position below it. A rolled-back transaction rolls its numbers back
-- with it (a sequence would leave holes). Nothing is locked after the clock: it is last.
CREATE TABLE feed_clock (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    position bigint NOT NULL CHECK (position >= 0)
);
INSERT INTO feed_clock (position) VALUES (0);

CREATE TABLE public_changes (
    -- Order of the changes within their transaction.
    id                 bigserial PRIMARY KEY,
    position           bigint UNIQUE,
    resource           text NOT NULL CHECK (resource IN ('service', 'organization', 'location', 'topic', 'life_event')),
    resource_id        uuid NOT NULL,
    slug               text,
    event              text NOT NULL,
    operation          text NOT NULL CHECK (operation IN ('upsert', 'delete')),
    occurred_at        timestamptz NOT NULL DEFAULT now(),
    -- While pending: the published records showing this one (services showing an organization...)
    -- are found at commit, under the clock's lock, so that set is the committed one.
    refresh_dependents boolean NOT NULL DEFAULT false
);
-- The entries of the running transaction (other transactions' pending rows are invisible to it).
CREATE INDEX public_changes_pending ON public_changes (resource, resource_id) WHERE position IS NULL;

-- Records that a public resource changed. A resource changed twice in one transaction keeps one
-- entry: the last operation, and the more specific event of two upserts (`published`, `created`).
CREATE FUNCTION emit_public_change(changed_resource text, changed_id uuid, changed_slug text, action text,
                                   dependents boolean DEFAULT false)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    new_event     text := changed_resource || '.' || action;
    new_operation text := CASE WHEN action IN ('archived', 'deleted') THEN 'delete' ELSE 'upsert' END;
    pending       public_changes%ROWTYPE;
BEGIN
    SELECT * INTO pending FROM public_changes
     WHERE position IS NULL AND resource = changed_resource AND resource_id = changed_id;
    IF pending.id IS NULL THEN
        INSERT INTO public_changes (resource, resource_id, slug, event, operation, refresh_dependents)
        VALUES (changed_resource, changed_id, changed_slug, new_event, new_operation, dependents);
        -- New entries need stamping, even if this transaction already stamped others.
        PERFORM set_config('carta.public_changes_stamped', '', true);
    ELSE
        IF new_operation = 'upsert' AND pending.operation = 'upsert' AND action = 'updated' THEN
            new_event := pending.event;
        END IF;
        UPDATE public_changes
           SET event = new_event, operation = new_operation, slug = changed_slug,
               refresh_dependents = refresh_dependents OR dependents
         WHERE id = pending.id;
    END IF;
END
$$;

-- What shows a changed record: published services (their detail embeds organizations, topics,
-- life events, locations and related services), locations and child organizations (their
-- organization's summary), child topics (their parent's name).
CREATE FUNCTION emit_dependents(changed_resource text, changed_id uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    dependent record;
BEGIN
    FOR dependent IN
        SELECT 'service' AS resource, s.id, s.slug FROM services s
         WHERE s.status = 'published' AND CASE changed_resource
            WHEN 'organization' THEN s.organization_id = changed_id
            WHEN 'topic' THEN EXISTS (SELECT 1 FROM service_topics t WHERE t.service_id = s.id AND t.topic_id = changed_id)
            WHEN 'life_event' THEN EXISTS (SELECT 1 FROM service_life_events l WHERE l.service_id = s.id AND l.life_event_id = changed_id)
            WHEN 'location' THEN EXISTS (SELECT 1 FROM service_locations l WHERE l.service_id = s.id AND l.location_id = changed_id)
            WHEN 'service' THEN EXISTS (SELECT 1 FROM related_services r WHERE r.service_id = s.id AND r.related_id = changed_id)
         END
        UNION ALL
        SELECT 'location', id, NULL FROM locations WHERE changed_resource = 'organization' AND organization_id = changed_id
        UNION ALL
        SELECT 'organization', id, slug FROM organizations WHERE changed_resource = 'organization' AND parent_id = changed_id
        UNION ALL
        SELECT 'topic', id, slug FROM topics WHERE changed_resource = 'topic' AND parent_id = changed_id
        ORDER BY 1, 2
    LOOP
        PERFORM emit_public_change(dependent.resource, dependent.id, dependent.slug, 'updated');
    END LOOP;
END
$$;

-- Fires at commit, once per entry queued; the first stamps them all, the others see the flag.
CREATE FUNCTION stamp_public_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pending bigint;
    last    bigint;
    changed record;
BEGIN
    IF current_setting('carta.public_changes_stamped', true) = 'on' THEN
        RETURN NULL;
    END IF;
    -- From here on, every transaction that committed entries before this one is visible to each
    -- statement below, and none can commit entries until this one has.
    PERFORM 1 FROM feed_clock FOR UPDATE;
    FOR changed IN SELECT resource, resource_id FROM public_changes
                    WHERE position IS NULL AND refresh_dependents ORDER BY id LOOP
        PERFORM emit_dependents(changed.resource, changed.resource_id);
    END LOOP;
    -- A service another transaction archived since its upsert was recorded here: that
    -- transaction's `delete` comes first, so this upsert would bring it back.
    DELETE FROM public_changes c
     WHERE c.position IS NULL AND c.resource = 'service' AND c.operation = 'upsert'
       AND NOT EXISTS (SELECT 1 FROM services s WHERE s.id = c.resource_id AND s.status = 'published');
    SELECT count(*) INTO pending FROM public_changes WHERE position IS NULL;
    IF pending > 0 THEN
        UPDATE feed_clock SET position = position + pending RETURNING position INTO last;
        UPDATE public_changes AS c
           SET position = last - pending + o.rank, occurred_at = clock_timestamp(),
               refresh_dependents = false
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

-- Services are public only while published. Draft saves only move `revision`: no entry.
CREATE FUNCTION record_service_public_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_public boolean := false;
    is_public  boolean := false;
    -- Services listing it as related show its slug and name while it is published.
    shown_changed boolean := false;
BEGIN
    IF TG_OP <> 'INSERT' THEN was_public := OLD.status = 'published'; END IF;
    IF TG_OP <> 'DELETE' THEN is_public := NEW.status = 'published'; END IF;
    IF TG_OP = 'DELETE' THEN
        IF was_public THEN
            PERFORM emit_public_change('service', OLD.id, OLD.slug, 'deleted');
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        shown_changed := was_public <> is_public
            OR (is_public AND (OLD.slug <> NEW.slug OR OLD.name <> NEW.name));
    END IF;
    IF is_public AND NOT was_public THEN
        PERFORM emit_public_change('service', NEW.id, NEW.slug, 'published', shown_changed);
    ELSIF was_public AND NOT is_public THEN
        PERFORM emit_public_change('service', NEW.id, NEW.slug, 'archived', shown_changed);
    ELSIF is_public AND (to_jsonb(OLD) - 'revision') IS DISTINCT FROM (to_jsonb(NEW) - 'revision') THEN
        PERFORM emit_public_change('service', NEW.id, NEW.slug, 'updated', shown_changed);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER services_public_changes AFTER INSERT OR UPDATE OR DELETE ON services
    FOR EACH ROW EXECUTE FUNCTION record_service_public_change();

-- Related services are saved apart from the service row (imports save them after all services).
-- The entry is dropped at commit unless the service is published then.
CREATE FUNCTION record_related_services_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed_id uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.service_id ELSE NEW.service_id END;
BEGIN
    PERFORM emit_public_change('service', changed_id, (SELECT slug FROM services WHERE id = changed_id), 'updated')
      WHERE EXISTS (SELECT 1 FROM services WHERE id = changed_id AND status = 'published');
    RETURN NULL;
END
$$;
CREATE TRIGGER related_services_public_changes AFTER INSERT OR UPDATE OR DELETE ON related_services
    FOR EACH ROW EXECUTE FUNCTION record_related_services_change();

CREATE FUNCTION record_organization_public_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM emit_public_change('organization', OLD.id, OLD.slug, 'deleted');
        RETURN NULL;
    END IF;
    PERFORM emit_public_change('organization', NEW.id, NEW.slug,
        CASE TG_OP WHEN 'INSERT' THEN 'created' ELSE 'updated' END,
        TG_OP = 'UPDATE' AND (OLD.slug, OLD.name, OLD.acronym, OLD.sphere, OLD.ombudsman_url)
            IS DISTINCT FROM (NEW.slug, NEW.name, NEW.acronym, NEW.sphere, NEW.ombudsman_url));
    RETURN NULL;
END
$$;
CREATE TRIGGER organizations_public_changes AFTER INSERT OR DELETE ON organizations
    FOR EACH ROW EXECUTE FUNCTION record_organization_public_change();
CREATE TRIGGER organizations_public_updates AFTER UPDATE ON organizations
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION record_organization_public_change();

-- Topics: a topic's detail shows its parent and children.
CREATE FUNCTION record_topic_public_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent record;
    renamed boolean := false;
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM emit_public_change('topic', OLD.id, OLD.slug, 'deleted');
    ELSE
        IF TG_OP = 'UPDATE' THEN
            renamed := (OLD.slug, OLD.name) IS DISTINCT FROM (NEW.slug, NEW.name);
        END IF;
        PERFORM emit_public_change('topic', NEW.id, NEW.slug,
            CASE TG_OP WHEN 'INSERT' THEN 'created' ELSE 'updated' END, renamed);
    END IF;
    -- The parents whose children lists change (known here: this row is locked).
    FOR parent IN SELECT id, slug FROM topics
                   WHERE (TG_OP <> 'UPDATE' OR renamed OR OLD.parent_id IS DISTINCT FROM NEW.parent_id)
                     AND id IN (CASE WHEN TG_OP <> 'INSERT' THEN OLD.parent_id END,
                                CASE WHEN TG_OP <> 'DELETE' THEN NEW.parent_id END)
                   ORDER BY id
    LOOP
        PERFORM emit_public_change('topic', parent.id, parent.slug, 'updated');
    END LOOP;
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
    PERFORM emit_public_change('life_event', NEW.id, NEW.slug,
        CASE TG_OP WHEN 'INSERT' THEN 'created' ELSE 'updated' END,
        TG_OP = 'UPDATE' AND (OLD.slug, OLD.name) IS DISTINCT FROM (NEW.slug, NEW.name));
    RETURN NULL;
END
$$;
CREATE TRIGGER life_events_public_changes AFTER INSERT OR DELETE ON life_events
    FOR EACH ROW EXECUTE FUNCTION record_life_event_public_change();
CREATE TRIGGER life_events_public_updates AFTER UPDATE ON life_events
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION record_life_event_public_change();

-- Locations. On delete, the services showing one are found BEFORE the cascade removes their
-- links (this row is locked then, so no link to it can be added meanwhile).
CREATE FUNCTION record_location_public_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_WHEN = 'BEFORE' THEN
        PERFORM emit_dependents('location', OLD.id);
        RETURN OLD;
    END IF;
    IF TG_OP = 'DELETE' THEN
        PERFORM emit_public_change('location', OLD.id, NULL, 'deleted');
        RETURN NULL;
    END IF;
    PERFORM emit_public_change('location', NEW.id, NULL,
        CASE TG_OP WHEN 'INSERT' THEN 'created' ELSE 'updated' END,
        TG_OP = 'UPDATE' AND (OLD.name, OLD.municipality, OLD.lat, OLD.lon)
            IS DISTINCT FROM (NEW.name, NEW.municipality, NEW.lat, NEW.lon));
    RETURN NULL;
END
$$;
CREATE TRIGGER locations_public_changes AFTER INSERT OR DELETE ON locations
    FOR EACH ROW EXECUTE FUNCTION record_location_public_change();
CREATE TRIGGER locations_public_updates AFTER UPDATE ON locations
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION record_location_public_change();
CREATE TRIGGER locations_public_deletes BEFORE DELETE ON locations
    FOR EACH ROW EXECUTE FUNCTION record_location_public_change();

-- Municipalities are not in the feed, but locations and services show their names: their
-- locations are updated (and so, at commit, the services showing those), and services offered there.
CREATE FUNCTION record_municipality_public_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    shown record;
BEGIN
    FOR shown IN SELECT 'location' AS resource, id, NULL AS slug FROM locations WHERE municipality = NEW.ibge_code
                 UNION ALL
                 SELECT 'service', s.id, s.slug FROM services s
                  WHERE s.status = 'published' AND EXISTS (SELECT 1 FROM service_municipalities m
                                                            WHERE m.service_id = s.id AND m.ibge_code = NEW.ibge_code)
                 ORDER BY 1, 2
    LOOP
        PERFORM emit_public_change(shown.resource, shown.id, shown.slug, 'updated', shown.resource = 'location');
    END LOOP;
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
