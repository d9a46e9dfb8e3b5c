from __future__ import annotations

import pytest

from edge.sim.clock import SimClock


class Wall:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_clock_runs_speed_times_faster_than_the_wall() -> None:
    wall = Wall()
    clock = SimClock(start=1_000_000.0, speed=600, wall=wall)
    wall.t += 2.0
    assert clock.now() == 1_000_000.0 + 1200.0
    assert clock.wall_seconds(900) == 1.5


def test_speed_change_keeps_simulated_time_continuous() -> None:
    wall = Wall()
    clock = SimClock(start=0.0, speed=10, wall=wall)
    wall.t += 1.0
    clock.set_speed(1000)
    assert clock.now() == 10.0
    wall.t += 1.0
    assert clock.now() == 1010.0
    clock.reset(5.0)
    assert clock.now() == 5.0


@pytest.mark.parametrize("speed", [0, -1, 1e9])
def test_speed_outside_range_is_refused(speed: float) -> None:
    with pytest.raises(ValueError, match="clock speed"):
        SimClock(start=0.0, speed=speed)


def test_sleep_until_returns_once_simulated_time_is_reached() -> None:
    clock = SimClock(start=0.0, speed=10_000)
    clock.sleep_until(50.0)                                # 5 ms of wall time
    assert clock.now() >= 50.0
