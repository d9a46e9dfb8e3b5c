"""Serve a simulated area on the wire: meter buses (DL/T 645) and the TTU (Modbus) with a shared clock.

``serve_area(cfg)`` is a context manager used by ``meterwatch simulate`` and, in-process, by the demo::

    with serve_area(cfg, speed=600, out_dir=tmp) as served:
        served.edge_config        # edge config file that polls this area (check-config clean)
        served.buses[0].port      # client side of the first meter bus (/dev/pts/N or tcp://...)
        served.ttu.port           # the TTU
        served.clock.now()        # simulated time every device reports at

One ``AreaSource`` feeds every device; it is asked at ``clock.now()``, so values follow the simulated
clock while bytes on the ptys still take their real wire time. Meter buses are pseudo-terminal pairs
made in-process (``PtyPair``: the bus serves one end, the daemon opens the other) or, with
``tcp=True``, loopback TCP ports (as behind a serial-to-Ethernet converter).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from detect.quantities import CT_SCALED
from edge.sim.area import AreaSource
from edge.sim.clock import SimClock
from edge.sim.config import SimConfig
from edge.sim.edge_config import BusEntry, edge_config_text, meters_csv_text, recorded_ct_ratios
from edge.sim.meterbus import MeterBus, SimMeter
from edge.sim.ptypair import PtyPair
from edge.sim.source import ValueSource
from edge.sim.ttu import SimulatedTtu

__all__ = ["SecondarySource", "ServedArea", "ServedBus", "ServedTtu", "serve_area"]

T = TypeVar("T")


class SecondarySource:
    """What a CT-connected meter shows: the area's primary values divided by the recorded CT ratio."""

    def __init__(self, inner: ValueSource, ct_ratio: dict[str, float]) -> None:
        self.inner = inner
        self.ct_ratio = {d: r for d, r in ct_ratio.items() if r != 1.0}

    def values(self, device: str, quantities: Sequence[str], now: float) -> dict[str, float]:
        got = self.inner.values(device, quantities, now)
        r = self.ct_ratio.get(device)
        if r is None:
            return got
        return {q: v / r if q in CT_SCALED else v for q, v in got.items()}


@dataclass(frozen=True, kw_only=True, eq=False)
class ServedBus:
    name: str
    port: str                        # what the daemon opens (client-side pty or tcp:// URL)
    meters: tuple[str, ...]          # meter ids on this bus
    addresses: tuple[str, ...]       # their 12-digit addresses, same order
    bus: MeterBus


@dataclass(frozen=True, kw_only=True, eq=False)
class ServedTtu:
    name: str
    port: str
    protocol: str                    # modbus-rtu | modbus-tcp
    device_id: int
    ttu: SimulatedTtu


@dataclass(frozen=True, kw_only=True, eq=False)
class ServedArea:
    cfg: SimConfig
    clock: SimClock
    source: AreaSource
    buses: tuple[ServedBus, ...]
    ttu: ServedTtu
    edge_config: Path                # written edge config (TOML)
    meters_csv: Path                 # the meter list it points to
    config_text: str                 # the same TOML, to print

    def requests(self) -> tuple[int, int]:
        """(meter-bus requests, TTU requests) served so far."""
        return sum(b.bus.stats.requests for b in self.buses), self.ttu.ttu.requests

    def status_line(self) -> str:
        """One line for the console: simulated time, speed and requests served."""
        sim = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.clock.now()))
        meters = sum(b.bus.stats.requests for b in self.buses)
        replies = sum(b.bus.stats.replies for b in self.buses)
        return (f"sim {sim} UTC (x{self.clock.speed:g})  meter requests {meters} ({replies} answered)  "
                f"ttu requests {self.ttu.ttu.requests}")


class _LoopThread:
    """An asyncio loop in a daemon thread, for the pymodbus server behind a synchronous context manager."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="sim ttu")
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


def _split(cfg: SimConfig, source: AreaSource) -> list[list[int]]:
    """Meter indices per bus: contiguous equal blocks (``even``) or whole feeders (``branch``)."""
    net, n_bus = source.sim.net, cfg.serve.buses
    if cfg.serve.split == "branch":
        groups: list[list[int]] = [[i for i in range(net.n) if int(net.branch[i]) % n_bus == k] for k in range(n_bus)]
    else:
        groups = [[i for i in range(net.n) if i * n_bus // net.n == k] for k in range(n_bus)]
    empty = [k + 1 for k, g in enumerate(groups) if not g]
    if empty:
        raise ValueError(f"serve: bus(es) {empty} would have no meters with split = {cfg.serve.split!r} "
                         f"({net.n} customers on {cfg.area.branches} branches); use fewer buses or split = \"even\"")
    return groups


def _quirks(cfg: SimConfig, n: int) -> dict[int, dict[str, Any]]:
    """Deterministic choice of quirky meters: no FE preamble, no block reads, replies in follow-ups."""
    kinds: tuple[dict[str, Any], ...] = ({"preamble_fe": 0}, {"block_reads": False}, {"followup_chunk": 8})
    chosen = random.Random(cfg.seed).sample(range(n), round(cfg.serve.quirks_share * n))
    return {i: kinds[k % len(kinds)] for k, i in enumerate(sorted(chosen))}


def _profile_name(name: str) -> str:
    looks_like_path = "/" in name or name.endswith(".toml")
    return str(Path(name).resolve()) if looks_like_path else name


@contextlib.contextmanager
def serve_area(cfg: SimConfig, *, speed: float = 1.0, tcp: bool = False, out_dir: str | Path | None = None,
               mqtt_url: str = "mqtt://127.0.0.1:1883", clock: SimClock | None = None) -> Iterator[ServedArea]:
    """Serve ``cfg``'s area until the block ends; write the edge config (``edge.toml``) into ``out_dir``.

    ``clock`` may be shared with the daemon (demo); by default a ``SimClock`` starting at ``cfg.start``
    running ``speed`` times the wall clock. ``out_dir`` defaults to a fresh temporary directory.
    """
    from edge.modbus.profile import load_profile

    serve = cfg.serve
    profile = load_profile(serve.ttu_profile)            # ConfigError names the file before any I/O
    clock = clock or SimClock(start=cfg.start, speed=speed)
    source = AreaSource(cfg)
    net = source.sim.net
    groups = _split(cfg, source)
    quirks = _quirks(cfg, net.n)
    recorded = recorded_ct_ratios(cfg, net)
    secondary = serve.meter_values == "secondary"
    meter_src: ValueSource = SecondarySource(source, {mid: float(recorded[i]) for i, mid in enumerate(net.ids)}) \
        if secondary else source
    addresses = [f"{i + 1:012d}" for i in range(net.n)]
    source.prepare(clock.now())                          # simulate the first day before any request waits on it
    out = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="meterwatch-sim-"))
    out.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        stack.enter_context(_prefetching(source, clock))
        served_buses: list[ServedBus] = []
        bus_of = [""] * net.n
        for k, group in enumerate(groups):
            name = f"rs485-{k + 1}"
            meters = [SimMeter(address=addresses[i], device=net.ids[i], response_delay_s=serve.response_delay_s,
                               **quirks.get(i, {})) for i in group]
            bus = MeterBus(meters, meter_src, baud=serve.baud, seed=cfg.seed + k, clock=clock.now)
            if tcp:
                stack.enter_context(bus.serving("tcp://127.0.0.1:0"))
                port = str(bus.url)
            else:
                device_side, port = stack.enter_context(PtyPair())
                stack.enter_context(bus.serving(device_side))
            for i in group:
                bus_of[i] = name
            served_buses.append(ServedBus(name=name, port=port, meters=tuple(net.ids[i] for i in group),
                                          addresses=tuple(addresses[i] for i in group), bus=bus))
        ttu_served = _start_ttu(cfg, profile, source, clock, tcp, stack)
        csv_path = out / "meters.csv"
        csv_path.write_text(meters_csv_text(net, bus_of=bus_of, addresses=addresses,
                                            ct_ratio=[float(r) if secondary else 1.0 for r in recorded]),
                            encoding="utf-8")
        text = edge_config_text(
            _with_profile(cfg, _profile_name(serve.ttu_profile)),   # a profile path made absolute
            buses=[BusEntry(name=b.name, port=b.port, protocol="dlt645", baud=serve.baud,
                            response_delay_s=serve.response_delay_s) for b in served_buses],
            ttu=BusEntry(name=ttu_served.name, port=ttu_served.port, protocol=ttu_served.protocol,
                         baud=serve.ttu_baud),
            meters_csv=csv_path.resolve(), mqtt_url=mqtt_url, state_dir=(out / "state").resolve(),
            speed=clock.speed)
        edge_path = out / "edge.toml"
        edge_path.write_text(text, encoding="utf-8")
        yield ServedArea(cfg=cfg, clock=clock, source=source, buses=tuple(served_buses), ttu=ttu_served,
                         edge_config=edge_path, meters_csv=csv_path, config_text=text)


@contextlib.contextmanager
def _prefetching(source: AreaSource, clock: SimClock, period_s: float = 0.25,
                 ahead_wall_s: float = 2.0) -> Iterator[None]:
    """Simulate the next day a little before the clock reaches it, so no request waits for a whole day's
    power flow (0.3-0.6 s for 200 meters) at midnight; at most one day ahead, as the source keeps two."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(period_s):
            now = clock.now()
            next_midnight = now - (now - source.sim.cfg.start) % 86400 + 86400
            with contextlib.suppress(LookupError, ValueError):
                source.prepare(min(now + clock.speed * ahead_wall_s, next_midnight))

    t = threading.Thread(target=run, daemon=True, name="sim prefetch")
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join(10)


def _with_profile(cfg: SimConfig, profile: str) -> SimConfig:
    import dataclasses

    return dataclasses.replace(cfg, serve=dataclasses.replace(cfg.serve, ttu_profile=profile))


def _start_ttu(cfg: SimConfig, profile: Any, source: AreaSource, clock: SimClock, tcp: bool,
               stack: contextlib.ExitStack) -> ServedTtu:
    """The TTU: Modbus RTU on a pty (RTU over TCP with ``tcp``) or Modbus TCP on loopback."""
    serve = cfg.serve
    rtu = serve.ttu_transport == "rtu"
    common: dict[str, Any] = {"devices": {serve.ttu_device_id: "master"}, "ct_ratio": serve.ttu_ct_ratio,
                              "baud": serve.ttu_baud, "clock": clock.now}
    if rtu and serve.ttu_wire == "emulate":
        common["wire_baud"] = serve.ttu_baud     # a pty or socket has no baud rate: replies wait their wire time
    if rtu and not tcp:
        device_side, port = stack.enter_context(PtyPair())
        ttu = SimulatedTtu(profile, source, transport="serial", port=device_side, **common)
    else:
        ttu = SimulatedTtu(profile, source, transport="tcp", framer="rtu" if rtu else None, **common)
    loop = _LoopThread()
    stack.callback(loop.close)
    loop.run(ttu.__aenter__())
    stack.callback(lambda: loop.run(ttu.__aexit__(None, None, None)))
    if not (rtu and not tcp):
        port = f"tcp://{ttu.host}:{ttu.tcp_port}"
    return ServedTtu(name="ttu", port=port, protocol="modbus-rtu" if rtu else "modbus-tcp",
                     device_id=serve.ttu_device_id, ttu=ttu)
