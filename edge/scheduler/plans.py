"""Reading plans, devices and policies: the plain data a bus scheduler is built from.

The config loader constructs these from ``[[bus]]`` / ``[[area]]`` / plan tables; ``default_plans`` gives
the plans of issue 6 (master realtime every 5 s, customer meters every 15 min, hourly tamper sweep, daily
frozen energy after midnight, daily clock check) for a loader that has no plan tables.

Slot times are aligned to the Unix epoch: plan slots fall at ``offset_s + k * interval_s`` (UTC seconds).
A daily plan at local 00:15 in UTC+8 therefore has ``offset_s = (15 * 60 - 8 * 3600) % 86400``;
``local_offset_s`` does that arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from detect.quantities import QUANTITY_CODE

__all__ = [
    "BackoffPolicy",
    "ClockPolicy",
    "DeviceSpec",
    "ReadingPlan",
    "default_plans",
    "local_offset_s",
]

PLAN_KINDS = ("read", "clock")


@dataclass(frozen=True, kw_only=True, slots=True)
class ReadingPlan:
    """What to read from every device of one class, and how often.

    ``priority``: lower runs first; between transactions the scheduler always serves the most urgent
    due plan (priority, then earliest deadline), so a low number protects a plan from being starved.
    ``deadline_s``: how long after its slot a round should be finished (default: its interval);
    finishing later is reported as lateness. ``kind = "clock"`` reads the meter clock
    (04000101/04000102) instead of quantities and reports its drift.
    """

    name: str                           # "realtime", "interval", "tamper", "daily", "clock"
    class_name: str                     # device class it applies to: "master", "customer", ...
    quantities: tuple[str, ...] = ()
    interval_s: float
    offset_s: float = 0.0
    priority: int = 5
    deadline_s: float | None = None
    kind: str = "read"

    def __post_init__(self) -> None:
        where = f"plan {self.name!r} (class {self.class_name!r})"
        if self.interval_s <= 0:
            raise ValueError(f"{where}: interval_s must be > 0, got {self.interval_s}")
        if self.deadline_s is not None and self.deadline_s <= 0:
            raise ValueError(f"{where}: deadline_s must be > 0, got {self.deadline_s}")
        if self.kind not in PLAN_KINDS:
            raise ValueError(f"{where}: kind {self.kind!r} is not one of {', '.join(PLAN_KINDS)}")
        if self.kind == "read" and not self.quantities:
            raise ValueError(f"{where}: a read plan needs at least one quantity")
        unknown = [q for q in self.quantities if q not in QUANTITY_CODE]
        if unknown:
            raise ValueError(f"{where}: unknown quantities {', '.join(unknown)}")

    @property
    def effective_deadline_s(self) -> float:
        return self.interval_s if self.deadline_s is None else self.deadline_s

    def slot_at_or_before(self, t: float) -> float:
        """Start of the slot that contains ``t``."""
        k = (t - self.offset_s) // self.interval_s
        return self.offset_s + k * self.interval_s


@dataclass(frozen=True, kw_only=True, slots=True)
class DeviceSpec:
    """One device on a bus: its id (``"master"`` or a meter id) and its class (which plans apply)."""

    device: str
    class_name: str


@dataclass(frozen=True, kw_only=True, slots=True)
class BackoffPolicy:
    """Dead-device back-off.

    After ``silent_threshold`` consecutive transactions without a reply the device is backed off: its
    scheduled reads are reported as failures without touching the wire, and one cheap probe (the
    shortest transaction of its plans) is sent after ``base_s``, then after 2x, 4x ... up to ``max_s``.
    A probe that answers ends the back-off and every plan of the device is read again at once.
    Probe intervals are stretched when needed so that all probes together use at most ``probe_budget``
    of the wire (each costs a full reply deadline, about 1 s at 2400 baud with one client retry).
    """

    silent_threshold: int = 2
    base_s: float = 60.0
    factor: float = 2.0
    max_s: float = 900.0
    probe_budget: float = 0.03

    def __post_init__(self) -> None:
        if self.silent_threshold < 1:
            raise ValueError(f"backoff: silent_threshold must be >= 1, got {self.silent_threshold}")
        if not 0 < self.base_s <= self.max_s:
            raise ValueError(f"backoff: need 0 < base_s <= max_s, got {self.base_s}, {self.max_s}")
        if self.factor < 1:
            raise ValueError(f"backoff: factor must be >= 1, got {self.factor}")
        if not 0 < self.probe_budget <= 1:
            raise ValueError(f"backoff: probe_budget must be in (0, 1], got {self.probe_budget}")

    def delay_s(self, probes_failed: int) -> float:
        """Back-off before the next probe after ``probes_failed`` failed probes (0 = just backed off)."""
        return min(self.base_s * self.factor ** probes_failed, self.max_s)


TIME_SYNC_MODES = ("off", "broadcast")


@dataclass(frozen=True, kw_only=True, slots=True)
class ClockPolicy:
    """Meter clock check. ``time_sync = "broadcast"`` sends one broadcast time sync (08H) after a clock
    round in which some meter drifted more than ``sync_threshold_s``, at most once per ``sync_min_gap_s``.
    The daemon never does this unless configured (docs/architecture.md, principle 4: read-only on the field bus)."""

    drift_limit_s: float = 60.0        # |drift| above this is counted and logged as a warning
    time_sync: str = "off"
    sync_threshold_s: float = 30.0
    sync_min_gap_s: float = 86_400.0   # meters accept a broadcast correction about once a day

    def __post_init__(self) -> None:
        if self.time_sync not in TIME_SYNC_MODES:
            raise ValueError(f"clock: time_sync {self.time_sync!r} is not one of {', '.join(TIME_SYNC_MODES)}")
        if self.drift_limit_s <= 0 or self.sync_threshold_s <= 0:
            raise ValueError("clock: drift_limit_s and sync_threshold_s must be > 0")


def local_offset_s(hour: int, minute: int = 0, *, utc_offset_s: float = 8 * 3600) -> float:
    """``offset_s`` of a daily plan that should run at local ``hour:minute`` (default China, UTC+8)."""
    return (hour * 3600 + minute * 60 - utc_offset_s) % 86_400


@dataclass(frozen=True, kw_only=True, slots=True)
class _Defaults:
    master_realtime: tuple[str, ...] = ("u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p", "q")
    master_interval: tuple[str, ...] = ("e_fwd", "e_rev", "pf")
    customer_interval: tuple[str, ...] = ("e_fwd", "u_a", "i_a", "i_n", "p", "pf", "sw3", "sw7")
    tamper: tuple[str, ...] = ("sw4", "sw5", "sw6", "sw7", "evt_cover_open", "evt_terminal_open",
                               "evt_power_down", "evt_event_clear", "evt_meter_clear")


def default_plans(*, utc_offset_s: float = 8 * 3600, customer_quantities: Sequence[str] | None = None,
                  master_class: str = "master", customer_class: str = "customer") -> tuple[ReadingPlan, ...]:
    """The plans of issue 6. ``customer_quantities`` overrides the 15-min set (e.g. three-phase meters)."""
    d = _Defaults()
    cust = tuple(customer_quantities) if customer_quantities else d.customer_interval
    return (
        ReadingPlan(name="realtime", class_name=master_class, quantities=d.master_realtime,
                    interval_s=5, priority=0, deadline_s=5),
        ReadingPlan(name="interval", class_name=master_class, quantities=d.master_interval,
                    interval_s=900, priority=1, deadline_s=60),
        ReadingPlan(name="interval", class_name=customer_class, quantities=cust,
                    interval_s=900, priority=2),
        # Tamper sweep half-way into a 15-min slot so it does not pile onto the interval round.
        ReadingPlan(name="tamper", class_name=customer_class, quantities=d.tamper,
                    interval_s=3600, offset_s=450, priority=3),
        ReadingPlan(name="daily", class_name=master_class, quantities=("e_fwd_daily",), interval_s=86_400,
                    offset_s=local_offset_s(0, 15, utc_offset_s=utc_offset_s), priority=1, deadline_s=3600),
        ReadingPlan(name="daily", class_name=customer_class, quantities=("e_fwd_daily",), interval_s=86_400,
                    offset_s=local_offset_s(0, 15, utc_offset_s=utc_offset_s), priority=3,
                    deadline_s=4 * 3600),
        ReadingPlan(name="clock", class_name=customer_class, kind="clock", interval_s=86_400,
                    offset_s=local_offset_s(2, 0, utc_offset_s=utc_offset_s), priority=4,
                    deadline_s=4 * 3600),
    )
