"""``GET /metrics``: the gateway itself in the Prometheus exposition format (``prometheus-client``).

A fleet already runs Prometheus (or VictoriaMetrics, or anything that scrapes this format), so the
gateways are watched with the tools it has: one scrape target per gateway. The well-kept
``prometheus-client`` renders the format (escaping, types, HELP lines, OpenMetrics negotiation) — a
format with that many corners is not worth owning. Nothing is counted twice: a collector reads the
daemon's own counters at scrape time (``collect``), so the polling and engine paths pay nothing for
metrics, and nothing at all while nobody scrapes. Counters are cumulative since the daemon started
(``rate()`` them); ``*_ratio`` gauges are over the last minute, as the status page shows them.
Process CPU, memory and file descriptors come from the client's process collector.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

__all__ = ["DaemonCollector", "registry", "render"]


class DaemonCollector:
    """Metric families from a light status document (``build_status(..., devices=False)``)."""

    def __init__(self, status: Callable[[], dict[str, Any]]) -> None:
        self._status = status

    def describe(self) -> list[Metric]:
        return []          # unchecked collector: the families depend on the configuration

    def collect(self) -> Iterator[Metric]:
        doc = self._status()
        gw = doc["gateway"]
        info = InfoMetricFamily("meterwatch_gateway", "the gateway, its daemon and versions")
        info.add_metric([], {"gateway": gw, "grid": doc["grid"], **{f"version_{k.replace('-', '_')}": v
                                                                    for k, v in doc["versions"].items()}})
        yield info
        up = GaugeMetricFamily("meterwatch_daemon_running", "1 while the daemon polls and publishes (not starting/stopping)")
        up.add_metric([], 1.0 if doc["state"] == "running" else 0.0)
        yield up
        yield from _buses(doc["buses"])
        yield from _outbox(doc["outbox"], doc["mqtt"])
        yield from _engine(doc["engine"])
        yield from _alerts(doc["alerts"])


def _buses(buses: list[dict[str, Any]]) -> Iterator[Metric]:
    lb = ["bus"]
    reads = CounterMetricFamily("meterwatch_bus_reads", "transactions by result since start (ok: everything asked "
                                "came back; failed: silence, error reply or bad value; skipped: device backed off)",
                                labels=["bus", "result"])
    busy = CounterMetricFamily("meterwatch_bus_busy_seconds", "wire time used (incl. on-demand reads)", labels=lb)
    useful = CounterMetricFamily("meterwatch_bus_useful_seconds",
                                 "wire-formula time of the transactions that returned everything asked", labels=lb)
    on_demand = CounterMetricFamily("meterwatch_bus_on_demand_reads", "reads slotted in for meterwatch read", labels=lb)
    port_failures = CounterMetricFamily("meterwatch_port_failures", "open ports that failed (hang-up, connection lost)",
                                        labels=lb)
    gauges = {k: GaugeMetricFamily(f"meterwatch_bus_{k}", doc, labels=lb) for k, doc in (
        ("utilisation_ratio", "busy wire time / elapsed, last minute"),
        ("efficiency_ratio", "useful / busy wire time, last minute (1 = every busy second brought data)"),
        ("read_success_ratio", "transactions that returned everything asked, last minute"),
        ("devices", "devices polled on the bus"),
        ("devices_backed_off", "devices silent several times, probed now and then"))}
    online = GaugeMetricFamily("meterwatch_port_online", "1 while the bus's port is open", labels=["bus", "port"])
    for b in buses:
        n = [b["name"]]
        for result in ("ok", "failed", "skipped"):
            reads.add_metric([b["name"], result], b[f"reads_{result}"])
        busy.add_metric(n, b["busy_s"])
        useful.add_metric(n, b["useful_s"])
        on_demand.add_metric(n, b["on_demand"])
        port_failures.add_metric(n, b["port_failures"])
        online.add_metric([b["name"], b["port"]], 1.0 if b["online"] else 0.0)
        for key, src in (("utilisation_ratio", "utilisation"), ("efficiency_ratio", "efficiency"),
                         ("read_success_ratio", "success"), ("devices", "devices"), ("devices_backed_off", "backed_off")):
            if b[src] is not None:
                gauges[key].add_metric(n, float(b[src]))
    yield from (reads, busy, useful, on_demand, port_failures, online, *gauges.values())


def _outbox(outbox: dict[str, Any], mqtt: dict[str, Any]) -> Iterator[Metric]:
    depth = GaugeMetricFamily("meterwatch_outbox_depth_messages", "messages stored and not yet acknowledged by the broker")
    depth.add_metric([], outbox.get("depth", 0))
    size = GaugeMetricFamily("meterwatch_outbox_bytes", "payload bytes in the outbox")
    size.add_metric([], outbox.get("bytes", 0))
    dropped = CounterMetricFamily("meterwatch_outbox_dropped_messages", "messages dropped by the outbox bound "
                                  "(oldest summaries first) or expired (alerts), cumulative across restarts",
                                  labels=["kind"])
    dropped.add_metric(["summary"], outbox.get("dropped_summaries", 0))
    dropped.add_metric(["alert"], outbox.get("dropped_alerts", 0))
    connected = GaugeMetricFamily("meterwatch_mqtt_connected", "1 while connected to the broker")
    connected.add_metric([], 1.0 if mqtt.get("connected") else 0.0)
    yield from (depth, size, dropped, connected)


def _engine(engine: dict[str, Any]) -> Iterator[Metric]:
    if not engine:
        return
    ticks = CounterMetricFamily("meterwatch_engine_ticks", "engine loop steps since start")
    ticks.add_metric([], engine["ticks"])
    yield ticks
    recent = GaugeMetricFamily("meterwatch_engine_tick_seconds", "engine step time over the last 600 steps "
                               "(drain, every area's advance, storing)", labels=["quantile"])
    for q, key in (("0.5", "tick_ms_p50"), ("0.99", "tick_ms_p99"), ("1", "tick_ms_max")):
        if engine.get(key) is not None:
            recent.add_metric([q], engine[key] / 1000.0)
    yield recent
    queue = GaugeMetricFamily("meterwatch_engine_queue_depth", "reading batches waiting for the engines")
    queue.add_metric([], engine["queue_depth"])
    yield queue
    errors = CounterMetricFamily("meterwatch_engine_step_errors", "area steps that raised (the others went on)")
    errors.add_metric([], engine["counters"].get("engine_step_errors", 0))
    yield errors
    rejected = CounterMetricFamily("meterwatch_engine_readings_rejected", "readings not fed to the engine",
                                   labels=["area"])
    for aid, a in engine["areas"].items():
        rejected.add_metric([aid], a["readings_rejected"])
    yield rejected


def _alerts(alerts: list[dict[str, Any]]) -> Iterator[Metric]:
    active = GaugeMetricFamily("meterwatch_alerts_active", "alerts active now", labels=["area", "severity"])
    counts: dict[tuple[str, str], int] = {}
    for a in alerts:
        key = (a["area"], a["severity"])
        counts[key] = counts.get(key, 0) + 1
    for (area, sev), n in sorted(counts.items()):
        active.add_metric([area, sev], n)
    yield active


def registry(status: Callable[[], dict[str, Any]]) -> CollectorRegistry:
    """A private registry: the daemon's collector and the process collector (not the global default)."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(DaemonCollector(status))
    ProcessCollector(registry=reg)
    return reg


def render(reg: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The exposition (Prometheus text, or OpenMetrics when the scraper asks for it) and its content type."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(reg), content_type
