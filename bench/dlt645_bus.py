"""DL/T 645 bus throughput: back-to-back client reads on one simulated bus vs the wire limit.

One simulated bus on a real pseudo-terminal (socat) at 2400 baud, meters answering after 100 ms.
The client reads forward active energy (00010000) round-robin from 8 meters for a fixed time; the
wire limit is the same read computed from frame sizes, baud rate, response delay and the 20 ms gap
(edge.wiretime). Also the streaming decoder's throughput in frames/s against the frames/s a 2400-baud
wire can carry, and a realistic poll (energy, U, I, P, PF, SW7 with block reads: 6 reads per meter)
in meters/min against its wire limit (the reference estimates 19-31 meters/min per 2400-baud bus).
Prints `name: value` lines; medians over --runs runs.

    .venv/bin/python bench/dlt645_bus.py [--seconds 10] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.dlt645 import codec
from edge.dlt645.client import Dlt645Client
from edge.dlt645.codec import Decoder, Frame
from edge.dlt645.link import open_link
from edge.sim.meterbus import MeterBus, SimMeter
from edge.sim.sources import StaticSource
from edge.wiretime import byte_time_s, dlt645_frame_bytes, dlt645_read_time_s
from tests.support.pty import pty_pair

BAUD = 2400
DELAY_S = 0.1
GAP_S = 0.02
N_METERS = 8


POLL = ["e_fwd", "u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "p", "pf", "sw7"]
# the reads that POLL costs with blocks: (reply data bytes) for e_fwd, U block, I block, p, pf, sw7
POLL_REPLY_DATA = [4 + 4, 4 + 6, 4 + 9, 4 + 3, 4 + 2, 4 + 2]


async def _reads(port: str, seconds: float, quantities: list[str]) -> tuple[int, int, int, float]:
    async with open_link(port, baud=BAUD, parity="N", gap_s=GAP_S) as link:
        client = Dlt645Client(link, protocol="2007")
        ok = failed = 0
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < seconds:
            r = await client.read(f"{n % N_METERS + 1:012d}", quantities)
            ok += len(r.readings)
            failed += len(r.failures)
            n += 1
        return n, ok, failed, time.monotonic() - t0


def bus_run(seconds: float, quantities: list[str] | None = None) -> tuple[float, int]:
    """(device reads per minute, failed quantities) of back-to-back reads of ``quantities``."""
    meters = [SimMeter(address=f"{n:012d}", response_delay_s=DELAY_S) for n in range(1, N_METERS + 1)]
    bus = MeterBus(meters, StaticSource(), baud=BAUD)
    with tempfile.TemporaryDirectory() as tmp, pty_pair(Path(tmp)) as (dev, cli), bus.serving(dev):
        n, _, failed, elapsed = asyncio.run(_reads(cli, seconds, quantities or ["e_fwd"]))
    return n / elapsed * 60.0, failed


def decoder_run(n_frames: int = 200_000) -> float:
    frames = [codec.encode_frame(f"{k % 1000:012d}", 0x91, codec.di_bytes("00010000") + bytes([k % 100, 0x45, 0x23, 1]))
              for k in range(1000)]
    stream = b"".join(frames[k % 1000] for k in range(n_frames))
    dec = Decoder()
    t0 = time.perf_counter()
    got = 0
    for k in range(0, len(stream), 65536):
        got += sum(1 for f in dec.feed(stream[k:k + 65536]) if isinstance(f, Frame))
    elapsed = time.perf_counter() - t0
    assert got == n_frames, got
    return n_frames / elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    limit_s = dlt645_read_time_s(BAUD, 4, 8, response_delay_s=DELAY_S, gap_s=GAP_S)
    limit_per_min = 60.0 / limit_s
    rates, polls, failures = [], [], 0
    for _ in range(args.runs):
        rate, failed = bus_run(args.seconds)
        rates.append(rate)
        failures += failed
        rate, failed = bus_run(args.seconds, POLL)
        polls.append(rate)
        failures += failed
    poll_limit_s = sum(dlt645_read_time_s(BAUD, 4, n, response_delay_s=DELAY_S, gap_s=GAP_S)
                       for n in POLL_REPLY_DATA)
    dec = [decoder_run() for _ in range(args.runs)]
    achieved = statistics.median(rates)
    wire_frames_s = 1.0 / (dlt645_frame_bytes(8) * byte_time_s(BAUD))
    print(f"baud: {BAUD}")
    print(f"response_delay_s: {DELAY_S}")
    print(f"wire_limit_reads_per_min: {limit_per_min:.1f}")
    print(f"reads_per_min: {achieved:.1f}")
    print(f"reads_per_min_runs: {' '.join(f'{r:.1f}' for r in rates)}")
    print(f"failed_quantities: {failures}")
    print(f"efficiency: {achieved / limit_per_min:.3f}")
    print(f"poll_wire_limit_meters_per_min: {60.0 / poll_limit_s:.1f}")
    print(f"poll_meters_per_min: {statistics.median(polls):.1f}")
    print(f"poll_efficiency: {statistics.median(polls) * poll_limit_s / 60.0:.3f}")
    print(f"decoder_frames_per_s: {statistics.median(dec):.0f}")
    print(f"wire_frames_per_s_at_{BAUD}: {wire_frames_s:.1f}")
    print(f"decoder_vs_wire: {statistics.median(dec) / wire_frames_s:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
