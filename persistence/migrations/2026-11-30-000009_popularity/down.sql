DROP TABLE service_popularity;
DROP TABLE service_views;
