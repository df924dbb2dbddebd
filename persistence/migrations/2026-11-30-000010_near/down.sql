DROP INDEX near_locations_lat_lon;
DROP FUNCTION near_distance_km(double precision, double precision, double precision, double precision);
