"""The per-area streaming engine (docs/architecture.md): ``ingest`` readings, ``advance`` event time, get alerts and
summaries; ``snapshot``/``restore`` carry the whole state, active alarms included.

Event time: the engine's clock is the ``ts`` given to ``advance``. Readings up to it are processed in
time order; readings that arrive late are still placed if their interval is open (an interval closes
``lateness_s`` after its end), realtime detectors only see master polls newer than the last one.

The engine is the only owner of alarms and output. The stages (``detect.stages``) are steps that take
the area context, their own state and what is new, and return their new state and what they observed:
conditions, which the engine turns into raised / updated / cleared events (``AlarmBoard``), and summary
fields. The order they run in is below, in one place: ``_polls`` (every master poll), ``_chunk`` (every
chunk of readings), ``_close_interval`` and ``_close_day``. docs/extending.md shows how to add one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from detect import snapshot
from detect.alarmboard import AlarmBoard
from detect.alarms import Alert
from detect.area import Area
from detect.backend import backend
from detect.batch import ReadingBatch
from detect.clock import EngineClock
from detect.columns import Columns
from detect.context import AmbientSeries, AreaContext
from detect.moments import DayMoment, IntervalMoment, PollMoment
from detect.observe import AlarmSpec, Observed
from detect.params import Params
from detect.quantities import CT_SCALED, QUANTITY_CODE
from detect.stages import (
    availability,
    balance,
    load,
    loss,
    mapping,
    master,
    meters,
    ntl,
    polls,
    readings,
    summaries,
    supply,
    suspects,
    theft,
    thermal,
    watch,
)
from detect.stages._fmt import num

__all__ = ["DETECTORS", "STAGES", "Active", "Engine", "Output", "Summary"]

# Every stage that declares alert kinds (its ``alarms(ctx)``): the engine makes their trackers.
STAGES = (load, thermal, balance, supply, meters, availability, summaries, loss, ntl, theft, suspects, mapping)
# Detectors that act on master polls, a closed interval or a closed day with their own state: one line each,
# run in this order after the built-in stages of the same moment (docs/extending.md).
DETECTORS: tuple[ModuleType, ...] = ()
HOOKS = ("on_polls", "on_interval", "on_day")
# The engine's attributes holding column states (each ``arrays()`` / ``restore(arrays, like)``): the snapshot.
STATE_ATTRS = ("clock", "readings", "meters", "master", "thermal", "day", "availability", "loss", "ntl", "theft",
               "suspects", "mapping")


@dataclass(frozen=True, kw_only=True)
class Summary:
    """One summary: ``kind`` is realtime | interval | daily | meters_interval; ``ts`` its event time."""

    kind: str
    ts: float
    fields: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Active:
    """The active alerts at event time ``ts`` (the retained ``alerts/active`` list)."""

    ts: float
    alerts: list[Alert]


@dataclass(frozen=True, kw_only=True)
class Output:
    """What one ``advance`` produced: alert events and summaries; and in ``sequence`` both in the order they
    were made, with the active alerts (``Active``) at each availability check point after alerts changed.
    The sequence is the same however the engine was advanced."""

    alerts: list[Alert] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)
    sequence: list[Alert | Summary | Active] = field(default_factory=list)


Obs = TypeVar("Obs", bound=Observed)

# Quantities a CT scales (secondary → primary); voltages, power factor, status words and counters are not.
_CT_SCALED = np.array(sorted(QUANTITY_CODE[q] for q in CT_SCALED), dtype=np.int16)


class Engine:
    """Streaming detection for one transformer area."""

    def __init__(self, area: Area, params: Params | None = None, *, backend_name: str | None = None,
                 detectors: Sequence[ModuleType] = DETECTORS, ambient: AmbientSeries | None = None) -> None:
        self.area = area
        self.params = params or Params()
        self.backend_name = backend_name or backend()
        ctx = self.ctx = AreaContext.build(area, self.params, self.backend_name, ambient)
        n_slots = math.ceil(self.params.lateness_s / self.params.interval_s) + 2
        # one state per stage that keeps one; only that stage changes it
        self.clock = EngineClock.fresh(n_slots)
        self.readings = readings.ReadingsState.fresh(ctx)
        self.meters = meters.MeterState.fresh(ctx, n_slots)
        self.master = master.MasterState.fresh(n_slots)
        self.thermal = thermal.ThermalState()
        self.supply = supply.SupplyState()
        self.day = summaries.DayState.fresh()
        self.availability = availability.AvailabilityState.fresh(ctx)
        self.loss = loss.LossState.fresh(ctx, n_slots)
        self.ntl = ntl.NtlState.fresh(ctx)
        self.theft = theft.TheftState.fresh(ctx)
        self.suspects = suspects.SuspectState.fresh(ctx)
        self.mapping = mapping.MappingState.fresh(ctx)
        self.detectors = _checked(detectors)
        self.detector_states: dict[str, Columns | None] = {
            d.NAME: d.fresh(ctx) if hasattr(d, "fresh") else None for d in self.detectors}
        specs: list[AlarmSpec] = [s for stage in (*STAGES, *self.detectors) for s in stage.alarms(ctx)]
        self.board = AlarmBoard(area, specs, ctx.ops["alarms"], update_min_s=self.params.alarms.update_min_s,
                                update_rel=self.params.alarms.update_rel)
        self._pending: list[ReadingBatch] = []
        # when availability checks may be skipped (not in the snapshot: a restored engine checks at once)
        self._watch = watch.NONE
        self._deadline = -math.inf
        self.skip_checks = True
        self._alerts: list[Alert] = []
        self._summaries: list[Summary] = []
        self._sequence: list[Alert | Summary | Active] = []
        self.active_changed = False         # alerts changed since the last ``Active`` in the sequence
        self.counters: dict[str, int] = {"readings_ingested": 0, "readings_late_dropped": 0,
                                         "master_readings_late": 0, "readings_non_finite": 0}

    # ---- contract -------------------------------------------------------------------------------
    def ingest(self, batch: ReadingBatch) -> None:
        """Queue a batch of readings; they are processed by the next ``advance`` that reaches their time."""
        if len(batch) and int(batch.device.max()) > self.area.master_index:
            idx = int(batch.device[batch.device > self.area.master_index][0])
            raise ValueError(f"area {self.area.id}: device index {idx} outside 0..{self.area.master_index}")
        batch = self._to_primary(batch)
        bad = ~np.isfinite(batch.value) & ~np.isnan(batch.value)
        if bad.any():           # ±inf from a broken scale or decoder: treated as not read, and counted
            batch = ReadingBatch(device=batch.device, quantity=batch.quantity,
                                 value=np.where(bad, np.nan, batch.value), ts=batch.ts)
            self.counters["readings_non_finite"] += int(bad.sum())
        self._pending.append(batch)
        self.counters["readings_ingested"] += len(batch)

    def _to_primary(self, batch: ReadingBatch) -> ReadingBatch:
        """The records' ratios, once, for meters and master alike: CT-connected meters report secondary
        current, power and energy, which the archive's ratio (``area.meter_ct_ratio``) turns into primary
        values (voltages, PF and counters unchanged); the master's readings are multiplied by
        ``area.master_factor`` (its CT/PT ratios where they arrive unscaled, docs/replay.md)."""
        ratio, mf = self.area.meter_ct_ratio, self.area.master_factor
        assert mf is not None
        scale_meters, scale_master = bool((ratio != 1.0).any()), bool((mf != 1.0).any())
        if not len(batch) or not (scale_meters or scale_master):
            return batch
        value = batch.value.copy()
        if scale_meters:
            mask = (batch.device < self.area.n_meters) & np.isin(batch.quantity, _CT_SCALED)
            value[mask] *= ratio[batch.device[mask]]
        if scale_master:
            m = batch.device == self.area.master_index
            value[m] *= mf[batch.quantity[m]]
        return ReadingBatch(device=batch.device, quantity=batch.quantity, value=value, ts=batch.ts)

    def advance(self, ts: float, *, active_at_end: bool = False) -> Output:
        """Process everything up to event time ``ts``; returns the alert events and summaries produced.
        ``active_at_end``: also the active alerts at ``ts`` if they changed since the last check point (the
        live daemon: its retained list must not wait for the next point; replay leaves it off).

        Event time is cut at fixed points, whatever ``ts`` the caller advances to: interval closes (each
        ``lateness_s`` after an interval's end) and availability checks (every ``outage.check_s`` on the
        epoch), each seeing the readings before it. So the output does not depend on how often or how far
        the engine is advanced (replay's ``--batch-s``, the daemon's step)."""
        t_now = float(ts)
        clock, interval = self.clock, self.params.interval_s
        batch = ReadingBatch.concat(self._pending)
        ready = batch.ts <= t_now
        self._pending = [batch.take(~ready)] if (~ready).any() else []
        batch = batch.take(np.flatnonzero(ready)[np.argsort(batch.ts[ready], kind="stable")])
        if math.isnan(clock.started_ts):
            clock.started_ts = float(min(t_now, batch.ts[0])) if len(batch) else t_now
            clock.first_open_k[0] = int(clock.started_ts // interval)
            self.day = summaries.start(self.ctx, self.day, clock.started_ts, self.thermal)
        t_now = max(t_now, float(clock.watermark[0]))       # event time never goes back
        late = np.floor(batch.ts / interval).astype(np.int64) < clock.first_open_k[0]
        if late.any():
            self.counters["readings_late_dropped"] += int(late.sum())
            batch = batch.take(~late)
        pos = 0
        step = self.params.outage.check_s
        m = math.floor(max(float(clock.watermark[0]), clock.started_ts) / step) + 1    # next availability check
        while True:
            k = int(clock.first_open_k[0])
            close_at = (k + 1) * interval + self.params.lateness_s
            check_at = m * step
            at = min(close_at, check_at)
            if at > t_now:
                break
            end = int(np.searchsorted(batch.ts, at, side="left"))
            self._chunk(batch.take(slice(pos, end)), at)  # type: ignore[arg-type]
            pos = end
            if at == check_at:
                self._availability(at)
                self.mark_active(at)
                m += 1
            if at == close_at:
                self._close_interval(k)
                clock.first_open_k[0] = k + 1
        self._chunk(batch.take(slice(pos, len(batch))), t_now)  # type: ignore[arg-type]
        clock.watermark[0] = max(clock.watermark[0], t_now)
        if active_at_end:
            self.mark_active(t_now)
        return self.drain()

    def snapshot(self) -> bytes:
        """The whole engine state as bytes (pending, not yet advanced readings included)."""
        arrays: dict[str, npt.NDArray[Any]] = {}
        for name in STATE_ATTRS:
            arrays.update(getattr(self, name).arrays())
        for name, st in self.detector_states.items():
            if st is not None:
                arrays.update({f"d.{name}.{key}": a for key, a in st.arrays().items()})
        arrays.update(self.board.arrays())
        header = {"started_ts": self.clock.started_ts, "master_voltage_dead": self.supply.voltage_dead,
                  "alarms": self.board.book.to_json(), "counters": self.counters, "active_changed": self.active_changed}
        return snapshot.write(self.area, self.params, arrays, ReadingBatch.concat(self._pending), header)

    @classmethod
    def restore(cls, blob: bytes, *, area: Area | None = None, params: Params | None = None,
                backend_name: str | None = None, detectors: Sequence[ModuleType] = DETECTORS,
                ambient: AmbientSeries | None = None) -> Engine:
        """Rebuild an engine from ``snapshot()`` bytes (of this version or an earlier one). The area and
        parameters are in the snapshot; pass them to override (the shapes must still fit: same meters and
        branches). A detector the snapshot has no state of starts fresh. An ambient series is not in the
        snapshot: pass it again."""
        header, arrays = snapshot.unpack(blob)
        eng = cls(area or snapshot.area_of(header, arrays), params or snapshot.params_from_dict(header["params"]),
                  backend_name=backend_name, detectors=detectors, ambient=ambient)
        for name in STATE_ATTRS:
            fresh = getattr(eng, name)
            setattr(eng, name, type(fresh).restore(arrays, fresh))
        for name, st in eng.detector_states.items():
            prefix = f"d.{name}."
            own = {k[len(prefix):]: a for k, a in arrays.items() if k.startswith(prefix)}
            if st is not None and own:
                eng.detector_states[name] = type(st).restore(own, st)
        eng.board.load(arrays, header["alarms"])
        eng.counters.update(header["counters"])
        eng.active_changed = bool(header.get("active_changed", False))
        eng.clock.started_ts = float(header["started_ts"]) if header["started_ts"] is not None else math.nan
        eng.supply = supply.SupplyState(voltage_dead=bool(header["master_voltage_dead"]))
        eng._pending = snapshot.pending_of(arrays)
        eng.readings.fix_cadences(eng.ctx)      # configured cadences win over what an older run learned
        return eng

    def mark_active(self, ts: float) -> None:
        """Put the active alerts into the output sequence at ``ts`` if they changed since the last time
        (the engine does at every availability check point; replay once more at the end of the data; the
        daemon after every step, ``advance(active_at_end=True)``)."""
        if self.active_changed:
            self._sequence.append(Active(ts=ts, alerts=self.board.book.list_active()))
            self.active_changed = False

    def drain(self) -> Output:
        """What was produced outside ``advance`` (``mark_active``)."""
        out = Output(alerts=self._alerts, summaries=self._summaries, sequence=self._sequence)
        self._alerts, self._summaries, self._sequence = [], [], []
        return out

    def active_alerts(self) -> list[Alert]:
        """Currently active alerts (the retained ``alerts/active`` list)."""
        return self.board.book.list_active()

    @property
    def explained(self) -> npt.NDArray[np.bool_]:
        """Meters whose silence or dead voltage an active outage (area, phase, branch) explains."""
        return self.availability.explained

    # ---- the order ------------------------------------------------------------------------------
    def _see(self, observed: Obs) -> Obs:
        """Turn a stage's conditions into alert events, now (later stages see the alarms they changed)."""
        if observed.conditions:
            events = self.board.apply(observed.conditions)
            if events:
                self._alerts += events
                self._sequence += events
                self.active_changed = True
                self._watch = watch.NONE    # an alarm changed: availability looks again at its next check
        return observed

    def _summary(self, summary: Summary) -> None:
        self._summaries.append(summary)
        self._sequence.append(summary)

    def _detect(self, hook: str, moment: Callable[[], Any]) -> dict[str, Any]:
        """The ``DETECTORS`` that act at this moment (``moment()`` makes what they see), in order; the
        summary fields they fill."""
        fields: dict[str, Any] = {}
        steps = [d for d in self.detectors if getattr(d, hook, None) is not None]
        seen_by_all = moment() if steps else None
        for det in steps:
            state, seen = getattr(det, hook)(self.ctx, self.detector_states[det.NAME], seen_by_all)
            self.detector_states[det.NAME] = state
            fields.update(self._see(seen).fields)
        return fields

    def _chunk(self, batch: ReadingBatch, until: float) -> None:
        """Readings up to event time ``until`` (time-sorted, their intervals open)."""
        ctx, clock = self.ctx, self.clock
        for slot in clock.open_until(until, self.params.interval_s):
            self.meters.reset_slot(slot)
            self.master.reset_slot(slot)
        if len(batch):
            m = batch.device == self.area.master_index
            fresh = m & (batch.ts > self.master.last_sample_ts[0])
            self.counters["master_readings_late"] += int((m & ~fresh).sum())
            if fresh.any():      # before readings.place: a poll holds what it lacks from the master's last values
                self._polls(batch.ts[fresh], batch.quantity[fresh], batch.value[fresh])
            chunk = readings.Chunk.of(clock, self.params.interval_s, batch.device, batch.quantity, batch.value,
                                      batch.ts)
            self.readings = readings.place(ctx, self.readings, chunk)
            self.meters, seen = meters.place(ctx, self.meters, clock, int(self.day.day_index[0]),
                                             self.availability.explained, chunk)
            self._see(seen)
            self.loss = loss.place(ctx, self.loss, chunk)
            if self._watch.open:
                if watch.disturbs(ctx, self._watch, chunk):
                    self._watch = watch.NONE
                else:
                    self._deadline = watch.deadline(ctx, self.availability, self.readings, clock, self._watch.at)

    def _polls(self, ts: npt.NDArray[np.float64], q: npt.NDArray[np.int16], v: npt.NDArray[np.float64]) -> None:
        """New master polls: load, heat, balance, supply; their statistics and realtime summaries."""
        ctx = self.ctx
        p = polls.group(ctx, self.readings, ts, q, v)
        ld = self._see(load.step(ctx, p))
        self.thermal, heat = thermal.step(ctx, self.thermal, p, ld.beta)
        self._see(heat)
        bal = self._see(balance.step(ctx, p, ld.beta))
        self.supply, seen = supply.step(ctx, self.supply, p)
        self._see(seen)
        self.master = master.accumulate(ctx, self.master, self.clock, p, ld, bal, heat)
        extra = self._detect("on_polls", lambda: PollMoment(polls=p, load=ld, heat=heat, balance=bal,
                                                            alarms=self.board.view))
        for j, (t, f) in enumerate(master.realtime(p, ld, bal, heat)):
            if extra:
                f.update((k, num(float(a[j]))) for k, a in extra.items())
            self._summary(Summary(kind="realtime", ts=t, fields=f))

    def _availability(self, now: float) -> None:
        """Outage or communication failure, judged on who is silent at ``now``; skipped when it cannot find
        anything new (``detect.stages.watch``)."""
        if self._watch.open and now < self._deadline and self.skip_checks and not self.availability.explained.any():
            return
        ctx, av = self.ctx, availability
        sil = av.silence(ctx, self.readings, self.clock, now)
        self._see(av.area(ctx, sil))
        self.availability, br = av.branches(ctx, self.availability, sil, self.readings, self.meters, self.master,
                                            self.supply.voltage_dead, self.board.view)
        self._see(br)
        self.availability, seen = av.offline(ctx, self.availability, sil, br, self.meters, self.board.view)
        self._see(seen)
        self._watch = watch.after_check(sil, br, self.board.view)
        self._deadline = watch.deadline(ctx, self.availability, self.readings, self.clock, now)

    def _close_interval(self, k: int) -> None:
        """Interval ``k`` is complete (``lateness_s`` after its end): energies, line loss, physical checks,
        its summaries; then the day, if it ends with it."""
        ctx, clock = self.ctx, self.clock
        slot = k % len(clock.slot_k)
        if clock.slot_k[slot] != k:        # nothing was ever placed in it: an empty interval
            clock.slot_k[slot] = k
            self.meters.reset_slot(slot)
            self.master.reset_slot(slot)
        self.meters, closed = meters.close_interval(ctx, self.meters, slot, k)
        self.day, fields = summaries.interval_fields(ctx, self.day, closed, self.master, slot, k)
        self.loss, li = loss.close_interval(ctx, self.loss, self.meters, clock, self.readings, k, self.board.view)
        self.mapping = mapping.interval(ctx, self.mapping, self.meters, self.loss, clock, k)
        self.theft, seen = theft.interval(ctx, self.theft, self.readings, self.loss, k, li.e_fwd, li.e_rev,
                                          li.ntl_kwh, self.availability.explained)
        self._see(seen)
        self.suspects = suspects.interval(ctx, self.suspects, li, k)
        end = float((k + 1) * self.params.interval_s)
        extra = self._detect("on_interval", lambda: IntervalMoment(
            k=k, start=end - self.params.interval_s, end=end, meters=closed, loss=li, readings=self.readings,
            explained=self.availability.explained, alarms=self.board.view))
        self._summary(Summary(kind="interval", ts=end, fields=fields | li.fields | extra))
        self._summary(Summary(kind="meters_interval", ts=end, fields=closed.fields))
        clock.slot_k[slot] = -1
        if ctx.ends_day(end):
            self._close_day(end)

    def _close_day(self, end: float) -> None:
        """The local day ending at ``end``: line loss, energy vs power, suspects, mapping, collection."""
        ctx, explained, view = self.ctx, self.availability.explained, self.board.view
        day = summaries.close_day(ctx, self.day, self.clock, self.meters, self.master, self.thermal, end)
        self.loss, lossday, energies = loss.close_day(ctx, self.loss, end, day.date, day.partial, view)
        self._see(lossday)
        self.ntl, nday, ntlseen = ntl.close_day(ctx, self.ntl, end, day.date, energies.alarm_ntl,
                                                  energies.alarm_sup, energies.alarm_partial)
        self._see(ntlseen)
        self._see(theft.energy_power(ctx, self.theft, end, explained))
        self.theft, swing = theft.swing(ctx, self.theft, self.loss, end, view)
        self._see(swing)
        self.suspects, listed = suspects.close_day(ctx, self.suspects, nday, swing, energies, self.loss, end,
                                                   view)
        self._see(listed)
        self._see(mapping.close_day(ctx, self.mapping, end, explained))
        fields = day.fields | lossday.fields | ntlseen.fields | swing.fields | listed.fields
        fields |= self._detect("on_day", lambda: DayMoment(day=day, fields=dict(fields), explained=explained,
                                                           alarms=view))
        self._summary(Summary(kind="daily", ts=end, fields=fields))
        self._see(summaries.collection(ctx, day))
        # every day accumulator starts over
        self.day = summaries.new_day(ctx, self.day, self.thermal, end)
        self.meters = meters.new_day(self.meters, day.row)
        self.master = master.new_day(self.master)
        self.loss = loss.new_day(self.loss)
        self.theft = theft.new_day(self.theft)


def _checked(detectors: Sequence[ModuleType]) -> tuple[ModuleType, ...]:
    """The detector modules, each with a NAME, ``alarms(ctx)`` and at least one hook; names unique."""
    names: set[str] = set()
    for d in detectors:
        name = getattr(d, "NAME", None)
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ValueError(f"detector {d.__name__}: NAME must be a lower-case identifier, got {name!r}")
        if name in names:
            raise ValueError(f"detector {d.__name__}: NAME {name!r} is used by another detector")
        names.add(name)
        if not callable(getattr(d, "alarms", None)) or not any(callable(getattr(d, h, None)) for h in HOOKS):
            raise ValueError(f"detector {d.__name__}: needs alarms(ctx) and at least one of {', '.join(HOOKS)}")
    return tuple(detectors)
