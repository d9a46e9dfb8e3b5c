"""The per-area streaming engine (DESIGN §4): ``ingest`` readings, ``advance`` event time, get alerts and
summaries; ``snapshot``/``restore`` carry the whole state, active alarms included.

Event time: the engine's clock is the ``ts`` given to ``advance``. Readings up to it are processed in
time order; readings that arrive late are still placed if their interval is open (an interval closes
``lateness_s`` after its end), realtime detectors only see master polls newer than the last one.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from detect import _availability, _loss, _master, _meters, _summaries
from detect._lossstate import LossState
from detect.alarms import AlarmBook, AlarmTracker, Alert
from detect.area import PHASES, Area
from detect.backend import TOPICS, backend, kernels
from detect.batch import ReadingBatch
from detect.params import Params
from detect.quantities import CT_SCALED, QUANTITY_CODE
from detect.state import SNAPSHOT_VERSION, EngineState, pack, unpack

__all__ = ["Engine", "Output", "Summary"]


@dataclass(frozen=True, kw_only=True)
class Summary:
    """One summary: ``kind`` is realtime | interval | daily | meters_interval; ``ts`` its event time."""

    kind: str
    ts: float
    fields: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Output:
    alerts: list[Alert] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)


def _tracker_specs(area: Area, prm: Params) -> list[tuple[str, int, float, float]]:
    lp, vp, ip, tp = prm.load, prm.voltage, prm.imbalance, prm.thermal
    n, nb = area.n_meters, len(area.branches)
    return [
        ("overload@transformer", 1, lp.overload_persist_s, lp.overload_clear_persist_s),
        ("heavy_load@transformer", 1, lp.heavy_load_persist_s, lp.band_clear_persist_s),
        ("overload_2h@transformer", 1, lp.overload_2h_persist_s, lp.band_clear_persist_s),
        ("hotspot@transformer", 1, 0.0, tp.hotspot_clear_persist_s),
        ("imbalance@transformer", 1, ip.persist_s, ip.clear_persist_s),
        ("neutral_current@transformer", 1, ip.persist_s, ip.clear_persist_s),
        ("low_voltage@phase", 3, vp.persist_s, vp.clear_persist_s),
        ("high_voltage@phase", 3, vp.persist_s, vp.clear_persist_s),
        ("phase_loss@phase", 3, vp.phase_loss_persist_s, vp.phase_loss_persist_s),
        ("outage_phase@phase", 3, 0.0, 0.0),
        ("outage_area@area", 1, 0.0, 0.0),
        ("master_offline@transformer", 1, 0.0, 0.0),
        ("outage_branch@branch", nb, 0.0, 0.0),
        ("meter_offline@meter", n, 0.0, 0.0),
        ("low_voltage@meter", n, vp.persist_s, vp.clear_persist_s),
        ("high_voltage@meter", n, vp.persist_s, vp.clear_persist_s),
        ("collection_rate_low@area", 1, 0.0, 0.0),
    ]


# Quantities a CT scales (secondary → primary); voltages, power factor, status words and counters are not.
_CT_SCALED = np.array(sorted(QUANTITY_CODE[q] for q in CT_SCALED), dtype=np.int16)


class Engine:
    """Streaming detection for one transformer area."""

    def __init__(self, area: Area, params: Params | None = None, *, backend_name: str | None = None) -> None:
        self.area = area
        self.params = params or Params()
        self.backend_name = backend_name or backend()
        self.ops: dict[str, ModuleType] = {t: kernels(t, self.backend_name) for t in TOPICS}
        prm = self.params
        n_slots = math.ceil(prm.lateness_s / prm.interval_s) + 2
        self.state = EngineState.fresh(area.n_meters, n_slots, prm.history_intervals, prm.outage.meter_cadence_s,
                                        prm.outage.master_cadence_s)
        self.kernel_backend = self.backend_name
        self.loss = _loss.new_state(self, n_slots)
        self.book = AlarmBook(area.id, update_min_s=prm.alarms.update_min_s, update_rel=prm.alarms.update_rel)
        self.trackers = {key: AlarmTracker(key.split("@")[0], size, on_s, off_s, self.ops["alarms"])
                         for key, size, on_s, off_s in _tracker_specs(area, prm) + _loss.tracker_specs(self)}
        self.subject_names: dict[str, tuple[str, ...]] = {
            "transformer": (area.master_id,), "phase": PHASES, "meter": area.meter_ids,
            "branch": area.branches, "area": (area.id,)}
        tp = prm.thermal
        self.thermal_params = np.array([
            tp.delta_theta_or_k, tp.delta_theta_hr_k, tp.tau_o_min * 60.0, tp.tau_w_min * 60.0, tp.r_ratio,
            tp.x_exp, tp.y_exp, tp.k11, tp.k21, tp.k22, tp.substep_s, 0.0 if tp.insulation == "normal" else 1.0])
        self.started_ts = math.nan
        self.master_voltage_dead = False
        self._explained = np.zeros(area.n_meters, np.bool_)
        self._pending: list[ReadingBatch] = []
        self._alerts: list[Alert] = []
        self._summaries: list[Summary] = []
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
        """CT-connected meters report secondary current, power and energy; the archive's ratio
        (``area.meter_ct_ratio``) turns them into primary values. Voltages, PF and counters are unchanged."""
        ratio = self.area.meter_ct_ratio
        if not len(batch) or not (ratio != 1.0).any():
            return batch
        is_meter = batch.device < self.area.n_meters
        mask = is_meter & np.isin(batch.quantity, _CT_SCALED)
        if not mask.any():
            return batch
        value = batch.value.copy()
        value[mask] *= ratio[batch.device[mask]]
        return ReadingBatch(device=batch.device, quantity=batch.quantity, value=value, ts=batch.ts)

    def advance(self, ts: float) -> Output:
        """Process everything up to event time ``ts``; returns the alert events and summaries produced."""
        t_now = float(ts)
        st, prm = self.state, self.params
        interval = prm.interval_s
        batch = ReadingBatch.concat(self._pending)
        ready = batch.ts <= t_now
        self._pending = [batch.take(~ready)] if (~ready).any() else []
        batch = batch.take(np.flatnonzero(ready)[np.argsort(batch.ts[ready], kind="stable")])
        if math.isnan(self.started_ts):
            self.started_ts = float(min(t_now, batch.ts[0])) if len(batch) else t_now
            k0 = int(self.started_ts // interval)
            st.first_open_k[0] = k0
            st.day_index[0] = _summaries.day_of(self, self.started_ts)
            st.day_lol_start_h[0] = st.thermal[3]
        if t_now < st.watermark[0]:
            t_now = float(st.watermark[0])       # event time never goes back
        k_of = np.floor(batch.ts / interval).astype(np.int64)
        late = k_of < st.first_open_k[0]
        if late.any():
            self.counters["readings_late_dropped"] += int(late.sum())
            batch = batch.take(~late)
        pos = 0
        while True:
            k = int(st.first_open_k[0])
            close_at = (k + 1) * interval + prm.lateness_s
            if close_at > t_now:
                break
            end = int(np.searchsorted(batch.ts, close_at, side="left"))
            self._chunk(batch.take(slice(pos, end)), close_at)  # type: ignore[arg-type]
            pos = end
            _summaries.close_interval(self, k)
            st.first_open_k[0] = k + 1
        self._chunk(batch.take(slice(pos, len(batch))), t_now)  # type: ignore[arg-type]
        st.watermark[0] = max(st.watermark[0], t_now)
        out = Output(alerts=self._alerts, summaries=self._summaries)
        self._alerts, self._summaries = [], []
        return out

    def snapshot(self) -> bytes:
        """The whole engine state as bytes (pending, not yet advanced readings included)."""
        arrays: dict[str, npt.NDArray[Any]] = {f"s.{k}": v for k, v in self.state.arrays().items()}
        for key, tr in self.trackers.items():
            for name, arr in tr.arrays().items():
                arrays[f"t.{key}.{name}"] = arr
        pend = ReadingBatch.concat(self._pending)
        arrays.update({"p.device": pend.device, "p.quantity": pend.quantity, "p.value": pend.value, "p.ts": pend.ts})
        arrays["a.meter_phase"] = self.area.meter_phase
        arrays["a.meter_branch"] = self.area.meter_branch
        arrays["a.meter_kind"] = self.area.meter_kind
        arrays["a.meter_pv"] = self.area.meter_pv
        arrays["a.meter_ct_ratio"] = self.area.meter_ct_ratio
        arrays["x.explained"] = self._explained
        arrays.update({f"l.{k}": v for k, v in self.loss.arrays().items()})
        a = self.area
        header = {
            "version": SNAPSHOT_VERSION, "started_ts": self.started_ts, "master_voltage_dead": self.master_voltage_dead,
            "alarms": self.book.to_json(), "counters": self.counters, "params": dataclasses.asdict(self.params),
            "area": {"id": a.id, "name": a.name, "grid": a.grid, "rated_kva": a.rated_kva,
                     "lv_voltage_v": a.lv_voltage_v, "cooling": a.cooling, "meter_ids": list(a.meter_ids),
                     "branches": list(a.branches), "master_id": a.master_id},
        }
        return pack(header, arrays)

    @classmethod
    def restore(cls, blob: bytes, *, area: Area | None = None, params: Params | None = None,
                backend_name: str | None = None) -> Engine:
        """Rebuild an engine from ``snapshot()`` bytes. The area and parameters are in the snapshot; pass
        them to override (the shapes must still fit: same meters and branches)."""
        header, arrays = unpack(blob)
        if area is None:
            ah = header["area"]
            area = Area(id=ah["id"], name=ah["name"], grid=ah["grid"], rated_kva=ah["rated_kva"],
                        lv_voltage_v=ah["lv_voltage_v"], cooling=ah["cooling"], meter_ids=tuple(ah["meter_ids"]),
                        meter_phase=arrays["a.meter_phase"], meter_branch=arrays["a.meter_branch"],
                        meter_kind=arrays["a.meter_kind"], meter_pv=arrays["a.meter_pv"],
                        meter_ct_ratio=arrays["a.meter_ct_ratio"], branches=tuple(ah["branches"]),
                        master_id=ah["master_id"])
        if params is None:
            params = _params_from_dict(header["params"])
        eng = cls(area, params, backend_name=backend_name)
        eng.state = EngineState.from_arrays({k[2:]: v for k, v in arrays.items() if k.startswith("s.")}, eng.state)
        for key, tr in eng.trackers.items():
            if f"t.{key}.state" not in arrays:      # a kind added after the snapshot was taken: starts idle
                continue
            tr.load({name: arrays[f"t.{key}.{name}"] for name in ("state", "onset_ts", "clear_ts")})
        eng.book.load_json(header["alarms"])
        eng.counters.update(header["counters"])
        eng.started_ts = float(header["started_ts"]) if header["started_ts"] is not None else math.nan
        eng.master_voltage_dead = bool(header["master_voltage_dead"])
        eng._explained = arrays["x.explained"].astype(np.bool_)
        loss = {k[2:]: v for k, v in arrays.items() if k.startswith("l.")}
        if loss:                # snapshots of the issue-7 engine have no line-loss state: start it fresh
            eng.loss = LossState.from_arrays(loss, eng.loss)
        if len(arrays["p.ts"]):
            eng._pending = [ReadingBatch.from_columns(arrays["p.device"], arrays["p.quantity"], arrays["p.value"],
                                                      arrays["p.ts"])]
        if params.outage.cadence == "fixed":     # configured cadences win over what an older run learned
            eng.state.gap_ewma_s[: area.n_meters] = params.outage.meter_cadence_s
            eng.state.gap_ewma_s[area.n_meters] = params.outage.master_cadence_s
        return eng

    def active_alerts(self) -> list[Alert]:
        """Currently active alerts (the retained ``alerts/active`` list)."""
        return self.book.list_active()

    # ---- used by the detector modules -----------------------------------------------------------
    def emit(self, alert: Alert) -> None:
        self._alerts.append(alert)

    def summary(self, kind: str, ts: float, fields: dict[str, Any]) -> None:
        self._summaries.append(Summary(kind=kind, ts=ts, fields=fields))

    def slots_for(self, ts: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """Open-interval slot of each timestamp, -1 where its interval is not open."""
        st = self.state
        k = np.floor(ts / self.params.interval_s).astype(np.int64)
        slot = k % len(st.slot_k)
        return np.where(st.slot_k[slot] == k, slot, -1)

    def day_of_ts(self, ts: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """Local day number (days since the epoch in local time) of each timestamp."""
        return np.floor((ts + self.params.utc_offset_s) / _summaries.DAY_S).astype(np.int64)

    def explained_meters(self) -> npt.NDArray[np.bool_]:
        """Meters whose silence or dead voltage an active outage (area, phase, branch) explains."""
        return self._explained

    def set_explained(self, mask: npt.NDArray[np.bool_]) -> None:
        self._explained = mask

    # ---- internals ------------------------------------------------------------------------------
    def _open_slots(self, until: float) -> None:
        st = self.state
        k_end = int(until // self.params.interval_s)
        for k in range(int(st.first_open_k[0]), k_end + 1):
            slot = k % len(st.slot_k)
            if st.slot_k[slot] != k:
                st.reset_slot(slot, k)

    def _chunk(self, batch: ReadingBatch, until: float) -> None:
        self._open_slots(until)
        st, n = self.state, self.area.master_index
        if len(batch):
            m = batch.device == n
            fresh = m & (batch.ts > st.last_sample_ts[0])
            self.counters["master_readings_late"] += int((m & ~fresh).sum())
            if fresh.any():
                _master.process(self, batch.ts[fresh], batch.quantity[fresh], batch.value[fresh])
            _meters.place(self, batch.device, batch.quantity, batch.value, batch.ts)
            _loss.place(self, batch.device, batch.quantity, batch.value, batch.ts)
        if until >= st.watermark[0]:
            _availability.evaluate(self, until)


def _params_from_dict(d: dict[str, Any]) -> Params:
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(Params):
        if f.name not in d:
            continue
        value = d[f.name]
        sub = f.default_factory if f.default_factory is not dataclasses.MISSING else None
        if isinstance(value, dict) and sub is not None:
            kwargs[f.name] = type(sub())(**value)
        else:
            kwargs[f.name] = value
    return Params(**kwargs)
