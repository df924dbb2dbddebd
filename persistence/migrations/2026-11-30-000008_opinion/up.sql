-- What citizens say of services (Lei 13.460 art. 23), kept anonymous (LGPD): no address, no
-- protocol number in clear. A vote carries, for as long as duplicates are suppressed, a keyed hash
-- of who sent it; the key changes every day and is deleted after two, and the hashes are erased
-- once the suppression window is over, so votes cannot be linked to one another afterwards.

-- One secret per UTC day for the pseudonymous hashes, shared by every instance.
CREATE TABLE opinion_keys (
    day    date PRIMARY KEY,
    secret bytea NOT NULL CHECK (octet_length(secret) = 32)
);

-- "Was this information useful?"
CREATE TABLE service_feedback (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    useful     boolean NOT NULL,
    reason     text CHECK (reason IN ('incomplete', 'outdated', 'incorrect', 'unclear',
                                      'broken_link', 'not_what_i_needed', 'other')),
    comment    text CHECK (char_length(comment) <= 500),
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
    comment    text CHECK (char_length(comment) <= 500),
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
    stars_sum  integer NOT NULL DEFAULT 0 CHECK (stars_sum >= 0)
);

CREATE FUNCTION opinion_count_feedback() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta_useful integer := 0;
    delta_not integer := 0;
    target uuid := COALESCE(NEW.service_id, OLD.service_id);
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        IF OLD.useful THEN delta_useful := delta_useful - 1; ELSE delta_not := delta_not - 1; END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        IF NEW.useful THEN delta_useful := delta_useful + 1; ELSE delta_not := delta_not + 1; END IF;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO service_opinion AS o (service_id, useful, not_useful)
        VALUES (target, delta_useful, delta_not)
        ON CONFLICT (service_id) DO UPDATE
            SET useful = o.useful + delta_useful, not_useful = o.not_useful + delta_not;
    ELSIF delta_useful <> 0 OR delta_not <> 0 THEN
        -- Not an upsert: a service being deleted takes its totals with it.
        UPDATE service_opinion
        SET useful = useful + delta_useful, not_useful = not_useful + delta_not
        WHERE service_id = target;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER service_feedback_count AFTER INSERT OR DELETE OR UPDATE OF useful ON service_feedback
    FOR EACH ROW EXECUTE FUNCTION opinion_count_feedback();

CREATE FUNCTION opinion_count_ratings() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta_count integer := 0;
    delta_stars integer := 0;
    target uuid := COALESCE(NEW.service_id, OLD.service_id);
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        delta_count := delta_count - 1;
        delta_stars := delta_stars - OLD.stars;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        delta_count := delta_count + 1;
        delta_stars := delta_stars + NEW.stars;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO service_opinion AS o (service_id, ratings, stars_sum)
        VALUES (target, delta_count, delta_stars)
        ON CONFLICT (service_id) DO UPDATE
            SET ratings = o.ratings + delta_count, stars_sum = o.stars_sum + delta_stars;
    ELSIF delta_count <> 0 OR delta_stars <> 0 THEN
        UPDATE service_opinion
        SET ratings = ratings + delta_count, stars_sum = stars_sum + delta_stars
        WHERE service_id = target;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER service_ratings_count AFTER INSERT OR DELETE OR UPDATE OF stars ON service_ratings
    FOR EACH ROW EXECUTE FUNCTION opinion_count_ratings();
