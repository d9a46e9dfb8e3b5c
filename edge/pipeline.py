"""Readings in, durable messages out: one ``AreaRunner`` per area between the schedulers and the outbox.

Flow per area: ``DeviceRead`` batches from the bus schedulers (or replay's columnar batches) are
checked against physics (``edge.plausibility``: implausible values are counted and dropped, never
measured) and fed to the engine (``feed`` / ``feed_batch``); ``step(ts)`` advances the engine to event
time ``ts``, serialises what it and the plausibility checks produced and hands it to the sink in one
call. When alerts changed, the area's state (engine and plausibility) goes with that call, committed
together with the messages (``edge.publish.statefiles``), so after a kill an alert is neither lost nor
raised a second time; between alert changes the state is refreshed periodically.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from detect import Engine, ReadingBatch
from detect.alarms import Alert
from detect.area import PHASES, Area
from detect.context import AmbientSeries
from detect.engine import Output
from detect.params import Params
from detect.quantities import QUANTITY_CODE
from edge.plausibility import Limits, Plausibility
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
    readings_implausible: int = 0
    snapshots: int = 0
    last_advance_ms: float = 0.0
    max_advance_ms: float = 0.0
    last_snapshot_ms: float = 0.0
    rejected_reasons: dict[str, int] = field(default_factory=dict)
    implausible: dict[str, dict[str, int]] = field(default_factory=dict)   # device -> reason -> count

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {k: float(v) for k, v in vars(self).items() if isinstance(v, (int, float))}
        d["implausible"] = {dev: dict(reasons) for dev, reasons in self.implausible.items()}
        return d


_STATE_MAGIC = b"MWAR"
_STATE_HEAD = struct.Struct("<4sI")


def meter_places(area: Area) -> dict[str, tuple[str, str]]:
    """Each meter's (branch, phase) — phase ``A``/``B``/``C``, ``ABC`` for a three-phase meter — for the
    subject of its alerts."""
    phases = (*PHASES, "ABC")
    return {mid: (area.branches[int(b)], phases[int(ph)])
            for mid, b, ph in zip(area.meter_ids, area.meter_branch, area.meter_phase, strict=True)}


def pack_state(engine: bytes, plausibility: bytes) -> bytes:
    """One blob for the area: the engine snapshot and the plausibility state."""
    return _STATE_HEAD.pack(_STATE_MAGIC, len(engine)) + engine + plausibility


def unpack_state(blob: bytes) -> tuple[bytes, bytes | None]:
    """(engine, plausibility); a bare engine snapshot of an older version gives (blob, None)."""
    if blob[:4] != _STATE_MAGIC or len(blob) < _STATE_HEAD.size:
        return blob, None
    _, n = _STATE_HEAD.unpack_from(blob)
    return blob[_STATE_HEAD.size:_STATE_HEAD.size + n], blob[_STATE_HEAD.size + n:]


class AreaRunner:
    """The engine of one area and everything between it and the message sink."""

    def __init__(self, area: Area, params: Params, *, gateway: str, topic_prefix: str,
                 sink: MessageSink, saved_state: bytes | None = None,
                 snapshot_interval_s: float = 300.0, publish_realtime: bool = True,
                 publish_meters_interval: bool = True, snapshots: bool = True, active_each_step: bool = True,
                 plausibility: Limits | None = None, ambient: AmbientSeries | None = None) -> None:
        self.area = area
        self.params = params
        self.sink = sink
        self.ambient = ambient
        self.state_key = f"engine:{area.id}"
        self.plausibility = Plausibility(area, plausibility or Limits.build(
            area, rollover_kwh=params.register_rollover_kwh))
        self.engine = self._restore(saved_state) if saved_state else Engine(area, params, ambient=ambient)
        self.serializer = Serializer(gateway=gateway, grid=area.grid or "default", area=area.id,
                                     topic_prefix=topic_prefix, meters=meter_places(area))
        self.snapshot_interval_s = snapshot_interval_s
        self._last_snapshot_s = time.monotonic()
        self.publish_realtime = publish_realtime
        self.publish_meters_interval = publish_meters_interval
        self.stats = StepStats()
        self.last_event_ts = 0.0
        self.snapshots = snapshots       # replay has nowhere to restore from: no snapshot cost
        # live: the retained active list follows every step that changed it; replay: only the engine's check
        # points, so that its output does not depend on --batch-s (docs/replay.md, "Time")
        self.active_each_step = active_each_step
        # The gateway's own active alerts about this area (port_unavailable), listed with the engine's.
        self.extra_active: Callable[[], list[Alert]] = lambda: []

    def _restore(self, blob: bytes) -> Engine:
        engine_blob, plaus_blob = unpack_state(blob)
        try:
            eng = Engine.restore(engine_blob, area=self.area, params=self.params, ambient=self.ambient)
            log.info("area %s: engine state restored (%d active alerts)", self.area.id, len(eng.active_alerts()))
        except Exception as exc:  # a snapshot from another version or a changed area: start fresh, loudly
            log.error("area %s: saved engine state not usable (%s); starting with fresh state", self.area.id, exc)
            return Engine(self.area, self.params, ambient=self.ambient)
        if plaus_blob is not None:
            try:
                self.plausibility.restore(plaus_blob)
            except Exception as exc:
                log.error("area %s: saved plausibility state not usable (%s); register baselines start "
                          "afresh", self.area.id, exc)
        return eng

    def snapshot(self) -> bytes:
        """The area's state as saved with its messages: engine and plausibility."""
        return pack_state(self.engine.snapshot(), self.plausibility.snapshot())

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
        if not dev:
            return 0
        return self.feed_batch(ReadingBatch.from_columns(dev, qty, val, tss, n_devices=self.area.n_meters + 1))

    def feed_batch(self, batch: ReadingBatch) -> int:
        """Check a columnar batch against physics and queue what is plausible for the engine (replay:
        the reader has resolved names and dropped unparsable rows). Returns the readings queued."""
        if not len(batch):
            return 0
        keep = self.plausibility.check(batch.device, batch.quantity, batch.value, batch.ts)
        if not keep.all():
            self.stats.readings_implausible += int((~keep).sum())
            self.stats.implausible = self.plausibility.rejected_by_device()
            batch = batch.take(keep)
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
        out = self.engine.advance(ts, active_at_end=self.active_each_step)
        ms = (time.perf_counter() - t0) * 1000.0
        self.stats.last_advance_ms = ms
        self.stats.max_advance_ms = max(self.stats.max_advance_ms, ms)
        self.stats.steps += 1
        return await self._store(out, force_snapshot)

    async def finish(self, ts: float) -> int:
        """The end of the data (replay): the active alerts at ``ts`` if they changed since the engine last
        put them out (it does after the readings it puts through its stages)."""
        self.engine.mark_active(ts)
        return await self._store(self.engine.drain(), False)

    def _messages(self, out: Output) -> tuple[list[Outgoing], int]:
        """The engine's output in its order, then the plausibility alerts raised since the last step (with
        the active list after them, at the last one's time). Returns the messages and the alert count."""
        device_alerts = self.plausibility.take_alerts()
        msgs = self.serializer.in_order(out, self.plausibility.active_alerts(), self.extra_active())
        if device_alerts:
            tail = Output(alerts=device_alerts)
            active = [*sorted([*self.engine.active_alerts(), *self.plausibility.active_alerts()],
                              key=lambda a: (a.raised_at, a.alert_id)), *self.extra_active()]
            msgs += self.serializer.output(tail, active=active, ts=max(a.ts for a in device_alerts))
        return msgs, len(out.alerts) + len(device_alerts)

    async def _store(self, out: Output, force_snapshot: bool) -> int:
        msgs, n_alerts = self._messages(out)
        items = [m for m in msgs if self._wanted(m.kind)]
        state: dict[str, bytes] | None = None
        due = time.monotonic() - self._last_snapshot_s >= self.snapshot_interval_s
        if self.snapshots and (n_alerts or force_snapshot or (due and items)):
            t1 = time.perf_counter()
            state = {self.state_key: self.snapshot()}
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
        self.stats.alerts += n_alerts
        return len(items)
