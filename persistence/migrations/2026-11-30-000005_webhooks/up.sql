-- Webhooks: partners subscribe a URL to event types. The change feed is the outbox: each
-- subscription follows `public_changes` from its cursor, delivering matching entries strictly in
-- order; a failed delivery does not advance the cursor and is retried with backoff.
CREATE TABLE webhook_subscriptions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Token subject of the partner it belongs to (a client id or a person).
    owner           text NOT NULL CHECK (btrim(owner) <> '' AND length(owner) <= 200),
    url             text NOT NULL CHECK (length(url) <= 2000),
    events          text[] NOT NULL CHECK (cardinality(events) >= 1),
    -- Signs the deliveries (HMAC-SHA256); shown to the partner once, at creation.
    secret          text NOT NULL,
    -- Last feed position handled (delivered or not matching).
    cursor          bigint NOT NULL CHECK (cursor >= 0),
    -- Failed attempts at delivering the entry after the cursor.
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- A worker holding the lease (its token) alone delivers for this subscription.
    lease_token     uuid,
    leased_until    timestamptz,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    disabled_at     timestamptz
);
CREATE INDEX webhook_subscriptions_owner ON webhook_subscriptions (owner, created_at);
CREATE INDEX webhook_subscriptions_due ON webhook_subscriptions (next_attempt_at) WHERE disabled_at IS NULL;

-- Every attempt, for the partner and the admins.
CREATE TABLE webhook_deliveries (
    id              bigserial PRIMARY KEY,
    subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    delivery_id     uuid NOT NULL,
    position        bigint NOT NULL,
    event           text NOT NULL,
    attempt         integer NOT NULL CHECK (attempt >= 1),
    status_code     integer,
    error           text,
    duration_ms     integer NOT NULL CHECK (duration_ms >= 0),
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, id DESC);
