"""Grafana's Prometheus datasource, as far as the VictoriaMetrics dashboards use it, for
tests/deploy/test_grafana_vm.py.

A panel's targets are sent the way Grafana sends them: the panel's range (tests/deploy/grafana_data.py
``time_range``), ``$__range`` (whole seconds), ``$__interval`` and the step (the larger of the test's
interval and the target's minimum step), start and end aligned to the step — on UTC (VictoriaMetrics'
own alignment, Grafana before 9) or, with ``utc_offset_s``, on the dashboard zone's clock (Grafana's
``utcOffsetSec``) — instant targets at the range's end. Each target's answer becomes a frame (one row per
series and sample: its labels, ``time`` in ns, and the value named as Grafana names it: ``Value`` /
``Value #A`` in tables, the legend without its ``{{label}}`` parts in time series); the panel's
transformations (``organize``, ``merge``, ``sortBy``) are then applied to the frames.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from datetime import datetime
from typing import Any

from tests.deploy import grafana_data as gd

Row = dict[str, Any]
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(text: str) -> int:
    m = re.fullmatch(r"(\d+)([smhd])", text)
    assert m, text
    return int(m.group(1)) * UNITS[m.group(2)]


def api(url: str, path: str, **params: Any) -> Any:
    q = urllib.parse.urlencode(params, doseq=True)
    with urllib.request.urlopen(f"{url}{path}?{q}", timeout=30) as r:
        body = json.loads(r.read())
    assert body["status"] == "success", (path, params, body)
    return body["data"]


def substitute(expr: str, variables: dict[str, str], interval_s: int, range_s: int) -> str:
    expr = expr.replace("$__interval", f"{interval_s}s").replace("$__range", f"{range_s}s")
    for k, v in variables.items():
        expr = expr.replace(f"${k}", v)
    assert not re.search(r"\$\w", expr), expr
    return expr


def _align(t: float, step: int, offset: int) -> int:
    return int((t + offset) // step * step - offset)


def _value_name(target: dict[str, Any], n_targets: int) -> str:
    if target["format"] == "table":
        return f"Value #{target['refId']}" if n_targets > 1 else "Value"
    return re.sub(r"\s*\{\{\w+\}\}", "", target["legendFormat"]).strip() or "Value"


def frame(data: dict[str, Any], name: str) -> list[Row]:
    out = []
    for s in data["result"]:
        samples = s["values"] if "values" in s else [s["value"]]
        for ts, v in samples:
            out.append({**s["metric"], "time": round(float(ts) * 1000) * 10**6, name: float(v)})
    return out


def query(url: str, panel: dict[str, Any], dashboard: dict[str, Any], variables: dict[str, str],
          interval: str = "1h", utc_offset_s: int = 0) -> list[list[Row]]:
    """Every target of ``panel`` run against VictoriaMetrics at ``url``: one frame each."""
    start, end = gd.time_range(panel, dashboard)
    range_s = round((end - start).total_seconds())
    frames = []
    for t in panel["targets"]:
        step = max(seconds(interval), seconds(t["interval"]) if t["interval"] else 0)
        expr = substitute(t["expr"], variables, step, range_s)
        if t["instant"]:
            data = api(url, "/api/v1/query", query=expr, time=f"{end.timestamp():.3f}")
        else:
            data = api(url, "/api/v1/query_range", query=expr, step=step,
                       start=_align(start.timestamp(), step, utc_offset_s),
                       end=_align(end.timestamp(), step, utc_offset_s))
        frames.append(frame(data, _value_name(t, len(panel["targets"]))))
    return frames


def _merge(frames: list[list[Row]]) -> list[Row]:
    """Grafana's merge: rows of all frames joined where every field but the values is equal."""
    joined: dict[tuple[Any, ...], Row] = {}
    for rows in frames:
        for r in rows:
            key = tuple(sorted((k, v) for k, v in r.items() if not k.startswith("Value")))
            joined.setdefault(key, {}).update(r)
    return list(joined.values())


def transform(panel: dict[str, Any], frames: list[list[Row]]) -> list[Row]:
    for t in panel.get("transformations", []):
        opt = t["options"]
        if t["id"] == "organize":
            drop, rename = opt.get("excludeByName", {}), opt.get("renameByName", {})
            frames = [[{rename.get(k, k): v for k, v in r.items() if not drop.get(k)} for r in rows]
                      for rows in frames]
        elif t["id"] == "merge":
            frames = [_merge(frames)]
        elif t["id"] == "sortBy":
            rows = [r for f in frames for r in f]
            for s in reversed(opt["sort"]):
                name = "time" if s["field"] == "Time" else s["field"]
                rows = sorted(rows, key=lambda r, n=name: (r.get(n) is None, r.get(n)), reverse=s.get("desc", False))
            frames = [rows]
        else:
            raise AssertionError(f"transformation {t['id']} is not emulated here")
    return [r for f in frames for r in f]


def run(url: str, dashboard: dict[str, Any], title: str, variables: dict[str, str], interval: str = "1h",
        utc_offset_s: int = 0) -> list[Row]:
    panel = next(p for p in dashboard["panels"] if p["title"] == title)
    return transform(panel, query(url, panel, dashboard, variables, interval, utc_offset_s))


def label_values(url: str, definition: str, variables: dict[str, str], start: datetime, end: datetime) -> list[str]:
    """A ``label_values(selector, label)`` variable as Grafana resolves it (label values API, match[])."""
    m = re.fullmatch(r"label_values\((.+), (\w+)\)", substitute(definition, variables, 60, 60))
    assert m, definition
    return sorted(api(url, f"/api/v1/label/{m.group(2)}/values", **{"match[]": m.group(1)},
                      start=int(start.timestamp()), end=int(end.timestamp())))
