""""Now" figures for the live views: rates over the last minute from cumulative counters.

The schedulers count from the start (reads, busy wire time, useful wire time); what a technician wants
to see is the bus *now*: how much of the wire was used in the last minute, how much of that brought
data back, how many reads succeeded. ``Windows`` samples the counters every ``step_s`` and gives the
differences over (about) the last ``window_s``; before a whole window has passed, since the start.
The process's own CPU time is sampled the same way.
"""

from __future__ import annotations

import collections
import os
import resource
import time
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["BusRates", "Windows", "process_figures"]


@dataclass(frozen=True, slots=True)
class BusRates:
    window_s: float
    utilisation: float | None     # busy wire time / elapsed
    efficiency: float | None      # wire-formula time of complete answers / busy wire time
    success: float | None         # transactions that returned everything asked / all transactions
    reads: int                    # transactions in the window


_ZERO = {"busy_s": 0.0, "useful_s": 0.0, "reads_ok": 0, "reads_failed": 0}


class Windows:
    """Per bus, samples of ``BusScheduler.totals()``; and the process CPU time."""

    def __init__(self, *, window_s: float = 60.0, step_s: float = 5.0) -> None:
        self.window_s = window_s
        self.step_s = step_s
        n = int(window_s / step_s) + 1
        self._bus: dict[str, collections.deque[Mapping[str, float]]] = collections.defaultdict(
            lambda: collections.deque(maxlen=n))
        self._cpu: collections.deque[tuple[float, float]] = collections.deque(maxlen=n)

    def sample(self, buses: Mapping[str, Mapping[str, float]]) -> None:
        for name, totals in buses.items():
            self._bus[name].append(dict(totals))
        self._cpu.append((time.monotonic(), _cpu_s()))

    def bus(self, name: str, now: Mapping[str, float]) -> BusRates:
        past = self._bus.get(name)
        then: Mapping[str, float] = past[0] if past else {**_ZERO, "now": now.get("t0", now["now"])}
        dt = now["now"] - then["now"]
        busy = now["busy_s"] - then["busy_s"]
        ok = int(now["reads_ok"] - then["reads_ok"])
        reads = ok + int(now["reads_failed"] - then["reads_failed"])
        return BusRates(window_s=round(max(dt, 0.0), 1),
                        utilisation=min(busy / dt, 1.0) if dt > 0 else None,
                        efficiency=min((now["useful_s"] - then["useful_s"]) / busy, 1.0) if busy > 0 else None,
                        success=ok / reads if reads else None, reads=reads)

    def cpu_pct(self) -> float | None:
        """Percent of one core the daemon used over the window (None before the second sample)."""
        if not self._cpu:
            return None
        t0, c0 = self._cpu[0]
        dt = time.monotonic() - t0
        return round(100.0 * (_cpu_s() - c0) / dt, 2) if dt > 0.5 else None


def _cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def process_figures() -> dict[str, float]:
    """Resident memory now and at its peak (MiB), from /proc (``ru_maxrss`` where /proc is missing)."""
    out: dict[str, float] = {}
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key = "rss_mb" if line.startswith("VmRSS") else "rss_peak_mb"
                    out[key] = round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        out["rss_peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)
    return out
