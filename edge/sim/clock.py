"""A simulated clock with speed-up, shareable between the simulated devices and the daemon in demos.

``SimClock(start=..., speed=600)`` runs simulated time 600 × faster than the wall clock from the moment
it is created (or ``reset``). Serial timing is never scaled: only the *values* a simulated device
reports follow the simulated clock; bytes on a pty still take their real wire time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["SimClock"]

MAX_SPEED = 100_000.0


class SimClock:
    """Simulated epoch time ``start + speed · (wall − wall0)``; thread-safe, speed changeable live."""

    def __init__(self, *, start: float, speed: float = 1.0,
                 wall: Callable[[], float] = time.monotonic) -> None:
        self._check(speed)
        self._wall = wall
        self._lock = threading.Lock()
        self._base_sim = float(start)
        self._base_wall = wall()
        self._speed = float(speed)

    @staticmethod
    def _check(speed: float) -> None:
        if not 0 < speed <= MAX_SPEED:
            raise ValueError(f"clock speed {speed} is outside (0, {MAX_SPEED:g}]")

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> float:
        """Current simulated time, epoch seconds UTC."""
        with self._lock:
            return self._base_sim + (self._wall() - self._base_wall) * self._speed

    def set_speed(self, speed: float) -> None:
        """Change the speed without a jump in simulated time."""
        self._check(speed)
        with self._lock:
            now_wall = self._wall()
            self._base_sim += (now_wall - self._base_wall) * self._speed
            self._base_wall = now_wall
            self._speed = float(speed)

    def reset(self, start: float) -> None:
        """Jump to simulated time ``start`` (keeps the speed)."""
        with self._lock:
            self._base_sim = float(start)
            self._base_wall = self._wall()

    def wall_seconds(self, sim_seconds: float) -> float:
        """Wall time that ``sim_seconds`` of simulated time take at the current speed."""
        return sim_seconds / self._speed

    def sleep_until(self, sim_ts: float) -> None:
        """Block until the simulated clock reaches ``sim_ts`` (returns at once if it already has)."""
        while True:
            remaining = sim_ts - self.now()
            if remaining <= 0:
                return
            time.sleep(min(self.wall_seconds(remaining), 1.0))
