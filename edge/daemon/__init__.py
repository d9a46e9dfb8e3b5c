"""The parts of the edge daemon (``meterwatch run``), one per task; ``edge.service`` composes them.

- ``publishing``: the publisher (outbox + MQTT) built from the configuration;
- ``engines``: one ``AreaRunner`` per area, fed from the buses' queue and stepped on event time;
- ``buses``: a scheduler per configured port, built by the port's protocol module, and the supervisor
  that keeps the port open through faults;
- ``port_alerts``: the gateway alert ``port_unavailable`` raised and cleared from the supervisors' events;
- ``health``: the health payload's telemetry, the systemd status line and watchdog;
- ``warmup``: every numba kernel compiled (or loaded from the cache) before READY=1.
"""
