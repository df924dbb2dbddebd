DROP TABLE related_services, service_locations, service_municipalities, service_channel_types,
    service_segments, service_life_events, service_topics, services, locations, life_events, topics,
    organizations, channel_types, segments, municipalities;
