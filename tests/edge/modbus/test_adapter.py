"""The pymodbus adapter: the only importer of pymodbus; replies, errors and counters of a link."""

from __future__ import annotations

import ast
import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge.errors import PortError, TransportError
from edge.modbus.adapter import FRAME_RING, ModbusLink
from edge.modbus.link import LinkSettings, NoReplyError
from edge.modbus.profile import load_profile
from edge.sim.sources import StaticSource
from edge.sim.ttu import SimulatedTtu
from tests.edge.modbus.conftest import MASTER
from tests.support.blackhole import Blackhole
from tests.support.procs import free_port
from tests.support.pty import PtyPair

ROOT = Path(__file__).resolve().parents[3]


def _imports_pymodbus(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "pymodbus" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "pymodbus":
            return True
    return False


def test_only_the_adapter_imports_pymodbus() -> None:
    sources = [p for top in ("edge", "detect", "collector", "bench") for p in (ROOT / top).rglob("*.py")]
    assert len(sources) > 10
    importers = sorted(str(p.relative_to(ROOT)) for p in sources if _imports_pymodbus(p))
    assert importers == ["edge/modbus/adapter.py"]


def test_the_import_scan_sees_both_import_forms(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import pymodbus.client as c\n")
    (tmp_path / "b.py").write_text("def f():\n    from pymodbus import FramerType\n")
    (tmp_path / "c.py").write_text("import pymodbusx\n")
    assert [_imports_pymodbus(tmp_path / n) for n in ("a.py", "b.py", "c.py")] == [True, True, False]


def test_closed_tcp_port_is_a_port_error_naming_it() -> None:
    port = free_port()

    async def go() -> None:
        link = ModbusLink(LinkSettings(kind="tcp", port="127.0.0.1", tcp_port=port, timeout_s=0.3, retries=0))
        with pytest.raises(PortError, match=f"tcp://127.0.0.1:{port}: cannot connect"):
            await link.connect()
        with pytest.raises(PortError):
            await link.read_registers(function=3, address=0, count=2, device_id=1)
        assert link.counters.failures == 1

    asyncio.run(go())


def test_missing_serial_port_is_a_port_error_with_the_cause(tmp_path: Path) -> None:
    async def go() -> None:
        link = ModbusLink(LinkSettings(kind="rtu", port=str(tmp_path / "ttyNone"), parity="N", timeout_s=0.2))
        with pytest.raises(PortError, match="ttyNone: cannot open at 9600 baud, 8N1: no such device"):
            await link.connect()

    asyncio.run(go())


@pytest.mark.integration
def test_exception_reply_is_returned_and_counted(channel_factory: Callable[..., Any]) -> None:
    async def go() -> None:
        async with channel_factory(load_profile("ttu"), StaticSource.only({"master": MASTER}), "rtu-pty") as (_t, link):
            reply = await link.read_registers(function=3, address=0x0100, count=2, device_id=1)
            assert reply.exception_code == 2 and reply.registers == ()
            assert link.frames[-1][1:] == ("rx", bytes.fromhex("01 83 02 c0 f1"))
            c = link.counters
            assert (c.requests, c.exception_replies, c.failures, c.bytes_out, c.bytes_in) == (1, 1, 1, 8, 5)

    asyncio.run(go())


@pytest.mark.integration
def test_no_reply_waits_timeout_times_attempts_and_counts_the_retries(channel_factory: Callable[..., Any]) -> None:
    async def go() -> None:
        async with channel_factory(load_profile("ttu"), StaticSource.only({"master": MASTER}), "tcp",
                                   timeout_s=0.15, retries=1) as (ttu, link):
            ttu.faults.silent.add(1)
            loop = asyncio.get_running_loop()
            t = loop.time()
            with pytest.raises(NoReplyError, match=r"device 1: no reply within 0\.30 s \(2 attempts\)"):
                await link.read_registers(function=3, address=0, count=2, device_id=1)
            assert 0.28 < loop.time() - t < 1.0
            assert (link.counters.requests, link.counters.attempts, link.counters.no_replies) == (1, 2, 1)
            assert link.counters.bytes_out == 2 * 12

    asyncio.run(go())


@pytest.mark.integration
def test_frame_ring_keeps_only_the_last_frames(channel_factory: Callable[..., Any]) -> None:
    async def go() -> None:
        async with channel_factory(load_profile("ttu"), StaticSource.only({"master": MASTER}), "tcp") as (_t, link):
            for _ in range(FRAME_RING):
                await link.read_registers(function=3, address=0, count=2, device_id=1)
            assert len(link.frames) == FRAME_RING
            assert [d for _, d, _ in link.frames][:2] == ["tx", "rx"]

    asyncio.run(go())


@pytest.mark.integration
def test_tcp_link_recovers_after_pymodbus_drops_it_for_repeated_silence(channel_factory: Callable[..., Any]) -> None:
    # pymodbus closes a TCP connection after retries + 3 unanswered requests in a row
    async def go() -> None:
        async with channel_factory(load_profile("ttu"), StaticSource.only({"master": MASTER}), "tcp",
                                   timeout_s=0.05, retries=0) as (ttu, link):
            ttu.faults.silent.add(1)
            states = []
            for _ in range(6):
                with pytest.raises(TransportError):
                    await link.read_registers(function=3, address=0, count=2, device_id=1)
                states.append(link.connected)
            assert states == [True, True, True, True, False, True]   # dropped after the 5th, reopened by the 6th
            ttu.faults.silent.clear()
            reply = await link.read_registers(function=3, address=0, count=2, device_id=1)
            assert reply.exception_code is None and len(reply.registers) == 2

    asyncio.run(go())


def _read(link: ModbusLink) -> Any:
    return link.read_registers(function=3, address=0, count=2, device_id=1)


@pytest.mark.integration
def test_a_restarted_tcp_ttu_is_a_port_error_while_down_and_the_same_link_reconnects() -> None:
    port = free_port()
    source = StaticSource.only({"master": MASTER})

    async def go() -> None:
        link = ModbusLink(LinkSettings(kind="tcp", port="127.0.0.1", tcp_port=port, timeout_s=0.3, retries=0))
        ttu = SimulatedTtu(load_profile("ttu"), source, transport="tcp", port="")
        ttu._server.tcp_port = port       # the same port after the restart, as a real TTU
        async with ttu:
            assert (await _read(link)).exception_code is None
        with pytest.raises(PortError, match=f"tcp://127.0.0.1:{port}: (connection lost|cannot connect)"):
            await _read(link)          # in flight when the TTU went down, or sent after
        with pytest.raises(PortError, match=f"tcp://127.0.0.1:{port}: cannot connect"):
            await _read(link)
        ttu = SimulatedTtu(load_profile("ttu"), source, transport="tcp")
        ttu._server.tcp_port = port
        async with ttu:
            await link.connect()
            assert len((await _read(link)).registers) == 2
        link.close()

    asyncio.run(go())


@pytest.mark.integration
def test_a_tcp_ttu_that_loses_power_is_silent_then_a_port_error_and_the_same_link_reconnects() -> None:
    """Power lost at the TTU: its stack is gone and its packets vanish (``Blackhole``: nftables, no FIN, no
    RST). The requests go unanswered (``NoReplyError``, the device's back-off decides), pymodbus drops the
    connection after retries + 3 of them (``PortError``: the port's back-off decides, and its reopens fail at
    the connect timeout while the TTU is dark); once the TTU is back the same link connects and reads."""
    port = free_port()
    source = StaticSource.only({"master": MASTER})
    hole = Blackhole(port)

    async def go() -> list[str]:
        link = ModbusLink(LinkSettings(kind="tcp", port="127.0.0.1", tcp_port=port, timeout_s=0.3, retries=0))
        ttu = SimulatedTtu(load_profile("ttu"), source, transport="tcp", port="")
        ttu._server.tcp_port = port
        async with ttu:
            assert (await _read(link)).exception_code is None
            hole.drop()                    # the power goes: the TTU's close below never arrives
        seen: list[str] = []
        while "port" not in seen and len(seen) < 10:
            try:
                await _read(link)
                seen.append("reply")
            except NoReplyError:
                seen.append("silent")
            except PortError as exc:
                assert re.match(f"tcp://127.0.0.1:{port}: (connection lost|cannot connect)", str(exc)), exc
                seen.append("port")
        ttu = SimulatedTtu(load_profile("ttu"), source, transport="tcp")
        ttu._server.tcp_port = port
        async with ttu:
            hole.lift()                    # the power is back
            await link.connect()
            assert len((await _read(link)).registers) == 2
        link.close()
        return seen

    try:
        seen = asyncio.run(go())
    finally:
        hole.lift()
    assert seen == ["silent"] * 4 + ["port"], seen


@pytest.mark.integration
def test_an_rtu_adapter_unplugged_and_back_is_a_port_error_then_reopens(tmp_path: Path) -> None:
    pair = PtyPair(tmp_path).start()
    source = StaticSource.only({"master": MASTER})

    async def go() -> None:
        link = ModbusLink(LinkSettings(kind="rtu", port=pair.client, parity="N", timeout_s=0.3, retries=0))
        async with SimulatedTtu(load_profile("ttu"), source, transport="serial", port=pair.device):
            assert (await _read(link)).exception_code is None
            pair.hang_up()
            await asyncio.sleep(0.2)
            with pytest.raises(PortError, match="no such device"):
                await _read(link)
        pair.start()
        async with SimulatedTtu(load_profile("ttu"), source, transport="serial", port=pair.device):
            await link.connect()
            assert len((await _read(link)).registers) == 2
        link.close()

    try:
        asyncio.run(go())
    finally:
        pair.hang_up()
