"""Links: deadlines from the wire, idle gap, one exchange at a time, quiet partial frames, ring, counters."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

from edge.dlt645 import codec
from edge.dlt645.link import SerialLink, TcpLink, open_link
from edge.errors import PortError, TransportError
from edge.sim.meterbus import Fault, MeterBus, SimMeter
from edge.sim.sources import StaticSource
from edge.wiretime import byte_time_s
from tests.support.blackhole import Blackhole
from tests.support.procs import free_port
from tests.support.pty import PtyPair

# deadlines, gaps and idle CPU measured to tens of milliseconds on real ptys and sockets
pytestmark = pytest.mark.serial

A1, A2 = "000000000001", "000000000002"


def _bus(baud: int = 9600) -> MeterBus:
    return MeterBus([SimMeter(address=A1, response_delay_s=0.03), SimMeter(address=A2, response_delay_s=0.03)],
                    StaticSource(per_device={A1: {"e_fwd": 1.5}, A2: {"e_fwd": 2.5}}), baud=baud)


def test_deadline_comes_from_baud_reply_length_and_response_delay():
    link = open_link("/dev/null", baud=2400, max_response_delay_s=0.5, margin_s=0.1)
    bt = byte_time_s(2400)
    assert isinstance(link, SerialLink)
    assert link.deadline_s(20, 8) == pytest.approx(20 * bt + 0.5 + (4 + 12 + 8) * bt + 0.1)
    assert link.deadline_s(20, 8, response_delay_s=0.1) < link.deadline_s(20, 8)


def test_tcp_link_exchanges_with_a_converter_keeping_gap_and_one_exchange_at_a_time():
    bus = _bus()

    async def go(url: str):
        async with open_link(url, baud=9600, gap_s=0.1) as link:
            assert isinstance(link, TcpLink)
            t0 = time.monotonic()
            a, b = await asyncio.gather(
                link.exchange(codec.encode_read(A1, "00010000"), reply_data_len=8,
                              accept=lambda f: f.address == A1),
                link.exchange(codec.encode_read(A2, "00010000"), reply_data_len=8,
                              accept=lambda f: f.address == A2))
            return a, b, time.monotonic() - t0, link
    with bus.serving("tcp://127.0.0.1:0"):
        a, b, elapsed, link = asyncio.run(go(bus.url))
    assert a.frame.data[4:] == bytes.fromhex("50010000") and b.frame.data[4:] == bytes.fromhex("50020000")
    assert elapsed >= a.elapsed_s + b.elapsed_s + 0.1  # serialised, with the idle gap between them
    txs = [r for r in link.ring if r.direction == "tx"]
    rxs = [r for r in link.ring if r.direction == "rx"]
    assert len(txs) == 2 and len(rxs) == 2 and txs[1].ts - rxs[0].ts >= 0.09
    assert link.stats.ok == 2 and link.stats.bytes_tx == 40 and link.stats.busy_s > 0


def test_a_partial_frame_that_goes_quiet_is_dropped_and_counted(ptys):
    dev, cli = ptys
    bus = _bus()
    bus.set_fault(A1, Fault(kind="truncate"))

    async def go():
        async with open_link(cli, baud=9600, parity="N", quiet_s=0.2) as link:
            ex = await link.exchange(codec.encode_read(A1, "00010000"), reply_data_len=8)
            ok = await link.exchange(codec.encode_read(A2, "00010000"), reply_data_len=8)
            return ex, ok, link
    with bus.serving(dev):
        ex, ok, link = asyncio.run(go())
    assert ex.frame is None and [e.kind for e in ex.errors] == ["truncated"] and ex.heard
    assert ex.elapsed_s < ex.deadline_s + 0.05
    assert ok.frame is not None and ok.frame.address == A2
    assert link.stats.decode_errors == 1 and link.stats.failed == 1 and link.stats.ok == 1
    assert any(r.direction == "rx" and len(r.data) < 24 for r in link.ring)


def test_silence_ends_at_the_deadline_and_counts_a_timeout(ptys):
    dev, cli = ptys

    async def go():
        async with open_link(cli, baud=9600, parity="N", max_response_delay_s=0.1, ring_size=3) as link:
            exs = [await link.exchange(codec.encode_read("000000000099", "00010000"), reply_data_len=8)
                   for _ in range(3)]
            return exs, link
    with _bus().serving(dev):
        exs, link = asyncio.run(go())
    for ex in exs:
        assert ex.frame is None and not ex.heard
        assert ex.deadline_s <= ex.elapsed_s < ex.deadline_s + 0.1
    assert link.stats.timeouts == 3 and len(link.ring) == 3  # the ring keeps only the last frames


def test_opening_a_missing_port_names_it():
    async def go():
        async with open_link("/dev/does-not-exist", baud=2400):
            pass
    with pytest.raises(TransportError, match="does-not-exist"):
        asyncio.run(go())
    with pytest.raises(TransportError, match="tcp://host:port"):
        open_link("tcp://nohost")


def test_a_converter_that_hangs_up_is_a_transport_error_naming_the_link():
    async def go(port: int):
        async with open_link(f"tcp://127.0.0.1:{port}", baud=9600, max_response_delay_s=0.05) as link:
            await asyncio.sleep(0.1)  # the peer has closed by now
            await link.exchange(codec.encode_read(A1, "00010000"), reply_data_len=8)
    with socket.create_server(("127.0.0.1", 0)) as srv:
        port = srv.getsockname()[1]

        def hang_up():
            conn, _ = srv.accept()
            conn.close()
        t = threading.Thread(target=hang_up)
        t.start()
        with pytest.raises(TransportError, match=f"tcp://127.0.0.1:{port}"):
            asyncio.run(go(port))
        t.join(5)


def test_an_adapter_echoing_the_request_does_not_cut_the_wait_for_the_reply(ptys):
    dev, cli = ptys
    bus = MeterBus([SimMeter(address=A1, response_delay_s=0.25)], StaticSource(), baud=9600, echo=True)

    async def go():
        async with open_link(cli, baud=9600, parity="N", quiet_s=0.1, max_response_delay_s=0.4) as link:
            return await link.exchange(codec.encode_read(A1, "00010000"), reply_data_len=8)
    with bus.serving(dev):
        ex = asyncio.run(go())
    assert ex.frame is not None and ex.frame.address == A1  # arrived 0.25 s after the echo went quiet
    assert len(ex.ignored) == 1 and not ex.ignored[0].is_reply


def _read_a1(link) -> bytes:  # type: ignore[no-untyped-def]
    async def go() -> bytes:
        ex = await link.exchange(codec.encode_read(A1, "00010000"), reply_data_len=8,
                                 accept=lambda f: f.address == A1)
        assert ex.frame is not None
        return bytes(ex.frame.data[4:])
    return go()  # type: ignore[return-value]


def test_a_hung_up_pty_fails_the_link_without_spinning_and_the_same_link_reopens_on_the_new_pty(tmp_path):
    """USB adapter unplugged and re-enumerated behind the same path: end of file is a PortError (not
    a busy loop on the readable descriptor) and open() on the same link object works again."""
    pair = PtyPair(tmp_path).start()
    bus = _bus()

    async def go() -> tuple[float, str]:
        link = SerialLink(pair.client, baud=9600, parity="N", max_response_delay_s=0.1)
        await link.open()
        with bus.serving(pair.device):
            assert await _read_a1(link) == bytes.fromhex("50010000")
            pair.hang_up()
        await asyncio.sleep(0.2)
        assert link.failed is not None
        cpu0 = time.process_time()
        await asyncio.sleep(1.0)            # the loop idles: nothing may poll the dead descriptor
        cpu = time.process_time() - cpu0
        with pytest.raises(PortError, match=r"hang-up|Input/output"):
            await _read_a1(link)
        with pytest.raises(PortError, match="no such device"):
            await link.open()                 # the path is gone while the adapter re-enumerates
        pair.start()
        with bus.serving(pair.device):
            await link.open()
            assert link.failed is None
            got = await _read_a1(link)
        await link.close()
        return cpu, got.hex()
    try:
        cpu, got = asyncio.run(go())
    finally:
        pair.hang_up()
    assert cpu < 0.1, f"{cpu:.2f} s of CPU in 1 s after the hang-up: the link spins"
    assert got == "50010000"


def test_a_converter_restart_fails_the_link_and_the_same_link_reconnects_to_the_same_port():
    port = free_port()
    bus = _bus()

    async def go() -> str:
        link = TcpLink("127.0.0.1", port, baud=9600, max_response_delay_s=0.1)
        with bus.serving(f"tcp://127.0.0.1:{port}"):
            await link.open()
            assert await _read_a1(link) == bytes.fromhex("50010000")
        await asyncio.sleep(0.2)              # the converter closed the connection on its way down
        assert isinstance(link.failed, ConnectionError)
        with pytest.raises(PortError, match=f"tcp://127.0.0.1:{port}: port failed: connection closed"):
            await _read_a1(link)
        with pytest.raises(PortError, match="cannot connect"):
            await link.open()
        with bus.serving(f"tcp://127.0.0.1:{port}"):
            await link.open()
            got = await _read_a1(link)
        await link.close()
        return got.hex()
    assert asyncio.run(go()) == "50010000"


def test_a_converter_that_loses_power_fails_the_link_within_its_user_timeout_and_the_link_reconnects():
    """Power lost at the converter: its stack is gone, packets to and from it vanish (``Blackhole``:
    nftables, no FIN, no RST, no ACK). The exchanges go unanswered (counted, not a port error) until the
    unacknowledged requests reach ``TCP_USER_TIMEOUT`` (20 s) and the connection fails; a reopen while it is
    dark fails at the connect timeout (10 s); once it is back — a fresh stack that knows nothing of the old
    connection — the same link reconnects and reads."""
    port = free_port()
    bus = _bus()
    hole = Blackhole(port)

    async def go() -> tuple[float, int, str]:
        link = TcpLink("127.0.0.1", port, baud=9600, max_response_delay_s=0.1)
        with bus.serving(f"tcp://127.0.0.1:{port}"):
            await link.open()
            assert await _read_a1(link) == bytes.fromhex("50010000")
            hole.drop()                      # the power goes: the converter's close below never arrives
        t0, unanswered = time.monotonic(), 0
        while link.failed is None and time.monotonic() - t0 < 45:
            ex = await link.exchange(codec.encode_read(A1, "00010000"), reply_data_len=8)
            assert ex.frame is None and not ex.heard
            unanswered += 1
            await asyncio.sleep(1.0)         # the scheduler's pace for a silent meter is slower still
        failed_s = time.monotonic() - t0
        assert isinstance(link.failed, OSError) and "timed out" in str(link.failed), link.failed
        with pytest.raises(PortError, match=f"tcp://127.0.0.1:{port}: port failed"):
            await _read_a1(link)
        with pytest.raises(PortError, match="cannot connect: timed out after 10 s"):
            await link.open()
        with bus.serving(f"tcp://127.0.0.1:{port}"):
            hole.lift()                      # the power is back
            await link.open()
            got = await _read_a1(link)
        await link.close()
        return failed_s, unanswered, got.hex()

    try:
        failed_s, unanswered, got = asyncio.run(go())
    finally:
        hole.lift()
    print(f"converter power loss: connection failed after {failed_s:.1f} s, {unanswered} exchanges unanswered")
    assert 15.0 <= failed_s <= 30.0, f"failed after {failed_s:.1f} s (TCP_USER_TIMEOUT 20 s)"
    assert unanswered >= 10 and got == "50010000"


def test_a_second_program_cannot_open_a_serial_port_the_link_holds(ptys):
    _dev, cli = ptys

    async def go() -> None:
        async with SerialLink(cli, baud=9600, parity="N"):
            with pytest.raises(PortError, match="in use by another program"):
                await SerialLink(cli, baud=9600, parity="N").open()
    asyncio.run(go())


def test_a_parity_the_port_cannot_do_is_a_port_error_not_a_termios_traceback(ptys):
    _dev, cli = ptys

    async def go() -> None:
        # A pty takes the first open's settings silently (no parity) and rejects parity with EINVAL after.
        async with SerialLink(cli, baud=2400, parity="N"):
            pass
        await SerialLink(cli, baud=2400, parity="E").open()
    with pytest.raises(PortError, match=r"cannot open at 2400 baud, 8E1: .*does not support this baud rate or parity"):
        asyncio.run(go())
