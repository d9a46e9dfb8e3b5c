"""Alarm lifecycle: pending → raised → (updated)* → cleared, per (kind, subject).

Two layers:
- ``AlarmTracker``: columnar persistence state of one alert kind over a fixed set of subjects
  (transformer, the three phases, every meter, every branch). Conditions are fed as time-ordered
  events; the persistence/hysteresis state machine is the ``alarms`` kernel.
- ``AlarmBook``: the alerts of the area that are active, their stable ``alert_id`` and the events
  (raised / updated / cleared) to publish. ``updated`` is emitted when the severity changes, or when
  the value moved by ``update_rel`` of the threshold and ``update_min_s`` passed since the last event;
  it is judged at every condition event of a raised alarm, in time order.

Both are plain data that ``snapshot``/``restore`` carry, so a restart neither re-raises an active
alarm nor forgets one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["SEVERITIES", "AlarmBook", "AlarmTracker", "Alert"]

SEVERITIES = ("info", "warning", "major", "critical")
IDLE, PENDING, RAISED, CLEARING = 0, 1, 2, 3
T_RAISE, T_CLEAR = 1, 2


@dataclass(frozen=True, kw_only=True)
class Alert:
    """One alert event. ``ts``, ``raised_at`` and ``cleared_at`` are event time (epoch s UTC)."""

    alert_id: str
    state: str                    # raised | updated | cleared
    kind: str
    severity: str
    subject_type: str             # transformer | meter | branch | area | phase | gateway
    subject_id: str
    value: float | None
    threshold: float | None
    unit: str
    raised_at: float
    cleared_at: float | None
    ts: float
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Alert:
        return cls(**d)


def _clean(x: float | None) -> float | None:
    """JSON has no NaN/inf: missing numbers are None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


class AlarmTracker:
    """Persistence and hysteresis state of one kind over ``n_subjects`` subjects."""

    def __init__(self, kind: str, n_subjects: int, persist_on_s: float, persist_off_s: float,
                 ops: ModuleType) -> None:
        self.kind = kind
        self.persist_on_s = float(persist_on_s)
        self.persist_off_s = float(persist_off_s)
        self._ops = ops
        self.state = np.zeros(n_subjects, np.int8)
        self.onset_ts = np.full(n_subjects, np.nan)
        self.clear_ts = np.full(n_subjects, np.nan)

    def feed(self, subj: npt.ArrayLike, ts: npt.ArrayLike, on: npt.ArrayLike, off: npt.ArrayLike,
             valid: npt.ArrayLike | None = None) -> npt.NDArray[np.int8]:
        """Feed time-ordered condition events; returns the transition per event (0, 1 raise, 2 clear)."""
        s = np.ascontiguousarray(subj, dtype=np.int64)
        t = np.ascontiguousarray(ts, dtype=np.float64)
        on_a = np.ascontiguousarray(on, dtype=np.bool_)
        off_a = np.ascontiguousarray(off, dtype=np.bool_)
        ok = np.ones(len(s), np.bool_) if valid is None else np.ascontiguousarray(valid, dtype=np.bool_)
        if not len(s):
            return np.zeros(0, np.int8)
        result: npt.NDArray[np.int8] = self._ops.persist_events(
            s, t, on_a, off_a, ok, self.persist_on_s, self.persist_off_s, self.state, self.onset_ts,
            self.clear_ts)
        return result

    def active(self) -> npt.NDArray[np.bool_]:
        """Subjects whose alarm is raised (including those waiting for the clear persistence)."""
        return (self.state == RAISED) | (self.state == CLEARING)

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {"state": self.state, "onset_ts": self.onset_ts, "clear_ts": self.clear_ts}

    def load(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        if arrays["state"].shape != self.state.shape:
            raise ValueError(f"snapshot: alarm {self.kind} has {arrays['state'].shape[0]} subjects, "
                             f"the area has {self.state.shape[0]}")
        self.state = arrays["state"].astype(np.int8).copy()
        self.onset_ts = arrays["onset_ts"].astype(np.float64).copy()
        self.clear_ts = arrays["clear_ts"].astype(np.float64).copy()


class AlarmBook:
    """The active alerts of one area and the events that change them."""

    def __init__(self, area_id: str, *, update_min_s: float, update_rel: float) -> None:
        self.area_id = area_id
        self.update_min_s = update_min_s
        self.update_rel = update_rel
        self.active: dict[tuple[str, str, str], Alert] = {}

    def alert_id(self, kind: str, subject_type: str, subject_id: str, raised_at: float) -> str:
        """Stable per episode: the same id for raise, updates and clear; a new episode gets a new id."""
        return f"{self.area_id}:{kind}:{subject_type}:{subject_id}:{math.floor(raised_at)}"

    def raise_(self, *, kind: str, subject_type: str, subject_id: str, ts: float, severity: str,
               value: float | None, threshold: float | None, unit: str, message: str,
               evidence: dict[str, Any] | None = None) -> Alert | None:
        """Raise an alert; returns the event, or None if it is already active (never a second raise)."""
        key = (kind, subject_type, subject_id)
        if key in self.active:
            return None
        if severity not in SEVERITIES:
            raise ValueError(f"alert {kind}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
        alert = Alert(alert_id=self.alert_id(kind, subject_type, subject_id, ts), state="raised", kind=kind,
                      severity=severity, subject_type=subject_type, subject_id=subject_id,
                      value=_clean(value), threshold=_clean(threshold), unit=unit, raised_at=ts,
                      cleared_at=None, ts=ts, message=message, evidence=_evidence(evidence))
        self.active[key] = alert
        return alert

    def update(self, *, kind: str, subject_type: str, subject_id: str, ts: float, severity: str,
               value: float | None, message: str, evidence: dict[str, Any] | None = None) -> Alert | None:
        """An ``updated`` event when the severity changed or the value moved enough (see module doc)."""
        key = (kind, subject_type, subject_id)
        last = self.active.get(key)
        if last is None:
            return None
        value = _clean(value)
        if not self._due(last, ts, severity, value):
            return None
        alert = replace(last, state="updated", severity=severity, value=value, ts=ts, message=message,
                        evidence=_evidence(evidence) if evidence is not None else last.evidence)
        self.active[key] = alert
        return alert

    def _due(self, last: Alert, ts: float, severity: str, value: float | None) -> bool:
        """An ``updated`` event is due: the severity changed, or the value moved by ``update_rel`` of the
        threshold (else of the last value) and ``update_min_s`` passed since the last event."""
        if severity != last.severity:
            return True
        if value is None or last.value is None:
            return False
        scale = abs(last.threshold) if last.threshold else max(abs(last.value), 1.0)
        return abs(value - last.value) >= self.update_rel * scale and ts - last.ts >= self.update_min_s

    def update_due(self, *, kind: str, subject_type: str, subject_id: str, ts: float, severity: str,
                   value: float | None, message: Callable[[], str],
                   evidence: Callable[[], dict[str, Any]] | None = None) -> Alert | None:
        """``update``, with the message and evidence made only when an event is due (it is judged at every
        event of a raised alarm, most of which publish nothing)."""
        last = self.active.get((kind, subject_type, subject_id))
        if last is None:
            return None
        if not self._due(last, ts, severity, _clean(value)):
            return None
        return self.update(kind=kind, subject_type=subject_type, subject_id=subject_id, ts=ts, severity=severity,
                           value=value, message=message(), evidence=evidence() if evidence is not None else None)

    def clear(self, *, kind: str, subject_type: str, subject_id: str, ts: float, value: float | None,
              message: str, evidence: dict[str, Any] | None = None) -> Alert | None:
        """Clear an active alert; returns the ``cleared`` event (None if it was not active)."""
        last = self.active.pop((kind, subject_type, subject_id), None)
        if last is None:
            return None
        return replace(last, state="cleared", value=_clean(value), ts=ts, cleared_at=ts, message=message,
                       evidence=_evidence(evidence) if evidence is not None else last.evidence)

    def list_active(self) -> list[Alert]:
        """Active alerts, oldest first."""
        return sorted(self.active.values(), key=lambda a: (a.raised_at, a.alert_id))

    def to_json(self) -> list[dict[str, Any]]:
        return [a.to_dict() for a in self.list_active()]

    def load_json(self, items: list[dict[str, Any]]) -> None:
        self.active = {}
        for d in items:
            a = Alert.from_dict(d)
            self.active[(a.kind, a.subject_type, a.subject_id)] = a


def _evidence(evidence: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in (evidence or {}).items():
        if isinstance(v, (float, np.floating)):
            out[k] = _clean(float(v))
        elif isinstance(v, (np.integer,)):
            out[k] = int(v)
        elif isinstance(v, (list, tuple)):
            out[k] = [_clean(float(x)) if isinstance(x, (float, np.floating)) else x for x in v]
        else:
            out[k] = v
    return out
