"""``implausible_reading``: a device alert when a device's rejected values persist.

Persistence is counted per device and quantity, reading by reading in time order (the same whatever
the batching: the daemon's per-step batches, replay's windows, one reading at a time): a device is
alerted when one of its quantities has ``alert_after`` rejected readings in a row, or at once when one
of its registers was re-baselined (meter replaced or register reset). The alert clears when every
quantity rejected during the episode has had ``clear_after`` accepted readings in a row. Readings of
one device with the same timestamp are taken in quantity order. Same ``alert_id`` scheme and lifecycle
as the engine's alerts (``detect.alarms``); the state goes into the area's snapshot, so a restart
neither raises twice nor forgets an active one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from detect.alarms import AlarmBook, Alert
from detect.area import Area
from detect.quantities import QUANTITIES, QUANTITY_CODE
from edge.config.model import PlausibilityConfig
from edge.plausibility.limits import REASONS
from edge.plausibility.registers import Rebaseline

__all__ = ["KIND", "DeviceAlerts"]

KIND = "implausible_reading"
_REGISTER = ("e_fwd", "e_rev")
_REGISTER_CODE = (QUANTITY_CODE["e_fwd"], QUANTITY_CODE["e_rev"])


class DeviceAlerts:
    def __init__(self, area: Area, cfg: PlausibilityConfig) -> None:
        self.cfg = cfg
        n, nq = area.n_meters + 1, len(QUANTITIES)
        self.subjects = [("meter", m) for m in area.meter_ids] + [("transformer", area.master_id)]
        self._index = {s: i for i, s in enumerate(self.subjects)}
        self.book = AlarmBook(area.id, update_min_s=float("inf"), update_rel=float("inf"))
        self.bad_run = np.zeros((n, nq), np.int64)
        self.good_run = np.zeros((n, nq), np.int64)
        self.episode_q = np.zeros(n, np.int64)    # bit q: quantity q was rejected in this episode
        self.rejected = np.zeros(n, np.int64)     # rejected values in the current episode
        self.reasons = np.zeros(n, np.int64)      # bit r: REASONS[r] seen in the current episode
        self._events: list[Alert] = []

    def take(self) -> list[Alert]:
        """Events since the last call, in event-time order (a batch is worked through by device)."""
        out, self._events = sorted(self._events, key=lambda a: a.ts), []
        return out

    def active(self) -> list[Alert]:
        return self.book.list_active()

    def observe(self, dev: npt.NDArray[np.integer[Any]], qty: npt.NDArray[np.integer[Any]],
                ts: npt.NDArray[np.float64], reason: npt.NDArray[np.int8], rebaselines: list[Rebaseline]) -> None:
        """Update runs and alerts with a batch (any order). Only devices with something going on (a
        rejected value now, a run or an episode under way, a re-baseline) are looked at one by one."""
        interest = self.episode_q != 0
        interest[dev[reason >= 0]] = True
        for ev in rebaselines:
            interest[ev.device] = True
        for _, subject_type, subject_id in self.book.active:
            interest[self._index[(subject_type, subject_id)]] = True
        sel = np.flatnonzero(interest[dev])
        if not len(sel):
            return
        forced = {(ev.device, _REGISTER_CODE[ev.register], ev.ts): ev for ev in rebaselines}
        order = sel[np.lexsort((qty[sel], ts[sel], dev[sel]))]
        for i, q, t, rc in zip(dev[order].tolist(), qty[order].tolist(), ts[order].tolist(),
                               reason[order].tolist(), strict=True):
            self._reading(i, q, t, rc, forced.get((i, q, t)))

    def _reading(self, i: int, q: int, t: float, rc: int, rebaseline: Rebaseline | None) -> None:
        active = (KIND, *self.subjects[i]) in self.book.active
        if rc >= 0:
            self.bad_run[i, q] += 1
            self.good_run[i, q] = 0
            self.rejected[i] += 1
            self.reasons[i] |= 1 << rc
            self.episode_q[i] |= 1 << q
            if not active and self.bad_run[i, q] >= self.cfg.alert_after:
                self._raise(i, t, None)
            return
        self.bad_run[i, q] = 0
        if rebaseline is not None:
            self.episode_q[i] |= 1 << q
            self.good_run[i, q] = 0
            if not active:
                self._raise(i, t, rebaseline)
            return
        self.good_run[i, q] += 1
        if active:
            if all(self.good_run[i, b] >= self.cfg.clear_after for b in _bits(int(self.episode_q[i]))):
                self._clear(i, t)
        elif not self.bad_run[i].any():
            self.episode_q[i] = self.rejected[i] = self.reasons[i] = 0

    def _clear(self, i: int, t: float) -> None:
        subject_type, subject_id = self.subjects[i]
        alert = self.book.clear(kind=KIND, subject_type=subject_type, subject_id=subject_id, ts=t,
                                value=float(self.rejected[i]),
                                message=f"读数恢复正常 / readings of {subject_type} {subject_id} plausible again "
                                        f"({self.cfg.clear_after} accepted readings of each quantity)")
        if alert is not None:
            self._events.append(alert)
        self.episode_q[i] = self.rejected[i] = self.reasons[i] = 0
        self.good_run[i] = 0

    def _raise(self, i: int, t: float, rb: Rebaseline | None) -> None:
        subject_type, subject_id = self.subjects[i]
        names = [REASONS[b] for b in _bits(int(self.reasons[i]))]
        evidence: dict[str, Any] = {"reasons": ",".join(names), "rejected": int(self.rejected[i]),
                                    "quantities": ",".join(QUANTITIES[b] for b in _bits(int(self.episode_q[i])))}
        if rb is not None:
            evidence |= {"register": _REGISTER[rb.register], "old_kwh": rb.old, "new_kwh": rb.new}
            names.append(f"{_REGISTER[rb.register]} re-baselined {rb.old:.2f} → {rb.new:.2f} kWh "
                         "(meter replaced or register reset?)")
        what = "; ".join(names) or "values rejected"
        alert = self.book.raise_(
            kind=KIND, subject_type=subject_type, subject_id=subject_id, ts=t, severity="warning",
            value=float(self.rejected[i]), threshold=float(self.cfg.alert_after), unit="readings",
            message=f"读数不合理 / implausible readings from {subject_type} {subject_id}: {what}; "
                    "rejected values are not used for detection", evidence=evidence)
        if alert is not None:
            self._events.append(alert)

    def to_json(self) -> dict[str, Any]:
        return {"book": self.book.to_json(), "bad_run": self.bad_run.tolist(), "good_run": self.good_run.tolist(),
                "episode_q": self.episode_q.tolist(), "rejected": self.rejected.tolist(),
                "reasons": self.reasons.tolist()}

    def load_json(self, d: dict[str, Any]) -> None:
        for k in ("bad_run", "good_run", "episode_q", "rejected", "reasons"):
            arr = np.asarray(d[k], dtype=np.int64)
            if arr.shape != getattr(self, k).shape:
                raise ValueError(f"plausibility state {k} has shape {arr.shape}, expected {getattr(self, k).shape}")
            setattr(self, k, arr)
        self.book.load_json(d["book"])


def _bits(mask: int) -> list[int]:
    return [b for b in range(mask.bit_length()) if mask >> b & 1]
