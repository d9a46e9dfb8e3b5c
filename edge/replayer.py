"""Replay an exported readings CSV through the same engine and serialisers as the daemon (docs/replay.md).

``replay(area, params, path, out)`` streams ``edge.replay.read_batches`` into an ``edge.pipeline.AreaRunner``
whose sink writes JSON lines ``{"topic": ..., "payload": ...}`` with msg_ids ``<gateway>:<seq>`` and
per-topic ``topic_seq`` as the outbox would stamp them: exactly the messages the daemon would publish, in
publication order. Used by ``meterwatch replay`` and by
``bench/detection_eval.py`` (in-process, same code).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from detect.area import Area
from detect.batch import ReadingBatch
from detect.context import AmbientSeries
from detect.params import Params
from edge.imports import ImportOptions, Readings
from edge.nominalcheck import VoltageSample, nominal_warning
from edge.pipeline import AreaRunner
from edge.plausibility import Limits
from edge.replay import ReadingBatch as ReplayBatch
from edge.replay import ReplayStats, read_batches
from wire import KINDS, Outgoing, format_msg_id, stamp
from wire.topics import DEFAULT_PREFIX

__all__ = ["JsonlSink", "ReplayResult", "replay"]


class JsonlSink:
    """A ``MessageSink`` writing one JSON object per line; stamps ids as the outbox does (msg_id
    ``<gateway>:1, 2 …``, ``topic_seq`` per stream topic). ``on_message`` (optional) sees every
    (topic, payload) as written, for in-process evaluation."""

    def __init__(self, stream: IO[str] | None, on_message: Callable[[str, dict[str, Any]], None] | None = None,
                 *, gateway: str = "replay") -> None:
        self.stream = stream
        self.on_message = on_message
        self.gateway = gateway
        self.seq = 0
        self.topic_seq: Counter[str] = Counter()
        self.by_kind: Counter[str] = Counter()

    async def submit_many(self, items: Sequence[Outgoing], *, state: dict[str, bytes] | None = None) -> list[str]:
        ids = []
        lines = []
        for item in items:
            topic = item.topic
            self.seq += 1
            msg_id = format_msg_id(self.gateway, self.seq)
            if item.stream:
                self.topic_seq[topic] += 1
            payload = stamp(item.payload, msg_id=msg_id, topic_seq=self.topic_seq[topic] if item.stream else None)
            ids.append(msg_id)
            self.by_kind[item.kind] += 1
            if self.stream is not None:
                lines.append(json.dumps({"topic": topic, "payload": payload}, separators=(",", ":")))
            if self.on_message is not None:
                self.on_message(topic, payload)
        if lines and self.stream is not None:
            self.stream.write("\n".join(lines) + "\n")
        return ids


@dataclass
class ReplayResult:
    stats: ReplayStats
    messages: Counter[str] = field(default_factory=Counter)      # by payload kind
    raised: Counter[str] = field(default_factory=Counter)        # alert kind -> raised events
    cleared: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    max_advance_ms: float = 0.0
    implausible: dict[str, dict[str, int]] = field(default_factory=dict)   # device -> reason -> readings
    warnings: list[str] = field(default_factory=list)

    def summary_lines(self) -> list[str]:
        st = self.stats
        rate = st.accepted / self.seconds if self.seconds > 0 else 0.0
        out = [f"readings: {st.rows:,} rows, {st.accepted:,} accepted, {st.rejected:,} rejected, {st.late:,} late",
               f"time: {self.seconds:.1f} s ({rate:,.0f} readings/s), slowest engine step {self.max_advance_ms:.1f} ms"]
        for reason, count in sorted(st.errors.items()):
            out.append(f"rejected {reason}: {count:,}")
        by_reason: Counter[str] = Counter()
        for reasons in self.implausible.values():
            by_reason.update(reasons)
        for reason, count in sorted(by_reason.items()):
            devices = sorted(d for d, r in self.implausible.items() if reason in r)
            out.append(f"implausible {reason}: {count:,} readings from {len(devices)} device(s) "
                       f"({', '.join(devices[:5])}{', …' if len(devices) > 5 else ''}), not used for detection")
        out.append("messages: " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.messages.items())))
        for kind in sorted(set(self.raised) | set(self.cleared)):
            out.append(f"alerts {kind}: {self.raised[kind]} raised, {self.cleared[kind]} cleared")
        if not self.raised and not self.cleared:
            out.append("alerts: none")
        out += [f"warning: {w}" for w in self.warnings]
        return out


def window_end(b: ReplayBatch, area: Area, params: Params) -> float:
    """How far event time may advance after window ``b`` (docs/replay.md, "Time"): to its end, unless a
    master poll may go on into the next window (its last reading within ``master_group_s`` of the end):
    then to just before that poll, which the next window completes."""
    m = b.ts[b.device == area.master_index]
    if not len(m) or m[-1] <= b.t_end - params.master_group_s:
        return b.t_end
    gaps = np.flatnonzero(np.diff(m) > params.master_group_s)
    start = m[gaps[-1] + 1] if len(gaps) else m[0]
    return float(np.nextafter(start, -math.inf))


def replay(area: Area, params: Params, path: str | Path, out: IO[str] | None, *,
           progress: IO[str] | None = None, gateway: str = "replay", topic_prefix: str = DEFAULT_PREFIX,
           batch_s: float = 3600.0, reorder_s: float = 300.0,
           on_message: Callable[[str, dict[str, Any]], None] | None = None,
           options: ImportOptions | None = None, readings: Readings | None = None,
           plausibility: Limits | None = None, ambient: AmbientSeries | None = None) -> ReplayResult:
    """Run the export ``readings`` through the engine of ``area``; JSON lines to ``out`` (None: count only).
    ``options`` say how to read it (mapping, zone); an export already opened may be passed as ``readings``
    (its stats become the result's). ``plausibility``: the area's limits (``edge.plausibility.limits_for``);
    default: the defaults for its meters. ``ambient``: an ambient series for the thermal model
    (``meterwatch replay --ambient``)."""
    stats = readings.stats if readings is not None and isinstance(readings.stats, ReplayStats) else ReplayStats()
    result = ReplayResult(stats=stats)

    def seen(topic: str, payload: dict[str, Any]) -> None:
        if payload.get("schema") == KINDS["alert"].tag:
            (result.raised if payload["state"] == "raised" else
             result.cleared if payload["state"] == "cleared" else Counter())[payload["kind"]] += 1
        if on_message is not None:
            on_message(topic, payload)

    sink = JsonlSink(out, seen, gateway=gateway)
    runner = AreaRunner(area, params, gateway=gateway, topic_prefix=topic_prefix, sink=sink, snapshots=False,
                        active_each_step=False,
                        plausibility=plausibility, ambient=ambient)
    t0 = time.perf_counter()

    async def go() -> None:
        # Event time follows the data: each window is advanced to its end (or just before a master poll
        # it splits), once the next window is read. No flush past the last reading: that would be a silence
        # the data does not contain (master_offline / outage_area).
        held: ReplayBatch | None = None
        last = -math.inf
        for b in read_batches(path, area, batch_s=batch_s, reorder_s=reorder_s, stats=result.stats,
                              progress=progress, options=options, readings=readings):
            if held is not None:
                await runner.step(window_end(held, area, params))
            runner.feed_batch(ReadingBatch(device=b.device, quantity=b.quantity, value=b.value, ts=b.ts))
            volts.add(b.quantity, b.value)
            last = max(last, float(b.ts.max())) if len(b) else last
            held = b
        if held is not None and math.isfinite(last):
            await runner.step(last)
            await runner.finish(last)

    volts = VoltageSample()
    asyncio.run(go())
    nominal = runner.engine.ctx.params.voltage.nominal_v
    result.warnings += [w for w in [nominal_warning(area.id, nominal, volts.values())] if w]
    result.seconds = time.perf_counter() - t0
    result.messages = sink.by_kind
    result.max_advance_ms = runner.stats.max_advance_ms
    result.implausible = runner.plausibility.rejected_by_device()
    return result
