"""The daemon's own view: what it is doing, for the people and tools at the gateway.

- ``snapshot``: the status document (buses, devices, alerts, outbox, engine timings, versions);
- ``windows``: "last minute" rates from the schedulers' cumulative counters;
- ``metrics``: the same as Prometheus metrics (``/metrics``);
- ``http``: a small asyncio HTTP/1.1 server (h11);
- ``service``: the routes (page, status, events, metrics, reads) on the control socket and TCP;
- ``ondemand``: ``meterwatch read`` through the daemon, slotted into the bus's schedule;
- ``client``: the other end, for ``meterwatch status`` and ``meterwatch read``;
- ``page.html``: the status page, one self-contained file (no external assets), Chinese and English.
"""
