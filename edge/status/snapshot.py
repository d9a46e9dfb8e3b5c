"""The gateway's status document (``GET /api/status``, ``meterwatch status --json``, the page).

Built on the daemon's event loop from what its parts already keep — the schedulers' per-device state
and counters, the port supervisors, the engines' alerts and tick times, the publisher's outbox — so it
is always consistent and costs nothing while nobody asks. Times are clock time (epoch seconds, the
clock the daemon runs on); the reader turns them into ages against ``ts``. ``schema`` names the
document's version: fields are only ever added.

Device ``state``: ``ok`` (last transaction answered), ``error`` (the last transaction failed: silent,
error reply or bad value), ``backed_off`` (silent several times: probed now and then), ``waiting`` (not
read since the start), ``port_down`` (its port is unavailable).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from typing import Any, Protocol

from detect.alarms import SEVERITIES
from edge.config.model import Config
from edge.daemon.buses import Bus, BusDevice
from edge.daemon.engines import Engines
from edge.daemon.port_alerts import PortAlerts
from edge.publish.health import versions
from edge.publish.publisher import Publisher
from edge.scheduler.clock import Clock
from edge.status.windows import Windows, process_figures

__all__ = ["SCHEMA", "DaemonView", "build_status", "bus_entries", "device_entries", "device_state"]

SCHEMA = "meterwatch.gateway_status/1"


class DaemonView(Protocol):
    """What the status document reads of the daemon (``edge.service.Daemon``)."""

    cfg: Config
    buses: list[Bus]
    engines: Engines | None
    publisher: Publisher | None
    port_alerts: PortAlerts | None
    clock: Clock

    @property
    def state(self) -> str: ...


def build_status(d: DaemonView, windows: Windows, *, started: float, endpoints: dict[str, str | None],
                 devices: bool = True) -> dict[str, Any]:
    """The whole document; ``devices=False`` leaves the per-device list out (metrics, summaries)."""
    now = d.clock.now()
    doc: dict[str, Any] = {
        "schema": SCHEMA, "gateway": d.cfg.gateway.id, "grid": d.cfg.gateway.grid,
        "timezone": d.cfg.gateway.timezone, "state": d.state, "ts": round(now, 3), "pid": os.getpid(),
        "uptime_s": round(time.monotonic() - started, 1), "versions": _versions(), "endpoints": endpoints,
        "process": {**process_figures(), "cpu_pct": windows.cpu_pct()},
        "mqtt": _mqtt(d), "outbox": _outbox(d), "engine": _engine(d.engines),
        "buses": bus_entries(d.buses, windows), "alerts": _alerts(d),
    }
    if devices:
        doc["devices"] = device_entries(d.buses)
    return doc


_VERSIONS: dict[str, str] = {}


def _versions() -> dict[str, str]:
    if not _VERSIONS:
        from importlib import metadata

        _VERSIONS.update(versions())
        for dist in ("h11", "prometheus-client"):
            try:
                _VERSIONS[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                _VERSIONS[dist] = "absent"
    return dict(_VERSIONS)


def _mqtt(d: DaemonView) -> dict[str, Any]:
    p = d.publisher
    url = d.cfg.mqtt.url
    if p is None:
        return {"url": url, "connected": False, "last_error": "not started"}
    return {"url": url, "connected": bool(p.connected), "last_error": p.last_error,
            "published": p.counters.get("published", 0), "connects": p.counters.get("connects", 0)}


def _outbox(d: DaemonView) -> dict[str, Any]:
    p = d.publisher
    if p is None or p.outbox is None:
        return {}
    return dict(p.stats().as_health())


def _engine(engines: Engines | None) -> dict[str, Any]:
    if engines is None:
        return {}
    recent = sorted(engines.ticks.recent)
    median = (recent[(len(recent) - 1) // 2] + recent[len(recent) // 2]) / 2 if recent else None

    def pct(q: float) -> float | None:
        if not recent:
            return None
        return round(recent[min(len(recent) - 1, math.ceil(q * len(recent)) - 1)] * 1000.0, 3)

    areas = {}
    for aid, r in engines.runners.items():
        st = r.stats
        areas[aid] = {"steps": st.steps, "last_advance_ms": round(st.last_advance_ms, 3),
                      "max_advance_ms": round(st.max_advance_ms, 3), "readings_fed": st.readings_fed,
                      "readings_rejected": st.readings_rejected, "messages": st.messages,
                      "last_event_ts": r.last_event_ts or None}
    return {"ticks": engines.ticks.count, "tick_ms_p50": round(median * 1000.0, 3) if median is not None else None,
            "tick_ms_p99": pct(0.99), "tick_ms_max": round(recent[-1] * 1000.0, 3) if recent else None,
            "queue_depth": engines.queue.qsize(), "counters": dict(engines.counters), "areas": areas}


def bus_entries(buses: Sequence[Bus], windows: Windows) -> list[dict[str, Any]]:
    out = []
    for b in buses:
        totals = b.scheduler.totals()
        rates = windows.bus(b.cfg.name, totals)
        sup = b.supervisor
        n_devices, n_backed_off = b.scheduler.device_counts()
        out.append({
            "name": b.cfg.name, "port": b.cfg.port, "protocol": b.cfg.protocol, "baud": b.cfg.baud,
            "online": sup.online, "port_error": None if sup.online else sup.error,
            "devices": n_devices, "backed_off": n_backed_off,
            "window_s": rates.window_s, "utilisation": _r(rates.utilisation), "efficiency": _r(rates.efficiency),
            "success": _r(rates.success), "reads_now": rates.reads,
            "reads_ok": int(totals["reads_ok"]), "reads_failed": int(totals["reads_failed"]),
            "reads_skipped": int(totals["reads_skipped"]), "busy_s": round(totals["busy_s"], 3),
            "useful_s": round(totals["useful_s"], 3), "on_demand": int(totals["on_demand"]),
            "port_failures": sup.counters["port_failures"], "port_open_failures": sup.counters["port_open_failures"],
        })
    return out


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def device_state(*, last_ok: float | None, last_error_ts: float | None, backed_off: bool, port_online: bool) -> str:
    if not port_online:
        return "port_down"
    if backed_off:
        return "backed_off"
    if last_error_ts is not None and (last_ok is None or last_error_ts > last_ok):
        return "error"
    return "waiting" if last_ok is None else "ok"


def device_entries(buses: Sequence[Bus], known: dict[str, tuple[int, bool]] | None = None) -> list[dict[str, Any]]:
    """Every device's entry; with ``known`` (per bus, the change count and port state a reader has seen;
    updated here) only those that changed since: an open page is sent the few devices read since its
    last update, not all of them (all of a bus whose port went down or came back)."""
    out = []
    for b in buses:
        online = b.supervisor.online
        since = 0
        if known is not None:
            seen = known.get(b.cfg.name)
            since = seen[0] if seen is not None and seen[1] == online else 0
            known[b.cfg.name] = (b.scheduler.changes, online)
            if since and since == b.scheduler.changes:
                continue
        rows = b.scheduler.device_rows(since)
        if rows:
            info = {dev.name: dev for dev in b.devices}
            out += [_device_entry(b, info[row[0]], row, online) for row in rows]
    return out


def _device_entry(b: Bus, dev: BusDevice, row: tuple[Any, ...], online: bool) -> dict[str, Any]:
    name, last_ok, last_error, last_error_ts, silent, backed_off, next_probe = row
    entry = dev.entry
    address = getattr(entry, "address", "") or (f"id {entry.device_id}" if hasattr(entry, "device_id") else "")
    return {"device": dev.engine_name if dev.class_name == "meter" else name, "area": dev.area, "bus": b.cfg.name,
            "class": dev.class_name, "address": address,
            "state": device_state(last_ok=last_ok, last_error_ts=last_error_ts, backed_off=backed_off, port_online=online),
            "last_ok": last_ok, "last_error": last_error, "last_error_ts": last_error_ts, "silent": silent,
            "next_probe": next_probe}


def _alerts(d: DaemonView) -> list[dict[str, Any]]:
    if d.engines is None:
        return []
    out = []
    for aid, runner in d.engines.runners.items():
        for a in [*runner.engine.active_alerts(), *runner.extra_active()]:
            out.append({"area": aid, "alert_id": a.alert_id, "kind": a.kind, "severity": a.severity,
                        "subject": f"{a.subject_type} {a.subject_id}", "since": a.raised_at,
                        "value": a.value, "unit": a.unit, "message": a.message})
    order = {sev: -k for k, sev in enumerate(SEVERITIES)}        # most severe first
    return sorted(out, key=lambda a: (order.get(a["severity"], 1), a["since"]))
