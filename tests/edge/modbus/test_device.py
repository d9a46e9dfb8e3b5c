"""Reading devices over real channels (pty RTU, RTU over TCP, Modbus TCP) from the simulated TTU."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from detect.quantities import UNITS
from edge.modbus.device import Backoff, ModbusDevice
from edge.modbus.profile import load_profile
from edge.sim.sources import StaticSource
from tests.edge.modbus.conftest import CHANNELS, MASTER

pytestmark = pytest.mark.integration

RATIOS = {"dtsu666": (200.0, 1.0), "dtsd1352": (200.0, 10.0), "sdm630": (1.0, 1.0), "ttu": (1.0, 1.0)}


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _tolerance(profile_name: str, quantity: str, ct: float, pt: float) -> float:
    p = load_profile(profile_name).point(quantity)
    if p.rtype == "float32":
        return abs(MASTER[quantity]) * 1e-6 + 1e-9
    return abs(p.factor(ct, pt)) / 2 + 1e-9   # integer registers quantise to one raw step


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("name", ["dtsu666", "sdm630", "dtsd1352", "ttu"])
def test_every_shipped_profile_reads_back_the_served_values(name: str, channel: str,
                                                            channel_factory: Callable[..., Any]) -> None:
    prof = load_profile(name)
    ct, pt = RATIOS[name]

    async def go() -> None:
        async with channel_factory(prof, StaticSource.only({"master": MASTER}), channel, ct_ratio=ct,
                                   pt_ratio=pt) as (_ttu, link):
            dev = ModbusDevice(link, prof, 1, ct_ratio=ct, pt_ratio=pt)
            t0 = time.time()
            got = await dev.read()
            t1 = time.time()
            assert got.failures == []
            assert sorted(r.quantity for r in got.readings) == sorted(prof.quantities)
            for r in got.readings:
                assert r.device == "master"
                assert r.value == pytest.approx(MASTER[r.quantity], abs=_tolerance(name, r.quantity, ct, pt)), \
                    f"{r.quantity} [{UNITS.get(r.quantity)}]"
                assert t0 <= r.ts <= t1
            assert link.counters.requests == len(dev.plan()) == dev.counters.requests

    asyncio.run(go())


def test_dtsu666_registers_hold_secondary_tenths_and_the_reader_returns_primary_kw(
        channel_factory: Callable[..., Any]) -> None:
    prof = load_profile("dtsu666")

    async def go() -> None:
        async with channel_factory(prof, StaticSource.only({"master": MASTER}), "tcp", ct_ratio=200) as (_t, link):
            raw = await link.read_registers(function=3, address=0x2012, count=2, device_id=1)
            from edge.modbus.registers import decode
            assert decode(raw.registers, "float32") == pytest.approx(270.5 / 200 * 10_000)   # 0.1 W, secondary
            got = await ModbusDevice(link, prof, 1, ct_ratio=200).read(["p"])
            assert [(r.quantity, round(r.value, 6)) for r in got.readings] == [("p", 270.5)]

    asyncio.run(go())


def test_rtu_full_dtsu666_read_puts_pinned_frames_and_exact_bytes_on_the_wire(
        channel_factory: Callable[..., Any]) -> None:
    prof = load_profile("dtsu666")

    async def go() -> None:
        async with channel_factory(prof, StaticSource.only({"master": MASTER}), "rtu-pty") as (_t, link):
            await ModbusDevice(link, prof, 1).read()
            tx = [f for _, d, f in link.frames if d == "tx"]
            assert [f.hex(" ") for f in tx] == ["01 03 20 06 00 40 af fb", "01 03 40 1e 00 0c 30 09"]
            assert (link.counters.bytes_out, link.counters.bytes_in) == (16, (5 + 2 * 64) + (5 + 2 * 12))
            src = StaticSource.only({"master": {"u_a": 230.1}})
            _t.source = src
            reply = await link.read_registers(function=3, address=0x2006, count=2, device_id=1)
            assert reply.registers == (0x450F, 0xD000)
            assert link.frames[-1][2] == bytes.fromhex("01 03 04 45 0f d0 00 82 fc")

    asyncio.run(go())


@pytest.mark.parametrize("channel", ["tcp", "rtu-pty"])
def test_exception_on_one_register_fails_only_that_quantity_and_the_split_is_kept(
        channel: str, channel_factory: Callable[..., Any]) -> None:
    prof = load_profile("dtsu666")

    async def go() -> None:
        async with channel_factory(prof, StaticSource.only({"master": MASTER}), channel) as (ttu, link):
            ttu.faults.exceptions["pf"] = 2
            dev = ModbusDevice(link, prof, 1)
            first = await dev.read()
            assert [(f.quantity, f.reason) for f in first.failures] == [
                ("pf", "exception 0x02 (illegal data address) reading 0x202a (function 3)")]
            assert len(first.readings) == len(prof.points) - 1
            n_first = dev.counters.requests
            second = await dev.read()
            assert [f.quantity for f in second.failures] == ["pf"]
            assert len(second.readings) == len(prof.points) - 1
            # the learned plan goes straight to the pieces: no failing coalesced request any more
            assert dev.counters.requests - n_first == len(dev.plan()) < n_first
            # 13, 7, 4, 2 and 1 points on the way down to pf; then pf alone once more
            assert dev.counters.exception_replies == 5 + 1

    asyncio.run(go())


def test_transient_exception_is_split_around_but_the_plan_is_not_changed(
        channel_factory: Callable[..., Any]) -> None:
    prof = load_profile("ttu")

    async def go() -> None:
        async with channel_factory(prof, StaticSource.only({"master": MASTER}), "tcp") as (ttu, link):
            ttu.faults.exceptions["i_n"] = 6    # device busy
            dev = ModbusDevice(link, prof, 1)
            got = await dev.read()
            assert [f.quantity for f in got.failures] == ["i_n"]
            assert "device busy" in got.failures[0].reason
            assert len(dev.plan()) == 1
            ttu.faults.exceptions.clear()
            before = link.counters.requests
            again = await dev.read()
            assert again.ok and len(again.readings) == len(prof.points)
            assert link.counters.requests - before == 1      # still the one coalesced request

    asyncio.run(go())


@pytest.mark.serial
@pytest.mark.parametrize("channel", ["tcp", "rtu-pty"])
def test_silent_device_is_backed_off_exponentially_and_probed_cheaply(
        channel: str, channel_factory: Callable[..., Any]) -> None:
    prof = load_profile("dtsu666")
    clock = FakeClock()

    async def go() -> None:
        async with channel_factory(prof, StaticSource.only({"master": MASTER}), channel, timeout_s=0.2) as (ttu, link):
            dev = ModbusDevice(link, prof, 1, backoff=Backoff(base_s=10, max_s=25), clock=clock)
            ttu.faults.silent.add(1)
            t = time.monotonic()
            first = await dev.read()
            assert time.monotonic() - t < 1.0              # one deadline, not one per request
            assert link.counters.requests == 1              # the second request was never sent
            assert len(first.failures) == len(prof.points) and not first.readings
            assert "device 1: no reply within 0.20 s" in first.failures[0].reason

            out_before = link.counters.bytes_out
            clock.t += 5
            skipped = await dev.read()
            assert link.counters.bytes_out == out_before        # nothing on the wire while backed off
            assert "backed off, next probe in 5.0 s" in skipped.failures[0].reason
            assert dev.counters.skipped_reads == 1

            clock.t += 5                                        # back-off over: one probe, still silent
            probed = await dev.read()
            assert link.counters.requests == 2 and dev.counters.probes == 1
            assert "probe failed, next probe in 20.0 s" in probed.failures[0].reason
            clock.t += 20
            await dev.read()
            assert "next probe in 25.0 s" in (await _skip(dev, clock)).failures[0].reason  # capped at max_s

            ttu.faults.silent.clear()
            clock.t += 25
            back = await dev.read()
            assert back.ok and len(back.readings) == len(prof.points)
            assert not dev.silent
            # probe (1 register pair) + the two planned requests
            assert link.counters.requests == 3 + 1 + 2

    asyncio.run(go())


async def _skip(dev: ModbusDevice, clock: FakeClock) -> Any:
    clock.t += 0.001
    return await dev.read()


@pytest.mark.serial
@pytest.mark.parametrize("channel", ["tcp", "rtu-pty"])
def test_slow_reply_within_the_deadline_is_read_and_a_late_one_fails_without_poisoning_the_next(
        channel: str, channel_factory: Callable[..., Any]) -> None:
    prof = load_profile("ttu")
    clock = FakeClock()

    async def go() -> None:
        async with channel_factory(prof, StaticSource.only({"master": MASTER}), channel, timeout_s=0.3) as (ttu, link):
            dev = ModbusDevice(link, prof, 1, backoff=Backoff(base_s=1, max_s=1), clock=clock)
            ttu.faults.delay_s = 0.1
            assert (await dev.read()).ok
            ttu.faults.delay_s = 0.5
            late = await dev.read()
            assert not late.readings and "no reply within 0.30 s" in late.failures[0].reason
            await asyncio.sleep(0.4)                 # the late reply lands on the line now
            ttu.faults.delay_s = 0.0
            clock.t += 1
            again = await dev.read()
            assert again.ok
            assert {r.quantity: r.value for r in again.readings}["u_a"] == pytest.approx(230.1, rel=1e-6)

    asyncio.run(go())


def test_nan_infinite_and_impossible_values_are_failures_with_the_reason(
        channel_factory: Callable[..., Any]) -> None:
    prof = load_profile("ttu")
    bad = dict(MASTER, u_a=math.nan, p=math.inf, i_a=3.0e6, pf=1.5, e_fwd=-10.0)

    async def go() -> None:
        async with channel_factory(prof, StaticSource.only({"master": bad}), "tcp") as (_t, link):
            got = await ModbusDevice(link, prof, 1).read()
            reasons = {f.quantity: f.reason for f in got.failures}
            assert set(reasons) == {"u_a", "p", "i_a", "pf", "e_fwd"}
            assert reasons["u_a"].startswith("value is NaN")
            assert reasons["p"].startswith("value is +infinite")
            assert reasons["i_a"].startswith("value 3e+06 A outside the plausible range [-100000, 100000] A")
            assert reasons["pf"].startswith("value 1.5 outside the plausible range [-1.001, 1.001]")
            assert "raw -10 at 0x001c" in reasons["e_fwd"]
            assert len(got.readings) == len(prof.points) - 5

    asyncio.run(go())


def test_subset_read_asks_only_for_the_needed_registers_and_names_unknown_quantities(
        channel_factory: Callable[..., Any]) -> None:
    prof = load_profile("dtsu666")

    async def go() -> None:
        async with channel_factory(prof, StaticSource.only({"master": MASTER}), "tcp") as (_t, link):
            dev = ModbusDevice(link, prof, 1)
            got = await dev.read(["i_a", "i_b", "i_c", "i_n"], device="ttu-7")
            assert sorted(r.quantity for r in got.readings) == ["i_a", "i_b", "i_c"]
            assert [(f.device, f.quantity, f.reason) for f in got.failures] == [
                ("ttu-7", "i_n", "profile 'dtsu666' has no register for 'i_n'")]
            assert [(r.address, r.count) for r in dev.plan(["i_a", "i_b", "i_c"])] == [(0x200C, 6)]
            assert link.counters.requests == 1

    asyncio.run(go())


def test_device_absent_from_the_source_is_silent(channel_factory: Callable[..., Any]) -> None:
    prof = load_profile("ttu")

    async def go() -> None:
        async with channel_factory(prof, StaticSource.only({}), "rtu-pty", timeout_s=0.2) as (_t, link):
            got = await ModbusDevice(link, prof, 1).read()
            assert not got.readings and "no reply" in got.failures[0].reason

    asyncio.run(go())


def test_site_profile_with_every_type_and_word_order_reads_back_over_a_pty(
        tmp_path: Path, channel_factory: Callable[..., Any]) -> None:
    f = tmp_path / "site_ttu.toml"
    f.write_text("""
[profile]
function = 4
[points.u_a]
address = 0x0100
type = "float32"
word_order = "little"
[points.i_a]
address = 0x0102
type = "int32"
word_order = "little"
scale = 0.001
ratio = "ct"
[points.p]
address = 0x0104
type = "int16"
scale = 0.1
[points.e_fwd]
address = 0x0105
type = "uint32"
scale = 0.1
[points.f]
address = 0x0107
type = "uint16"
scale = 0.01
[points.q]
function = 3
address = 0x0000
type = "float32"
""")
    prof = load_profile(f)
    served = {"u_a": 230.5, "i_a": -412.5, "p": -270.5, "e_fwd": 1234567.5, "f": 49.98, "q": 61.25}

    async def go() -> None:
        async with channel_factory(prof, StaticSource.only({"master": served}), "rtu-pty", ct_ratio=50) as (_t, link):
            dev = ModbusDevice(link, prof, 7 - 6, ct_ratio=50)
            got = await dev.read()
            assert got.ok
            assert {r.quantity: round(r.value, 6) for r in got.readings} == served
            assert [(r.function, r.address, r.count) for r in dev.plan()] == [(3, 0, 2), (4, 0x100, 8)]

    asyncio.run(go())


def test_silent_device_does_not_disturb_its_neighbour_on_the_same_port(
        channel_factory: Callable[..., Any]) -> None:
    prof = load_profile("ttu")
    src = StaticSource.only({"master": MASTER, "ttu-2": dict(MASTER, u_a=240.0)})

    async def go() -> None:
        async with channel_factory(prof, src, "rtu-pty", devices={1: "master", 2: "ttu-2"},
                                   timeout_s=0.2) as (ttu, link):
            one, two = ModbusDevice(link, prof, 1), ModbusDevice(link, prof, 2)
            ttu.faults.silent.add(2)
            r2, r1 = await asyncio.gather(two.read(device="ttu-2"), one.read())
            assert not r2.readings and r1.ok
            ttu.faults.silent.clear()
            r2 = await ModbusDevice(link, prof, 2).read(["u_a"], device="ttu-2")
            assert [(r.device, r.value) for r in r2.readings] == [("ttu-2", 240.0)]

    asyncio.run(go())


def test_per_quantity_planning_sends_one_request_per_quantity(channel_factory: Callable[..., Any]) -> None:
    prof = load_profile("dtsu666")

    async def go() -> None:
        async with channel_factory(prof, StaticSource.only({"master": MASTER}), "tcp") as (_t, link):
            dev = ModbusDevice(link, prof, 1, planning="per_quantity")
            got = await dev.read()
            assert got.ok and link.counters.requests == 15

    asyncio.run(go())


def test_device_arguments_are_checked() -> None:
    from edge.modbus.adapter import ModbusLink
    from edge.modbus.link import LinkSettings

    link = ModbusLink(LinkSettings(kind="tcp", port="127.0.0.1"))
    prof = load_profile("ttu")
    with pytest.raises(ValueError, match=r"device id must be 0\.\.255 on a tcp link, got 300"):
        ModbusDevice(link, prof, 300)
    rtu = ModbusLink(LinkSettings(kind="rtu", port="/dev/null"))
    with pytest.raises(ValueError, match=r"device id must be 1\.\.247 on a rtu link, got 0"):
        ModbusDevice(rtu, prof, 0)
    assert ModbusDevice(link, prof, 255).device_id == 255
    with pytest.raises(ValueError, match="ct_ratio must be > 0, got 0"):
        ModbusDevice(link, prof, 1, ct_ratio=0)
    with pytest.raises(ValueError, match="planning must be 'coalesce' or 'per_quantity'"):
        ModbusDevice(link, prof, 1, planning="smart")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="back-off needs 0 < base_s <= max_s"):
        Backoff(base_s=10, max_s=5)
    assert ModbusDevice(link, load_profile("sdm630"), 1).max_gap == 48        # from the profile
    assert ModbusDevice(link, load_profile("sdm630"), 1, max_gap=4).max_gap == 4
