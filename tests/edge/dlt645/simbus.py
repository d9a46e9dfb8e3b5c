"""A 32-meter simulated bus shared by the client, scan and CLI tests: quirks, faults, known values."""

from __future__ import annotations

from edge.sim.meterbus import Fault, MeterBus, SimMeter
from edge.sim.sources import StaticSource

N_METERS = 32
NO_FE = {"000000000005", "000000000006"}
NO_BLOCKS = {"000000000007", "000000000008"}
PROTO_1997 = {"000000000009", "000000000010"}
FOLLOWUP = {"000000000011"}
SLOW = {"000000000012"}             # answers after 250 ms instead of 20..50 ms
FAULTS = {
    "000000000020": Fault(kind="no_answer"),
    "000000000021": Fault(kind="bit_errors", rate=0.003),
    "000000000022": Fault(kind="truncate"),
    "000000000023": Fault(kind="garbage"),
    "000000000024": Fault(kind="late", late_s=0.6),
}


def address(n: int) -> str:
    return f"{n:012d}"


def values(n: int) -> dict[str, float]:
    """Distinct, exactly representable values per meter (negative current to exercise the sign)."""
    return {"e_fwd": 1000 + n * 11.11, "u_a": 215 + n * 0.3, "u_b": 216 + n * 0.2, "u_c": 217 + n * 0.1,
            "i_a": -0.125 * n, "sw7": float(n), "evt_cover_open": float(n % 3), "e_fwd_daily": 990 + n * 11.11}


def make_bus(baud: int = 9600, *, faults: bool = True, slow: bool = True,
             seed: int = 1) -> tuple[MeterBus, StaticSource]:
    """The bus; ``slow=False`` gives the slow meter a normal delay (a scan waits for the slowest meter)."""
    source = StaticSource(per_device={address(n): values(n) for n in range(1, N_METERS + 1)})
    meters = []
    for n in range(1, N_METERS + 1):
        a = address(n)
        meters.append(SimMeter(
            address=a,
            protocol="1997" if a in PROTO_1997 else "2007",
            preamble_fe=0 if a in NO_FE else 4,
            block_reads=a not in NO_BLOCKS,
            followup_chunk=4 if a in FOLLOWUP else None,
            response_delay_s=0.25 if a in SLOW and slow else 0.02 + 0.005 * (n % 3),
        ))
    bus = MeterBus(meters, source, baud=baud, seed=seed)
    if faults:
        for a, f in FAULTS.items():
            bus.set_fault(a, f)
    return bus, source
