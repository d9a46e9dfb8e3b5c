"""The report of ``meterwatch import --inspect``: what was detected, then the whole file counted."""

from __future__ import annotations

import time

import numpy as np

from detect.quantities import QUANTITIES
from edge.imports.reader import Readings

__all__ = ["report"]


def _utc(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _shape(r: Readings) -> list[str]:
    head, src, plan = r.source.head, r.source, r.plan
    size = f"{src.total_bytes / 1e6:.1f} MB" if src.total_bytes >= 1e5 else f"{src.total_bytes:,} bytes"
    out = [f"file: {r.path} ({size}, {src.kind})"]
    if src.kind == "text":
        delim = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "bar"}.get(head.delimiter, repr(head.delimiter))
        how = "stated" if r.options.mapping.encoding != "auto" else "detected"
        out.append(f"encoding: {head.encoding} ({how}){', BOM' if head.bom else ''}; delimiter: {delim}; "
                   f"line endings: {'CRLF' if head.crlf else 'LF'}")
    else:
        out.append(f"sheets: {', '.join(repr(n) for n in src.names)}")  # type: ignore[attr-defined]
    if head.preamble:
        out.append(f"preamble: {len(head.preamble)} line(s) above the header: "
                   + ", ".join(repr(p[:50]) for p in head.preamble[:3]))
    trail = f" (+{head.trailing_empty} empty trailing columns dropped)" if head.trailing_empty else ""
    where = src.where(head.header_line) if src.kind == "xlsx" else f"line {head.header_line}"
    out.append(f"header: {where}, {len(head.header)} columns{trail}")
    out.append(f"layout: {plan.layout} (mapping: {r.options.mapping.source})")
    out.append("columns:")
    for i in range(len(head.header)):
        out.append(f"  {src.column(i):<34} -> {plan.meaning.get(i, 'ignored')}")
    zone = r.zone.describe(None) if r.zone.fixed else r.zone.name
    out.append(f"time: {plan.time_name}; times without a zone are read in {zone}, from {r.zone_source}")
    out.extend(f"note: {n}" for n in [*head.notes, *plan.notes])
    return out


def report(r: Readings, rows: int = 8) -> list[str]:
    out = _shape(r)
    out.append("units and kinds (decided on the head of the file, against the area's ratings):")
    out.extend(f"  {d}" for d in r.conversion.decisions or ["no energy or power readings"])
    out.extend(f"  warning: {w}" for w in r.conversion.warnings)
    first: list[str] = []
    names = [*r.area.meter_ids, "master"]
    tmin, tmax, n = np.inf, -np.inf, 0
    devices: set[int] = set()
    for dev, q, val, ts in r.chunks():
        for k in range(min(rows - len(first), dev.size)):
            first.append(f"  {_utc(float(ts[k]))}  {names[int(dev[k])]:<14} {QUANTITIES[int(q[k])]:<12} {val[k]:g}")
        if ts.size:
            tmin, tmax = min(tmin, float(ts.min())), max(tmax, float(ts.max()))
            devices.update(np.unique(dev).tolist())
            n += ts.size
    st = r.stats
    out.append(f"rows: {st.rows:,}; readings accepted {st.accepted:,}, rejected {st.rejected:,}"
               + (f", {st.base_readings:,} register bases added (interval consumption)" if st.base_readings else ""))
    for reason, count in sorted(st.errors.items()):
        out.append(f"  rejected {reason}: {count:,}")
    out.extend(f"  {m}" for m in st.messages[:10])
    if n:
        meters = len(devices - {r.area.master_index})
        out.append(f"span: {_utc(tmin)} .. {_utc(tmax)}; meters: {meters} of {r.area.n_meters}; master: "
                   f"{'present' if r.area.master_index in devices else 'absent'}")
    out.append("first readings (UTC, our units):")
    out.extend(first or ["  none"])
    return out
