"""Readings in, durable messages out: one ``AreaRunner`` per area between the schedulers and the outbox.

Flow per area: ``DeviceRead`` batches from the bus schedulers are turned into columnar engine batches
(``feed``); ``step(ts)`` advances the engine to event time ``ts``, serialises what it produced and stores
it in the outbox in one transaction. When alerts changed, the engine snapshot is stored in that same
transaction, so after a kill an alert is neither lost nor raised a second time; between alert changes
the snapshot is refreshed periodically.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from detect import Engine, ReadingBatch
from detect.alarms import Alert
from detect.area import Area
from detect.params import Params
from detect.quantities import QUANTITY_CODE
from edge.publish.serializers import Serializer
from edge.readings import DeviceRead
from wire import Outgoing

__all__ = ["AreaRunner", "MessageSink", "StepStats"]

log = logging.getLogger(__name__)


class MessageSink(Protocol):
    """Where a step's messages go: ``edge.publish.Publisher`` in the daemon, a file in replay."""

    async def submit_many(self, items: Sequence[Outgoing], *,
                          state: dict[str, bytes] | None = None) -> Sequence[str | None]: ...


@dataclass
class StepStats:
    steps: int = 0
    messages: int = 0
    alerts: int = 0
    readings_fed: int = 0
    readings_rejected: int = 0
    snapshots: int = 0
    last_advance_ms: float = 0.0
    max_advance_ms: float = 0.0
    last_snapshot_ms: float = 0.0
    rejected_reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, float]:
        d = {k: float(v) for k, v in vars(self).items() if isinstance(v, (int, float))}
        return d


class AreaRunner:
    """The engine of one area and everything between it and the message sink."""

    def __init__(self, area: Area, params: Params, *, gateway: str, topic_prefix: str,
                 sink: MessageSink, saved_state: bytes | None = None,
                 snapshot_interval_s: float = 300.0, publish_realtime: bool = True,
                 publish_meters_interval: bool = True, snapshots: bool = True) -> None:
        self.area = area
        self.params = params
        self.sink = sink
        self.state_key = f"engine:{area.id}"
        self.engine = self._restore(saved_state) if saved_state else Engine(area, params)
        self.serializer = Serializer(gateway=gateway, grid=area.grid or "default", area=area.id,
                                     topic_prefix=topic_prefix)
        self.snapshot_interval_s = snapshot_interval_s
        self._last_snapshot_s = time.monotonic()
        self.publish_realtime = publish_realtime
        self.publish_meters_interval = publish_meters_interval
        self.stats = StepStats()
        self.last_event_ts = 0.0
        self.snapshots = snapshots       # replay has nowhere to restore from: no snapshot cost
        # The gateway's own active alerts about this area (port_unavailable), listed with the engine's.
        self.extra_active: Callable[[], list[Alert]] = lambda: []

    def _restore(self, blob: bytes) -> Engine:
        try:
            eng = Engine.restore(blob, area=self.area, params=self.params)
            log.info("area %s: engine state restored (%d active alerts)", self.area.id, len(eng.active_alerts()))
            return eng
        except Exception as exc:  # a snapshot from another version or a changed area: start fresh, loudly
            log.error("area %s: saved engine state not usable (%s); starting with fresh state", self.area.id, exc)
            return Engine(self.area, self.params)

    def _reject(self, reason: str, n: int = 1) -> None:
        self.stats.readings_rejected += n
        self.stats.rejected_reasons[reason] = self.stats.rejected_reasons.get(reason, 0) + n

    def _reject_message(self, kind: str, reason: str) -> None:
        log.error("area %s: %s message dropped: %s", self.area.id, kind, reason)
        key = f"message {kind} rejected"
        self.stats.rejected_reasons[key] = self.stats.rejected_reasons.get(key, 0) + 1

    def feed(self, reads: Iterable[tuple[str, DeviceRead]]) -> int:
        """Queue readings for the engine. ``reads`` are (engine device name, DeviceRead): ``"master"`` or
        a meter id of this area. Unknown devices or quantities and non-finite values are counted and
        dropped, never raised. Returns the number of readings queued."""
        dev: list[int] = []
        qty: list[int] = []
        val: list[float] = []
        tss: list[float] = []
        for name, dr in reads:
            try:
                index = self.area.device_index(name)
            except KeyError:
                self._reject(f"unknown device {name}", len(dr.readings))
                continue
            for r in dr.readings:
                code = QUANTITY_CODE.get(r.quantity)
                if code is None:
                    self._reject(f"unknown quantity {r.quantity}")
                    continue
                if not np.isfinite(r.value):
                    self._reject("non-finite value")
                    continue
                dev.append(index)
                qty.append(code)
                val.append(float(r.value))
                tss.append(float(r.ts))
        if dev:
            self.engine.ingest(ReadingBatch.from_columns(dev, qty, val, tss, n_devices=self.area.n_meters + 1))
            self.stats.readings_fed += len(dev)
            self.last_event_ts = max(self.last_event_ts, max(tss))
        return len(dev)

    def feed_batch(self, batch: ReadingBatch) -> int:
        """Queue an already columnar batch (replay: the reader has resolved names and dropped bad rows)."""
        if len(batch):
            self.engine.ingest(batch)
            self.stats.readings_fed += len(batch)
            self.last_event_ts = max(self.last_event_ts, float(batch.ts.max()))
        return len(batch)

    def _wanted(self, kind: str) -> bool:
        if kind == "realtime":
            return self.publish_realtime
        if kind == "meters_interval":
            return self.publish_meters_interval
        return True

    async def step(self, ts: float, *, force_snapshot: bool = False) -> int:
        """Advance to event time ``ts`` and store what the engine produced. Returns messages stored."""
        t0 = time.perf_counter()
        out = self.engine.advance(ts)
        ms = (time.perf_counter() - t0) * 1000.0
        self.stats.last_advance_ms = ms
        self.stats.max_advance_ms = max(self.stats.max_advance_ms, ms)
        self.stats.steps += 1
        msgs = self.serializer.output(out, active=[*self.engine.active_alerts(), *self.extra_active()], ts=ts)
        items = [m for m in msgs if self._wanted(m.kind)]
        state: dict[str, bytes] | None = None
        due = time.monotonic() - self._last_snapshot_s >= self.snapshot_interval_s
        if self.snapshots and (out.alerts or force_snapshot or (due and items)):
            t1 = time.perf_counter()
            state = {self.state_key: self.engine.snapshot()}
            self.stats.last_snapshot_ms = (time.perf_counter() - t1) * 1000.0
            self.stats.snapshots += 1
            self._last_snapshot_s = time.monotonic()
        if items or state:
            try:
                await self.sink.submit_many(items, state=state)
            except ValueError as exc:
                # One payload the outbox cannot store must not take the others (alerts) with it.
                log.error("area %s: a step's messages were rejected (%s); storing them one by one", self.area.id, exc)
                kept = []
                for item in items:
                    try:
                        await self.sink.submit_many([item])
                        kept.append(item)
                    except ValueError as one:
                        self._reject_message(item.kind, str(one))
                if state:
                    await self.sink.submit_many([], state=state)
                items = kept
        self.stats.messages += len(items)
        self.stats.alerts += len(out.alerts)
        return len(items)
