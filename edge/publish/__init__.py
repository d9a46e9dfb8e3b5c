"""Publishing: payload serialisers, JSON Schemas of the wire format, the durable outbox and MQTT."""
