"""Shared pieces of the Modbus tests: a simulated device and a client link on a real channel."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from edge.modbus.adapter import ModbusLink
from edge.modbus.link import LinkSettings
from edge.modbus.profile import Profile
from edge.sim.sources import StaticSource
from edge.sim.ttu import SimulatedTtu

# Values of a loaded 400 kVA area transformer's LV side, in engineering units.
MASTER: dict[str, float] = {
    "u_a": 230.1, "u_b": 231.2, "u_c": 229.9,
    "i_a": 412.5, "i_b": 398.25, "i_c": 405.0, "i_n": 21.5,
    "p": 270.5, "p_a": 90.5, "p_b": 88.0, "p_c": 92.0, "q": 61.25,
    "pf": 0.975, "f": 50.01, "e_fwd": 1234567.5, "e_rev": 321.25, "t_amb": 31.5,
}

CHANNELS = ("tcp", "rtu-tcp", "rtu-pty")


@pytest.fixture
def channel_factory(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``async with open_channel(profile, source, channel) as (ttu, link)`` on a real pty or loopback TCP."""

    @asynccontextmanager
    async def open_channel(profile: Profile, source: StaticSource, channel: str, *, timeout_s: float = 0.3,
                           retries: int = 0, **sim: Any) -> AsyncIterator[tuple[SimulatedTtu, ModbusLink]]:
        if channel == "rtu-pty":
            dev_side, cli_side = request.getfixturevalue("ptys")
            ttu = SimulatedTtu(profile, source, transport="serial", port=dev_side, **sim)
            settings = LinkSettings(kind="rtu", port=cli_side, parity="N", timeout_s=timeout_s, retries=retries)
        else:
            framer = "rtu" if channel == "rtu-tcp" else "socket"
            ttu = SimulatedTtu(profile, source, transport="tcp", framer=framer, **sim)
            settings = None
        async with ttu:
            if settings is None:
                settings = LinkSettings(kind="rtu-tcp" if channel == "rtu-tcp" else "tcp", port=ttu.host,
                                        tcp_port=ttu.tcp_port, timeout_s=timeout_s, retries=retries)
            link = ModbusLink(settings)
            async with link:
                yield ttu, link

    return open_channel
