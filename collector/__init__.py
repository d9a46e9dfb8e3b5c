"""Central ingest: MQTT (persistent session, manual ack) into InfluxDB, acking only after the write."""
