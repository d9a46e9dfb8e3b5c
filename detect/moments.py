"""What a detector added to ``detect.engine.DETECTORS`` is shown, at the three moments it can act on.

Everything here is read-only for the detector: the built-in stages have already run for that moment, and
``alarms`` says which alerts are active now (after those stages' conditions were applied).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.observe import AlarmView
from detect.stages.balance import Balance
from detect.stages.load import Load
from detect.stages.loss import LossInterval
from detect.stages.meters import ClosedMeters
from detect.stages.polls import Polls
from detect.stages.readings import ReadingsState
from detect.stages.summaries import ClosedDay
from detect.stages.thermal import Heat

__all__ = ["DayMoment", "IntervalMoment", "PollMoment"]


@dataclass(frozen=True, eq=False)
class PollMoment:
    """New master polls (``on_polls``): their values, load, heat and balance, poll by poll. Summary fields a
    detector returns are arrays over the polls (one value per realtime summary)."""

    polls: Polls
    load: Load
    heat: Heat
    balance: Balance
    alarms: AlarmView


@dataclass(frozen=True, eq=False)
class IntervalMoment:
    """Interval ``k`` closed (``on_interval``): its energies, line loss and the latest readings. Summary
    fields go into the interval summary."""

    k: int
    start: float
    end: float
    meters: ClosedMeters              # every device's interval energy, which meters were read
    loss: LossInterval                # customers' forward / reverse energies, the area's NTL
    readings: ReadingsState           # latest value per device and quantity, last seen, cadences
    explained: npt.NDArray[np.bool_]  # meters whose silence an active outage explains
    alarms: AlarmView


@dataclass(frozen=True, eq=False)
class DayMoment:
    """A local day closed (``on_day``): the daily summary so far (line loss included). Summary fields go
    into the daily summary."""

    day: ClosedDay
    fields: dict[str, Any]
    explained: npt.NDArray[np.bool_]
    alarms: AlarmView
