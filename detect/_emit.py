"""Turn tracker transitions into alert events (raise / update / clear) in the engine's alarm book."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from detect.engine import Engine

Evidence = Callable[[int], dict[str, Any]]


def run_alarm(eng: Engine, key: str, *, subj: npt.ArrayLike, ts: npt.ArrayLike, on: npt.ArrayLike,
              off: npt.ArrayLike, valid: npt.ArrayLike, values: npt.ArrayLike, threshold: float,
              unit: str, severity: Callable[[float], str], describe: Callable[[str, int, float], str],
              evidence: Evidence | None = None, updates: bool = True) -> None:
    """Feed condition events to tracker ``key`` (``kind@subject_type``) and publish what changed.

    ``describe(state, subject, value)`` makes the human message; ``evidence(event_index)`` the numbers.
    ``updates=False``: no ``updated`` events (for kinds whose value only counts time, e.g. silence).
    """
    kind, subject_type = key.split("@")
    tracker = eng.trackers[key]
    subj_a = np.asarray(subj, dtype=np.int64)
    ts_a = np.asarray(ts, dtype=np.float64)
    val_a = np.asarray(values, dtype=np.float64)
    valid_a = np.asarray(valid, dtype=np.bool_)
    trans = tracker.feed(subj_a, ts_a, on, off, valid_a)
    names = eng.subject_names[subject_type]
    for k in np.flatnonzero(trans).tolist():
        s = int(subj_a[k])
        v = float(val_a[k])
        ev = evidence(k) if evidence else {}
        if trans[k] == 1:
            alert = eng.book.raise_(kind=kind, subject_type=subject_type, subject_id=names[s], ts=float(ts_a[k]),
                                    severity=severity(v), value=v, threshold=threshold, unit=unit,
                                    message=describe("raised", s, v), evidence=ev)
        else:
            alert = eng.book.clear(kind=kind, subject_type=subject_type, subject_id=names[s], ts=float(ts_a[k]),
                                   value=v, message=describe("cleared", s, v), evidence=ev)
        if alert is not None:
            eng.emit(alert)
    # Value/severity updates of raised alarms: the last valid event of each still-active subject.
    active = tracker.active()
    if not updates or not active.any():
        return
    cand = np.flatnonzero(active[subj_a] & valid_a & (trans == 0))
    if not len(cand):
        return
    last: dict[int, int] = {}
    for k in cand.tolist():
        last[int(subj_a[k])] = k
    for s, k in last.items():
        v = float(val_a[k])
        alert = eng.book.update(kind=kind, subject_type=subject_type, subject_id=names[s], ts=float(ts_a[k]),
                                severity=severity(v), value=v, message=describe("updated", s, v),
                                evidence=evidence(k) if evidence else None)
        if alert is not None:
            eng.emit(alert)


def force_clear(eng: Engine, key: str, subjects: npt.NDArray[np.intp], ts: float, message: str) -> None:
    """Clear active alarms of ``subjects`` now (e.g. explained by an outage) and reset their trackers."""
    kind, subject_type = key.split("@")
    tracker = eng.trackers[key]
    names = eng.subject_names[subject_type]
    for s in subjects.tolist():
        tracker.state[s] = 0
        alert = eng.book.clear(kind=kind, subject_type=subject_type, subject_id=names[s], ts=ts, value=None,
                               message=message)
        if alert is not None:
            eng.emit(alert)
