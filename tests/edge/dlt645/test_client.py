"""The client over real pseudo-terminals against the simulated meter bus: quirks, faults, bit errors."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest

from edge.dlt645.catalog import load_catalog
from edge.dlt645.client import Dlt645Client
from edge.dlt645.link import open_link
from edge.scheduler.reader import is_silent
from edge.sim.meterbus import Fault
from tests.edge.dlt645 import simbus

CAT = load_catalog()
QUANTITIES = ["e_fwd", "u_a", "u_b", "u_c", "i_a", "sw7"]


def _expected(n: int, q: str, protocol: str) -> float:
    item = CAT.by_name(q, protocol)
    v = simbus.values(n)[q]
    return round(v / item.fmt.scale) * item.fmt.scale


async def _read_all(port: str, baud: int, rounds: int = 1, quantities=QUANTITIES, **client_kw):
    async with open_link(port, baud=baud, parity="N", max_response_delay_s=0.3, quiet_s=0.1,
                         margin_s=0.05) as link:
        client = Dlt645Client(link, **client_kw)
        results = []
        for _ in range(rounds):
            for n in range(1, simbus.N_METERS + 1):
                t0 = time.time()
                r = await client.read(simbus.address(n), quantities, device=f"m{n:02d}")
                results.append((n, t0, time.time(), r))
        return results, client, link


@pytest.mark.slow
def test_client_reads_a_32_meter_bus_with_quirks_and_every_fault(ptys):
    dev, cli = ptys
    bus, _ = simbus.make_bus(19200)
    with bus.serving(dev):
        results, client, link = asyncio.run(_read_all(cli, 19200))
    by_meter = {n: r for n, _, _, r in results}
    for n, t0, t1, r in results:
        a = simbus.address(n)
        assert r.device == f"m{n:02d}"
        proto = client.profile(a).protocol
        for reading in r.readings:  # whatever was read is right, stamped with the reply arrival
            assert reading.value == pytest.approx(_expected(n, reading.quantity, proto or "2007"), abs=1e-6), \
                (a, reading)
            assert t0 <= reading.ts <= t1
        if a in simbus.FAULTS:
            continue
        got = {x.quantity for x in r.readings}
        if a in simbus.PROTO_1997:
            assert proto == "1997"
            assert got == {"e_fwd", "u_a", "u_b", "u_c"}
            reasons = {f.quantity: f.reason for f in r.failures}
            assert "not in the DL/T 645-1997 catalogue" in reasons["sw7"]
            assert "ERR 01" in reasons["i_a"]  # negative current does not fit the unsigned 1997 format
            assert not any(f.silent for f in r.failures)   # an error reply: the meter is there
        else:
            assert proto == "2007"
            assert got == set(QUANTITIES) and r.ok, (a, r.failures)
    # quirks: block fallback remembered per meter, blocks used elsewhere
    for a in simbus.NO_BLOCKS:
        assert "0201FF00" in client.profile(a).no_blocks
    assert not client.profile(simbus.address(1)).no_blocks
    # faults
    dead = by_meter[20]
    assert not dead.readings and {f.quantity for f in dead.failures} == set(QUANTITIES)
    assert any("no reply" in f.reason for f in dead.failures)
    truncated = by_meter[22]
    assert not truncated.readings and any("truncated" in f.reason for f in truncated.failures)
    assert set(x.quantity for x in by_meter[23].readings) == set(QUANTITIES)  # garbage before the frame: skipped
    late = by_meter[24]  # a late answer to a retried request is the right value, just late: accepted
    assert any("no reply" in f.reason for f in late.failures) or link.stats.timeouts > 0
    assert by_meter[25].ok  # the meter after the late one is not confused by the late answer
    noisy = by_meter[21]
    assert len(noisy.readings) + len(noisy.failures) == len(QUANTITIES)
    # counters the scheduler reads
    assert link.stats.ok > 100 and link.stats.timeouts > 0 and link.stats.decode_errors > 0
    assert link.stats.busy_s > 0 and link.stats.bytes_tx > 0 and link.stats.bytes_rx > 0
    assert client.profile(simbus.address(20)).consecutive_failed_reads == 1
    assert bus.stats.faults["truncate"] > 0 and bus.stats.faults["garbage"] > 0


def test_follow_up_frames_are_joined(ptys):
    dev, cli = ptys
    bus, _ = simbus.make_bus(19200, faults=False)
    n = 11  # replies split into 4-byte follow-up frames

    async def go():
        async with open_link(cli, baud=19200, parity="N", max_response_delay_s=0.3) as link:
            c = Dlt645Client(link)
            return await c.read(simbus.address(n), ["u_a", "u_b", "u_c", "e_fwd"]), link
    with bus.serving(dev):
        r, link = asyncio.run(go())
    assert r.ok
    assert {x.quantity: x.value for x in r.readings} == pytest.approx(
        {q: _expected(n, q, "2007") for q in ("u_a", "u_b", "u_c", "e_fwd")})
    assert any(rec.direction == "tx" and rec.data[12] == 0x12 for rec in link.ring)  # 12H was sent


def test_frozen_data_carries_the_freeze_time(ptys):
    dev, cli = ptys
    bus, _ = simbus.make_bus(19200, faults=False)

    async def go():
        async with open_link(cli, baud=19200, parity="N") as link:
            return await Dlt645Client(link).read(simbus.address(3), ["e_fwd_daily", "e_fwd"])
    with bus.serving(dev):
        r = asyncio.run(go())
    assert r.ok
    daily = next(x for x in r.readings if x.quantity == "e_fwd_daily")
    tz = timezone(timedelta(hours=8))
    midnight = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    assert daily.ts == midnight.timestamp()
    assert daily.value == pytest.approx(_expected(3, "e_fwd_daily", "2007"))


@pytest.mark.slow
def test_a_bus_with_1e_3_bit_errors_yields_only_correct_values_or_counted_failures(ptys):
    dev, cli = ptys
    bus, _ = simbus.make_bus(19200, faults=False, seed=7)
    for n in range(1, simbus.N_METERS + 1):
        bus.set_fault(simbus.address(n), Fault(kind="bit_errors", rate=1e-3))
    quantities = ["e_fwd", "u_a", "u_b", "u_c", "i_a"]
    with bus.serving(dev):
        results, client, link = asyncio.run(_read_all(cli, 19200, rounds=1, quantities=quantities, retries=1))
    n_values = n_failed = 0
    for n, _, _, r in results:
        proto = client.profile(simbus.address(n)).protocol or "2007"
        for reading in r.readings:
            assert reading.value == pytest.approx(_expected(n, reading.quantity, proto), abs=1e-6)
            n_values += 1
        n_failed += len(r.failures)
        assert len(r.readings) + len(r.failures) == len(quantities)
    print(f"\nBER 1e-3: {n_values} correct values, {n_failed} failures, "
          f"{link.stats.decode_errors} rejected frames")
    assert link.stats.decode_errors > 0     # errors were injected and caught
    assert n_values > 0.8 * len(results) * len(quantities) - n_failed


def test_broadcast_time_sync_goes_out_and_no_meter_answers(ptys):
    dev, cli = ptys
    bus, _ = simbus.make_bus(19200, faults=False)

    async def go():
        async with open_link(cli, baud=19200, parity="N") as link:
            c = Dlt645Client(link)
            await c.broadcast_time(datetime(2024, 5, 17, 13, 45, 30))
            r = await c.read(simbus.address(1), ["e_fwd"])  # the bus is usable right after
            return link, r
    with bus.serving(dev):
        link, r = asyncio.run(go())
    assert r.ok
    tx = [rec.data for rec in link.ring if rec.direction == "tx"]
    assert tx[0] == bytes.fromhex("FEFEFEFE68999999999999680806637846 4A38576E16".replace(" ", ""))
    assert bus.stats.silent >= 1 and link.stats.ok == 1


def test_a_bad_meter_address_is_refused_before_any_io():
    client = Dlt645Client(open_link("/dev/null"))  # never opened: nothing may touch it
    with pytest.raises(ValueError, match="12AB"):
        asyncio.run(client.read("12ab", ["e_fwd"]))


def test_a_silent_meter_gets_one_try_per_request_until_it_answers_again(ptys):
    """Retries are for noise: after a request that heard nothing in all its tries, the meter gets a single
    try per request (a dead meter must not cost ``retries + 1`` deadlines every time); once it answers,
    the full retries come back."""
    dev, cli = ptys
    bus, _ = simbus.make_bus(19200, faults=False)
    a = simbus.address(3)

    async def go():
        async with open_link(cli, baud=19200, parity="N", max_response_delay_s=0.3, margin_s=0.05) as link:
            c = Dlt645Client(link, protocol="2007", retries=2)

            async def requests_for(read):
                n0 = bus.stats.requests
                r = await read
                await asyncio.sleep(0.05)
                return r, bus.stats.requests - n0

            bus.set_fault(a, Fault(kind="no_answer"))
            first = await requests_for(c.read(a, ["e_fwd"]))
            second = await requests_for(c.read(a, ["e_fwd"]))
            third = await requests_for(c.read(a, ["u_a"]))
            bus.set_fault(a, None)
            back = await requests_for(c.read(a, ["e_fwd"]))
            bus.set_fault(a, Fault(kind="no_answer"))
            again = await requests_for(c.read(a, ["e_fwd"]))
            return first, second, third, back, again, c.profile(a)

    with bus.serving(dev):
        first, second, third, back, again, prof = asyncio.run(go())
    assert first[1] == 3 and "3 tries" in first[0].failures[0].reason
    assert all(f.silent for f in first[0].failures) and is_silent(first[0])   # silence is data, not wording
    assert second[1] == 1 and "1 try" in second[0].failures[0].reason
    assert third[1] == 1
    assert back[1] == 1 and back[0].ok
    assert again[1] == 3                       # heard again: retries are back
    assert prof.silent_requests == 1
