"""Per-bus telemetry the health publisher reads: plain frozen snapshots, plus the mutable counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["BusTelemetry", "PlanTelemetry"]


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanTelemetry:
    """One plan (per device class) on one bus. Times in seconds; None = nothing measured yet."""

    plan: str
    class_name: str
    rounds_done: int
    rounds_overrun: int          # rounds still unfinished when their next slot began
    slots_coalesced: int         # device reads carried into a newer slot instead of being read twice
    last_round_time_s: float | None  # slot start (or scheduler start) -> last device done
    last_lateness_s: float | None    # how far the last round finished after its deadline (0 = on time)
    max_lateness_s: float            # worst lateness since the previous snapshot (incl. running overruns)


@dataclass(frozen=True, kw_only=True, slots=True)
class BusTelemetry:
    """What one bus did. Counters are cumulative; ``utilisation`` covers the time since the previous
    snapshot (health publishes once a minute)."""

    bus: str
    ts: float
    reads_ok: int                 # transactions that returned every quantity asked
    reads_failed: int             # transactions with any failure (incl. silent devices)
    reads_skipped: int            # device reads not sent because the device is backed off (reported)
    readings: int                 # quantities delivered
    utilisation: float | None     # busy wire time / elapsed, since the previous snapshot
    round_time_s: float | None    # longest last round time over the plans
    lateness_s: float | None      # worst lateness over the plans since the previous snapshot
    devices_backed_off: int
    devices_recovered: int
    probes: int
    rounds_overrun: int
    queue_dropped: int            # DeviceRead batches dropped (oldest first) because the queue was full
    clock_drift_max_abs_s: float | None
    clocks_over_limit: int
    time_syncs: int
    plans: tuple[PlanTelemetry, ...] = ()
    backed_off: tuple[str, ...] = ()

    def to_health(self) -> dict[str, Any]:
        """One entry of the ``buses`` array of the health payload (schemas/health.json)."""
        return {
            "name": self.bus,
            "reads_ok": self.reads_ok,
            "reads_failed": self.reads_failed,
            "utilisation": None if self.utilisation is None else round(self.utilisation, 4),
            "round_time_s": None if self.round_time_s is None else round(self.round_time_s, 3),
            "lateness_s": None if self.lateness_s is None else round(self.lateness_s, 3),
            "devices_backed_off": self.devices_backed_off,
            "reads_skipped": self.reads_skipped,
            "rounds_overrun": self.rounds_overrun,
            "queue_dropped": self.queue_dropped,
        }


@dataclass(slots=True)
class _Counters:
    reads_ok: int = 0
    reads_failed: int = 0
    reads_skipped: int = 0
    readings: int = 0
    busy_s: float = 0.0
    useful_s: float = 0.0         # wire-formula time of the transactions that returned everything asked
    recovered: int = 0
    probes: int = 0
    queue_dropped: int = 0
    clocks_over_limit: int = 0
    time_syncs: int = 0
    drifts: dict[str, float] = field(default_factory=dict)
