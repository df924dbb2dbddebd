-- "Near me" lists: service units within a radius of a point, nearest first.

-- Great-circle (haversine) distance in km on a sphere of the mean Earth radius, rounded to 10 m:
-- the value lists show, sort by and compare with the radius, so what is shown is what was
-- compared. Plain SQL: no PostGIS; `earthdistance` uses another radius and may not be installed.
-- STRICT: a unit without coordinates (or a list without a point) has no distance.
CREATE FUNCTION near_distance_km(lat1 double precision, lon1 double precision,
                                 lat2 double precision, lon2 double precision)
RETURNS double precision LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT round((2 * 6371.0088 * asin(least(1.0, sqrt(
        power(sin(radians(lat2 - lat1) / 2), 2)
        + cos(radians(lat1)) * cos(radians(lat2)) * power(sin(radians(lon2 - lon1) / 2), 2)
    ))))::numeric, 2)::double precision
$$;

-- Lists first keep the units inside the radius's bounding box (a range on lat, then on lon), so
-- only those are measured.
CREATE INDEX near_locations_lat_lon ON locations (lat, lon) WHERE lat IS NOT NULL;
