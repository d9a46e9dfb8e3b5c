"""What a stage hands the engine, and what it may read of the alarms.

A stage never raises or clears an alert itself. It returns **conditions**: for one alert kind
(``kind@subject_type``), time-ordered events saying per subject whether the raise condition holds
(``on``), whether the clear condition holds (``off``) and whether the event can be judged at all
(``valid``; a missing value holds a raised alarm and drops a pending one). The engine feeds them, in the
order returned, to the persistence and hysteresis machinery it alone owns, and publishes what changed.
A **clear** ends active alarms that something else now explains (an outage explains a silent meter).

What stages may know of the alarms is an ``AlarmView``: per key, which subjects are active right now
(raised, or waiting for the clear persistence). Read-only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["AlarmSpec", "AlarmView", "Clear", "Condition", "Observation", "Observed", "Seen"]

Severity = Callable[[float], str]
Describe = Callable[[str, int, float], str]      # (state raised|updated|cleared, subject index, value) -> message
Evidence = Callable[[int], dict[str, Any]]       # event index -> the numbers behind it


@dataclass(frozen=True, kw_only=True, eq=False)
class AlarmSpec:
    """An alert kind a stage may raise: ``key`` = ``kind@subject_type``, how many subjects, and how long
    the raise / clear condition must hold (0 = at the first event)."""

    key: str
    subjects: int
    persist_on_s: float = 0.0
    persist_off_s: float = 0.0


@dataclass(kw_only=True, eq=False, slots=True)
class Condition:
    """Condition events of one alert kind (see the module doc). ``values`` is the number published with
    the alert; ``describe`` makes the human message, ``evidence`` the numbers behind it.
    ``updates=False``: no ``updated`` events (kinds whose value only counts time, e.g. silence)."""

    key: str
    subj: npt.ArrayLike
    ts: npt.ArrayLike
    on: npt.ArrayLike
    off: npt.ArrayLike
    valid: npt.ArrayLike
    values: npt.ArrayLike
    threshold: float
    unit: str
    severity: Severity
    describe: Describe
    evidence: Evidence | None = None
    updates: bool = True


@dataclass(kw_only=True, eq=False, slots=True)
class Clear:
    """End the active alarms of ``key`` among the ``subjects`` (a mask) at ``ts``, with ``message``
    saying what explains them; inactive subjects are left alone."""

    key: str
    subjects: npt.NDArray[np.bool_]
    ts: float
    message: str


Observation = Condition | Clear          # plain (not frozen) records: built by the dozen on every tick
AlarmView = Mapping[str, npt.NDArray[np.bool_]]


class Observed(Protocol):
    """Anything a stage returns that carries conditions for the engine."""

    @property
    def conditions(self) -> Sequence[Observation]: ...


@dataclass(frozen=True, eq=False)
class Seen:
    """The plain result of a step: its conditions and the summary fields it fills."""

    conditions: tuple[Observation, ...] = ()
    fields: dict[str, Any] = field(default_factory=dict)
