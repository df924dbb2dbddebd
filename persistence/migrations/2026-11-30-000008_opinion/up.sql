-- What citizens say of services (Lei 13.460 art. 23), kept anonymous (LGPD): no address, no
-- protocol number in clear. A vote carries, for as long as duplicates are suppressed, a keyed hash
-- of who sent it. The key changes every day and is derived from a secret that never enters the
-- database (so a dump or a backup cannot test addresses against the hashes), and the hashes are
-- erased once the suppression window is over, after which votes cannot be linked to one another.
-- The totals below are kept by triggers; TRUNCATE bypasses them (recount if ever used).

-- "Was this information useful?"
CREATE TABLE service_feedback (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    useful     boolean NOT NULL,
    reason     text CHECK (reason IN ('incomplete', 'outdated', 'incorrect', 'unclear',
                                      'broken_link', 'not_what_i_needed', 'other')),
    -- At most 500 characters as written; masking personal data can lengthen it a little.
    comment    text CHECK (char_length(comment) <= 1000),
    -- Keyed hash of the sender while duplicates are suppressed; NULL afterwards.
    sender     bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (useful = (reason IS NULL))
);
CREATE INDEX service_feedback_service ON service_feedback (service_id, created_at DESC);
CREATE INDEX service_feedback_sender ON service_feedback (service_id, sender) WHERE sender IS NOT NULL;
CREATE INDEX service_feedback_to_forget ON service_feedback (created_at) WHERE sender IS NOT NULL;

-- Satisfaction with the service itself.
CREATE TABLE service_ratings (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    stars      smallint NOT NULL CHECK (stars BETWEEN 1 AND 5),
    channel    text NOT NULL CHECK (channel IN ('mobile_app', 'email', 'fax', 'postal', 'in_person',
                                                'sms', 'phone', 'web')),
    comment    text CHECK (char_length(comment) <= 1000),
    -- Whether a protocol was given: agencies see that, never the number.
    with_protocol boolean NOT NULL DEFAULT false,
    sender     bytea,
    -- Keyed hash of the protocol while duplicates are suppressed; NULL afterwards.
    protocol   bytea,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX service_ratings_service ON service_ratings (service_id, created_at DESC);
CREATE INDEX service_ratings_sender ON service_ratings (service_id, sender) WHERE sender IS NOT NULL;
CREATE INDEX service_ratings_protocol ON service_ratings (service_id, protocol) WHERE protocol IS NOT NULL;
CREATE INDEX service_ratings_to_forget ON service_ratings (created_at)
    WHERE sender IS NOT NULL OR protocol IS NOT NULL;

-- Running totals per service, kept by the triggers below in the voter's transaction: lists and
-- pages show them for every service without counting the votes again.
CREATE TABLE service_opinion (
    service_id uuid PRIMARY KEY REFERENCES services (id) ON DELETE CASCADE,
    useful     integer NOT NULL DEFAULT 0 CHECK (useful >= 0),
    not_useful integer NOT NULL DEFAULT 0 CHECK (not_useful >= 0),
    ratings    integer NOT NULL DEFAULT 0 CHECK (ratings >= 0),
    stars_sum  integer NOT NULL DEFAULT 0 CHECK (stars_sum >= 0),
    -- Bumped by every change to the service's votes, also those that leave the totals as they
    -- were (a rating moved to another channel): instances compare it to drop stale reports.
    version    bigint NOT NULL DEFAULT 0
);

-- Adds a vote's weight to its service's totals (sign -1 takes it away).
CREATE FUNCTION opinion_add(target uuid, sign integer, is_useful boolean, stars integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF sign > 0 THEN
        INSERT INTO service_opinion AS o (service_id, useful, not_useful, ratings, stars_sum, version)
        VALUES (target,
                CASE WHEN is_useful IS TRUE THEN 1 ELSE 0 END,
                CASE WHEN is_useful IS FALSE THEN 1 ELSE 0 END,
                CASE WHEN stars IS NOT NULL THEN 1 ELSE 0 END,
                COALESCE(stars, 0), 1)
        ON CONFLICT (service_id) DO UPDATE SET
            useful = o.useful + EXCLUDED.useful,
            not_useful = o.not_useful + EXCLUDED.not_useful,
            ratings = o.ratings + EXCLUDED.ratings,
            stars_sum = o.stars_sum + EXCLUDED.stars_sum,
            version = o.version + 1;
    ELSE
        -- Not an upsert: a service being deleted takes its totals with it.
        UPDATE service_opinion SET
            useful = useful - CASE WHEN is_useful IS TRUE THEN 1 ELSE 0 END,
            not_useful = not_useful - CASE WHEN is_useful IS FALSE THEN 1 ELSE 0 END,
            ratings = ratings - CASE WHEN stars IS NOT NULL THEN 1 ELSE 0 END,
            stars_sum = stars_sum - COALESCE(stars, 0),
            version = version + 1
        WHERE service_id = target;
    END IF;
END
$$;

CREATE FUNCTION opinion_count_feedback() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM opinion_add(OLD.service_id, -1, OLD.useful, NULL);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM opinion_add(NEW.service_id, 1, NEW.useful, NULL);
    END IF;
    RETURN NULL;
END
$$;
-- Not on updates that only erase the sender's hash: those change nothing shown.
CREATE TRIGGER service_feedback_count AFTER INSERT OR DELETE
    OR UPDATE OF service_id, useful, reason, comment, created_at ON service_feedback
    FOR EACH ROW EXECUTE FUNCTION opinion_count_feedback();

CREATE FUNCTION opinion_count_ratings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM opinion_add(OLD.service_id, -1, NULL, OLD.stars);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM opinion_add(NEW.service_id, 1, NULL, NEW.stars);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER service_ratings_count AFTER INSERT OR DELETE
    OR UPDATE OF service_id, stars, channel, comment, created_at ON service_ratings
    FOR EACH ROW EXECUTE FUNCTION opinion_count_ratings();
