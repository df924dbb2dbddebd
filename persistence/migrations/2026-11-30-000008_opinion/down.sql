DROP TABLE service_opinion;
DROP TABLE service_ratings;
DROP TABLE service_feedback;
DROP FUNCTION opinion_count_feedback();
DROP FUNCTION opinion_count_ratings();
DROP FUNCTION opinion_add(uuid, integer, boolean, integer);
