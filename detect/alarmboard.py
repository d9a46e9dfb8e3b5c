"""The engine's alarm board: one persistence tracker per alert kind and subject type, the book of active
alerts, and the one place where stage conditions become raised / updated / cleared events.

Only ``detect.engine`` uses it; stages return ``detect.observe`` conditions and read an ``AlarmView``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.alarms import AlarmBook, AlarmTracker, Alert
from detect.area import PHASES, Area
from detect.observe import AlarmSpec, Clear, Condition, Observation

__all__ = ["AlarmBoard"]


class AlarmBoard:
    def __init__(self, area: Area, specs: Sequence[AlarmSpec], ops: ModuleType, *, update_min_s: float,
                 update_rel: float) -> None:
        self.book = AlarmBook(area.id, update_min_s=update_min_s, update_rel=update_rel)
        self.trackers: dict[str, AlarmTracker] = {}
        for s in specs:
            if s.key in self.trackers:
                raise ValueError(f"alert kind {s.key} is declared by two stages")
            self.trackers[s.key] = AlarmTracker(s.key.split("@")[0], s.subjects, s.persist_on_s, s.persist_off_s, ops)
        self.subject_names: dict[str, tuple[str, ...]] = {
            "transformer": (area.master_id,), "phase": PHASES, "meter": area.meter_ids,
            "branch": area.branches, "area": (area.id,)}
        self.view: Mapping[str, npt.NDArray[np.bool_]] = _View(self.trackers)

    def apply(self, observations: Sequence[Observation]) -> list[Alert]:
        """Feed the observations in order; the alert events they cause, in order."""
        out: list[Alert] = []
        for ob in observations:
            if isinstance(ob, Clear):
                self._clear(ob, out)
            else:
                self._feed(ob, out)
        return out

    def _feed(self, c: Condition, out: list[Alert]) -> None:
        """Raise, clear and update, event by event in time order. An ``updated`` is judged at every valid
        event of a raised alarm (``AlarmBook.update``: severity changed, or the value moved enough and
        ``update_min_s`` passed), so how the events were batched does not change which are published."""
        kind, subject_type = c.key.split("@")
        tracker = self.trackers[c.key]
        subj = np.asarray(c.subj, dtype=np.int64)
        ts = np.asarray(c.ts, dtype=np.float64)
        values = np.asarray(c.values, dtype=np.float64)
        valid = np.asarray(c.valid, dtype=np.bool_)
        before = tracker.active()
        trans = tracker.feed(subj, ts, c.on, c.off, valid)
        names = self.subject_names[subject_type]
        watch = before.copy()
        watch[subj[trans == 1]] = True
        events = trans != 0
        if c.updates and len(subj):
            events |= valid & watch[subj]
        for k in np.flatnonzero(events).tolist():
            s, v = int(subj[k]), float(values[k])
            if trans[k] == 1:
                alert = self.book.raise_(kind=kind, subject_type=subject_type, subject_id=names[s], ts=float(ts[k]),
                                         severity=c.severity(v), value=v, threshold=c.threshold, unit=c.unit,
                                         message=c.describe("raised", s, v),
                                         evidence=c.evidence(k) if c.evidence else {})
            elif trans[k] == 2:
                alert = self.book.clear(kind=kind, subject_type=subject_type, subject_id=names[s], ts=float(ts[k]),
                                        value=v, message=c.describe("cleared", s, v),
                                        evidence=c.evidence(k) if c.evidence else {})
            else:
                alert = self.book.update_due(kind=kind, subject_type=subject_type, subject_id=names[s],
                                             ts=float(ts[k]), severity=c.severity(v), value=v,
                                             message=partial(c.describe, "updated", s, v),
                                             evidence=partial(c.evidence, k) if c.evidence else None)
            if alert is not None:
                out.append(alert)

    def _clear(self, c: Clear, out: list[Alert]) -> None:
        kind, subject_type = c.key.split("@")
        tracker = self.trackers[c.key]
        names = self.subject_names[subject_type]
        for s in np.flatnonzero(np.asarray(c.subjects, dtype=np.bool_) & tracker.active()).tolist():
            tracker.state[s] = 0
            alert = self.book.clear(kind=kind, subject_type=subject_type, subject_id=names[s], ts=c.ts, value=None,
                                    message=c.message)
            if alert is not None:
                out.append(alert)

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {f"t.{key}.{name}": arr for key, tr in self.trackers.items() for name, arr in tr.arrays().items()}

    def load(self, arrays: Mapping[str, npt.NDArray[Any]], active: list[dict[str, Any]]) -> None:
        """Restore trackers and the active alerts from a snapshot; a kind added after the snapshot was
        taken starts idle."""
        for key, tr in self.trackers.items():
            if f"t.{key}.state" in arrays:
                tr.load({name: arrays[f"t.{key}.{name}"] for name in ("state", "onset_ts", "clear_ts")})
        self.book.load_json(active)


class _View(Mapping[str, npt.NDArray[np.bool_]]):
    """``key -> active subjects`` (raised or clearing), computed when read."""

    def __init__(self, trackers: dict[str, AlarmTracker]) -> None:
        self._trackers = trackers

    def __getitem__(self, key: str) -> npt.NDArray[np.bool_]:
        return self._trackers[key].active()

    def __iter__(self) -> Iterator[str]:
        return iter(self._trackers)

    def __len__(self) -> int:
        return len(self._trackers)
