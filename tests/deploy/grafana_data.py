"""The grid the dashboard tests look at, and Grafana's side of a panel, for tests/deploy/test_grafana.py.

**The grid** (``build_grid``): grid ``g-east`` with two simulated areas exported with ground truth and
replayed through the daemon's engine and serialisers (``edge.sim.export``, ``edge.replayer``):

- ``A01`` (gateway ``gw-east-1``): 25 customers; from day 9 customer M0004 bypasses its meter entirely;
- ``A02`` (gateway ``gw-east-2``): 25 customers, nothing wrong;

and the two gateways' own messages built by the daemon's serialisers with known inputs: ``status``
(gw-east-2's last word is its will, ``offline``) and a ``health`` a minute for the last two hours, whose
bus counters restart once (a daemon restart) and fail 5 reads in 100 during the last hour.

**Grafana's side** (``panel_query``, ``transform``): a panel's query as Grafana sends it — the panel's
relative time (``30d``, ``now-1d/d`` = yesterday in the dashboards' zone) or the dashboard's range,
``$timeFilter``, ``$__interval``, the variables — and the transformations the panels use (``groupBy``
with ``last``, ``filterByValue`` excluding equal values, ``sortBy``) applied to the rows InfluxDB returns.
"""

from __future__ import annotations

import csv
import json
import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from collector.testing import Message
from edge.areafile import load_area_file
from edge.publish.health import HealthInputs, build_health
from edge.publish.outbox import OutboxStats
from edge.replayer import replay
from edge.sim.config import parse_sim_config
from edge.sim.export import export
from wire import KINDS, format_msg_id, stamp
from wire.timefmt import rfc3339

PREFIX = "meterwatch/v2"
TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 1, tzinfo=timezone.utc)
DAYS = 12
NOW = START + timedelta(days=DAYS, hours=2)           # 10:00 on 03-13 in Shanghai: yesterday is 03-12
THIEF = "M0004"


def sim_config(area: str, seed: int, theft: bool) -> str:
    scenario = (f'[[scenario]]\nkind = "bypass_full"\nsubject = "{THIEF}"\nstart_h = 216\nend_h = 400\n'
                if theft else "")
    return (f'[sim]\nseed = {seed}\nstart = "{START:%Y-%m-%dT%H:%M:%SZ}"\n[area]\nid = "{area}"\ngrid = "g-east"\n'
            f"customers = 25\nbranches = 3\nrated_kva = 100\n{scenario}")


@dataclass
class Area:
    id: str
    gateway: str
    truth_loss_pct: dict[str, float] = field(default_factory=dict)   # local date -> (supply - sales) / supply
    messages: list[Message] = field(default_factory=list)

    def daily(self) -> dict[str, dict[str, Any]]:
        return {m.payload["date"]: m.payload for m in self.messages if m.payload["schema"] == KINDS["daily"].tag}


@dataclass
class Grid:
    areas: dict[str, Area]
    gateway_messages: list[Message]
    health: dict[str, list[dict[str, Any]]]                 # gateway -> health payloads

    @property
    def messages(self) -> list[Message]:
        return [m for a in self.areas.values() for m in a.messages] + self.gateway_messages


def _area(tmp: Path, area: str, gateway: str, seed: int, theft: bool) -> Area:
    cfg = parse_sim_config(sim_config(area, seed, theft), f"{area}.toml")
    export(cfg, tmp / area, DAYS)
    spec, params = load_area_file(tmp / area / "area.toml")
    out = Area(id=area, gateway=gateway)
    keep_realtime_from = NOW - timedelta(days=2)            # the realtime panels look at a day or a week

    def take(topic: str, payload: dict[str, Any]) -> None:
        if payload["schema"] == KINDS["realtime"].tag and datetime.fromisoformat(payload["ts"]) < keep_realtime_from:
            return
        out.messages.append(Message(topic, payload))

    replay(spec, params, tmp / area / "readings.csv", None, gateway=gateway, topic_prefix=PREFIX, on_message=take)
    supply: dict[str, float] = {}
    sales: dict[str, float] = {}
    with open(tmp / area / "balance.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            day = datetime.fromtimestamp(int(row["ts_start"]), TZ).strftime("%Y-%m-%d")
            supply[day] = supply.get(day, 0.0) + float(row["supply_kwh"])
            sales[day] = sales.get(day, 0.0) + float(row["reported_sales_kwh"])
    out.truth_loss_pct = {d: 100.0 * (supply[d] - sales[d]) / supply[d] for d in supply if supply[d] > 0}
    return out


def _gateway_messages(gateways: list[str]) -> tuple[list[Message], dict[str, list[dict[str, Any]]]]:
    msgs: list[Message] = []
    health: dict[str, list[dict[str, Any]]] = {}
    for g, gw in enumerate(gateways):
        seq: dict[str, int] = {}

        def msg(kind: str, payload: dict[str, Any], gw: str = gw, seq: dict[str, int] = seq) -> Message:
            topic = f"{PREFIX}/{gw}/{kind}"
            seq[topic] = seq.get(topic, 0) + 1
            n = sum(seq.values())
            return Message(topic, stamp(payload, msg_id=format_msg_id(gw, 10_000_000 + n),
                                        topic_seq=seq[topic] if KINDS[kind].stream else None))

        t0 = NOW - timedelta(hours=2)
        msgs.append(msg("status", {"schema": KINDS["status"].tag, "gateway": gw, "ts": rfc3339(t0.timestamp()),
                                   "state": "online", "version": "0.1.0", "boot_id": f"boot-{g}"}))
        health[gw] = []
        ok = failed = 0
        for k in range(120):
            ts = t0 + timedelta(minutes=k + 1)
            if k == 30:                      # the daemon restarted: its counters start again
                ok = failed = 0
            ok += 95 if k >= 60 else 100
            failed += 5 if k >= 60 else 0
            bus = {"name": "rs485-1", "reads_ok": ok, "reads_failed": failed, "utilisation": 0.5 + 0.1 * g,
                   "round_time_s": 300.0 + k, "lateness_s": 0.0, "devices_backed_off": 2 if k >= 100 else 0}
            payload = build_health(gateway=gw, now_s=ts.timestamp(), uptime_s=60.0 * ((k - 30) % 120 + 1),
                                   outbox=OutboxStats(depth=k % 7, bytes=100 * (k % 7), inflight=0,
                                                      dropped_summaries=3 if k >= 90 else 0, dropped_alerts=0,
                                                      superseded=0, rejected=0),
                                   inputs=HealthInputs(buses=[bus], engine={"A0" + str(g + 1): {
                                       "steps": float(k), "last_advance_ms": 1.5, "max_advance_ms": 4.0}}),
                                   version_info={"meterwatch": "0.1.0"})
            health[gw].append(payload)
            msgs.append(msg("health", payload))
        if g == 1:                           # gw-east-2 lost its connection: the broker published its will
            msgs.append(msg("status", {"schema": KINDS["status"].tag, "gateway": gw,
                                       "ts": rfc3339((NOW - timedelta(minutes=5)).timestamp()), "state": "offline",
                                       "version": "0.1.0", "boot_id": f"boot-{g}"}))
    return msgs, health


def build_grid(tmp: Path) -> Grid:
    areas = {"A01": _area(tmp, "A01", "gw-east-1", 401, True), "A02": _area(tmp, "A02", "gw-east-2", 5, False)}
    gw_msgs, health = _gateway_messages(["gw-east-1", "gw-east-2"])
    return Grid(areas=areas, gateway_messages=gw_msgs, health=health)


# ---- Grafana's side ---------------------------------------------------------------------------------

def time_range(panel: dict[str, Any], dashboard: dict[str, Any], now: datetime = NOW) -> tuple[datetime, datetime]:
    """The panel's time range as Grafana computes it (its relative time, else the dashboard's)."""
    rel = panel.get("timeFrom") or dashboard["time"]["from"]
    if rel == "now-1d/d":                # yesterday, in the dashboard's zone
        tz = zoneinfo.ZoneInfo(dashboard["timezone"])
        day = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
        return day, day + timedelta(days=1) - timedelta(milliseconds=1)
    m = re.fullmatch(r"(?:now-)?(\d+)([mhd])", rel)
    assert m, rel
    span = timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[m.group(2)]: int(m.group(1))})
    return now - span, now


def panel_query(panel: dict[str, Any], dashboard: dict[str, Any], variables: dict[str, str],
                interval: str = "1h") -> str:
    start, end = time_range(panel, dashboard)
    q = panel["targets"][0]["query"]
    q = q.replace("$timeFilter", f"time >= {int(start.timestamp() * 1000)}ms and time <= {int(end.timestamp() * 1000)}ms")
    q = q.replace("$__interval", interval)
    for k, v in variables.items():
        q = q.replace(f"${k}", v)
    assert not re.search(r"\$\w", q), q
    return q


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """InfluxDB's series as table rows (the tags of each series as columns), as Grafana's table shows them."""
    out = []
    for s in result.get("series", []):
        for values in s["values"]:
            out.append({**s.get("tags", {}), **dict(zip(s["columns"], values, strict=True))})
    return out


def transform(panel: dict[str, Any], table: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The panel's transformations (the kinds the generator uses) applied to ``table``."""
    for t in panel.get("transformations", []):
        opt = t["options"]
        if t["id"] == "groupBy":
            keys = [f for f, c in opt["fields"].items() if c["operation"] == "groupby"]
            lasts = [f for f, c in opt["fields"].items() if c["operation"] == "aggregate"]
            groups: dict[tuple[Any, ...], dict[str, Any]] = {}
            for r in sorted(table, key=lambda r: r["time"]):
                g = groups.setdefault(tuple(r[k] for k in keys), {k: r[k] for k in keys})
                for f in lasts:
                    g[f"{f} (last)"] = r["time" if f == "Time" else f]
            table = list(groups.values())
        elif t["id"] == "filterByValue":
            assert opt["type"] == "exclude" and all(f["config"]["id"] == "equal" for f in opt["filters"])
            table = [r for r in table if not any(r.get(f["fieldName"]) == f["config"]["options"]["value"]
                                                 for f in opt["filters"])]
        elif t["id"] == "sortBy":
            for s in reversed(opt["sort"]):
                name = "time" if s["field"] == "Time" else s["field"]
                table = sorted(table, key=lambda r, n=name: (r.get(n) is None, r.get(n)), reverse=s.get("desc", False))
        else:
            raise AssertionError(f"transformation {t['id']} is not emulated here")
    return table


def dashboards(directory: Path) -> dict[str, dict[str, Any]]:
    return {f.stem: json.loads(f.read_text(encoding="utf-8")) for f in sorted(directory.glob("*.json"))}
