-- Popularity: how often each published service's page is read. Instances count views in memory
-- and add them here in one statement per flush (never a write per view). Only counts per service
-- and day (UTC) are kept: no address, agent or other trace of who read.
CREATE TABLE service_views (
    service_id uuid NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    day date NOT NULL,
    views bigint NOT NULL CHECK (views > 0),
    PRIMARY KEY (service_id, day)
);
-- Pruning drops the days that left the window.
CREATE INDEX service_views_day ON service_views (day);

-- The score that orders lists: views in the window (today and the 29 days before, UTC), kept per
-- service rather than summed from the buckets at each read, so `sort=popular` over 100,000
-- services costs a join with this small table, not an aggregate over 30 days of buckets.
-- Refreshed for the services a flush touches; `refreshed_on` marks rows whose window moved since
-- (a new day), recomputed by the first flush of the day. Services without views have no row.
-- A separate table, not a column of `services`: a write there would fire the catalogue's change
-- log and feed triggers, and every instance would drop its cached answers at each flush.
CREATE TABLE service_popularity (
    service_id uuid PRIMARY KEY REFERENCES services (id) ON DELETE CASCADE,
    score bigint NOT NULL CHECK (score > 0),
    refreshed_on date NOT NULL
);
CREATE INDEX service_popularity_score ON service_popularity (score DESC, service_id);
CREATE INDEX service_popularity_refreshed ON service_popularity (refreshed_on);
