"""The parts of the edge daemon (``meterwatch run``), one per task; ``edge.service`` composes them.

- ``publishing``: the publisher (outbox + MQTT) built from the configuration;
- ``engines``: one ``AreaRunner`` per area, fed from the buses' queue and stepped on event time;
- ``buses``: a scheduler per configured port, built by the port's protocol module;
- ``health``: the health payload's telemetry, the systemd status line and watchdog;
- ``warmup``: every numba kernel compiled (or loaded from the cache) before READY=1.
"""
