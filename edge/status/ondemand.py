"""``meterwatch read`` through the daemon: a technician's read on a port the daemon owns.

The command finds the port's lock held by the daemon (``edge.portlock``: the holder's record names its
control socket) and, instead of refusing, sends a ``ReadRequest`` as ``POST /api/read`` on that socket.
The daemon (``OnDemand``) finds the bus polling that port and hands the read to its scheduler, which
slots it in between two of its own transactions (``edge.scheduler.slots``): it waits at most for the
transaction on the wire, and no two masters ever talk at once. The answer is the very document the
command prints when it reads the port itself (DL/T 645: ``edge.dlt645.cli.read_doc``; Modbus:
``edge.modbus.cli.read_doc``), with where and how long it waited.

The bus's own settings (baud, parity, reply deadlines, the meter's learned protocol edition) are the
daemon's; a different ``--baud`` on the command line is reported, not applied. Reads through the daemon
do not count in its read success or its devices' back-off.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge import portlock
from edge.daemon.buses import Bus
from edge.timeouts import within

__all__ = ["DLT645_PROTOCOLS", "OnDemand", "ReadRefused", "ReadRequest", "request_from"]

DLT645_PROTOCOLS = ("2007", "1997", "auto")
MODBUS_PROTOCOLS = ("modbus-rtu", "modbus-tcp")
WAIT_S = 30.0                    # longest wait for a turn on the bus plus the read itself


@dataclass(frozen=True, kw_only=True)
class ReadRequest:
    port: str
    protocol: str                       # 2007 | 1997 | auto | modbus-rtu | modbus-tcp
    address: str = ""                   # DL/T 645
    items: tuple[str, ...] = ()
    profile: str = ""                   # Modbus
    device_id: int = 1
    ct_ratio: float = 1.0
    pt_ratio: float = 1.0
    baud: int | None = None             # what the technician asked for: reported when the bus differs

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "items": list(self.items)}

    @classmethod
    def from_json(cls, doc: Any) -> ReadRequest:
        """``ValueError`` naming the field when ``doc`` is not a read request."""
        if not isinstance(doc, dict):
            raise ValueError("a read request is a JSON object")
        kinds: dict[str, tuple[type, ...]] = {"port": (str,), "protocol": (str,), "address": (str,),
                                              "items": (list,), "profile": (str,), "device_id": (int,),
                                              "ct_ratio": (int, float), "pt_ratio": (int, float),
                                              "baud": (int, type(None))}
        unknown = set(doc) - set(kinds)
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
        for key in ("port", "protocol"):
            if key not in doc:
                raise ValueError(f"{key!r} is required")
        for key, value in doc.items():
            if not isinstance(value, kinds[key]) or isinstance(value, bool):
                raise ValueError(f"{key!r} must be {' or '.join(t.__name__ for t in kinds[key])}")
        if not all(isinstance(i, str) for i in doc.get("items", [])):
            raise ValueError("'items' must be a list of strings")
        if doc["protocol"] not in (*DLT645_PROTOCOLS, *MODBUS_PROTOCOLS):
            raise ValueError(f"protocol {doc['protocol']!r} is not one of {', '.join((*DLT645_PROTOCOLS, *MODBUS_PROTOCOLS))}")
        return cls(**{**doc, "items": tuple(doc.get("items", []))})


class ReadRefused(Exception):
    """The daemon cannot do this read: ``status`` is the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class OnDemand:
    """Reads through the daemon, on the buses it polls."""

    def __init__(self, buses: Sequence[Bus], *, base_dir: Path = Path("."), wait_s: float = WAIT_S) -> None:
        self._by_port = {portlock.port_key(b.cfg.port): b for b in buses}
        self._base_dir = base_dir           # configured profile paths are relative to the configuration
        self._wait_s = wait_s

    async def read(self, req: ReadRequest) -> dict[str, Any]:
        """The read's document with ``via`` (bus, waited, took); ``ReadRefused`` when it cannot be done."""
        bus = self._by_port.get(portlock.port_key(req.port))
        if bus is None:
            raise ReadRefused(404, f"the daemon does not poll {req.port} (its ports: "
                                   f"{', '.join(b.cfg.port for b in self._by_port.values()) or 'none'})")
        run = self._reader(bus, req)
        if not bus.supervisor.online:
            raise ReadRefused(503, f"port unavailable: bus {bus.cfg.name} ({bus.cfg.port}): "
                                   f"{bus.supervisor.error or 'not open yet'}; the daemon keeps trying to reopen it")
        submitted = time.monotonic()
        started: list[float] = []

        async def timed() -> dict[str, Any]:
            started.append(time.monotonic())
            return await run()

        fut = bus.scheduler.slots.submit(timed, timeout_s=self._wait_s)
        try:
            doc = await within(asyncio.shield(fut), self._wait_s)
        except (asyncio.TimeoutError, TimeoutError):
            fut.cancel()
            raise ReadRefused(504, f"bus {bus.cfg.name}: no turn on the wire within {self._wait_s:g} s") from None
        except asyncio.CancelledError:
            fut.cancel()        # the caller went away: the request is dropped if it has not started
            raise
        except Exception as exc:
            raise ReadRefused(502, f"bus {bus.cfg.name}: read failed: {exc}") from exc
        done = time.monotonic()
        waited = (started[0] if started else done) - submitted
        via = {"bus": bus.cfg.name, "port": bus.cfg.port, "baud": bus.cfg.baud, "parity": bus.cfg.parity,
               "waited_s": round(waited, 3), "took_s": round(done - submitted - waited, 3)}
        if req.baud is not None and req.baud != bus.cfg.baud:
            via["note"] = f"--baud {req.baud} not used: the daemon reads bus {bus.cfg.name} at {bus.cfg.baud} baud"
        return {**doc, "via": via}

    def _reader(self, bus: Bus, req: ReadRequest) -> Callable[[], Awaitable[dict[str, Any]]]:
        port: Any = bus.port
        if bus.cfg.protocol == "dlt645":
            if req.protocol not in DLT645_PROTOCOLS:
                raise ReadRefused(400, f"bus {bus.cfg.name} on {bus.cfg.port} speaks DL/T 645, not {req.protocol}")
            if not req.address.isdigit() or len(req.address) > 12:
                raise ReadRefused(400, "--address needs the meter address, up to 12 digits")
            from edge.dlt645.cli import read_doc as dlt645_doc

            return lambda: dlt645_doc(port.client, req.address, req.items, protocol=req.protocol)
        if req.protocol != bus.cfg.protocol:
            raise ReadRefused(400, f"bus {bus.cfg.name} on {bus.cfg.port} speaks {bus.cfg.protocol}, not {req.protocol}")
        from edge.errors import ConfigError
        from edge.modbus.cli import read_doc as modbus_doc
        from edge.modbus.profile import load_profile

        try:
            profile = load_profile(req.profile or _profile_on(bus, req.device_id, self._base_dir))
        except (ConfigError, ValueError) as exc:
            raise ReadRefused(400, f"bad profile: {exc}") from None
        return lambda: modbus_doc(port.link, profile, req.device_id, req.items, ct_ratio=req.ct_ratio,
                                  pt_ratio=req.pt_ratio)


def _profile_on(bus: Bus, device_id: int, base_dir: Path) -> str:
    """The configured profile of the device with ``device_id`` on ``bus`` (when --profile is not given)."""
    for d in bus.devices:
        prof = str(getattr(d.entry, "profile", "") or "")
        if getattr(d.entry, "device_id", None) == device_id and prof:
            relative = ("/" in prof or prof.endswith(".toml")) and not Path(prof).is_absolute()
            return str(base_dir / prof) if relative else prof
    raise ValueError(f"--profile is required: no device with id {device_id} is configured on bus {bus.cfg.name}")


def request_from(args: Mapping[str, Any]) -> ReadRequest:
    """The request of ``meterwatch read``'s arguments."""
    return ReadRequest(port=args["port"], protocol=args["protocol"], address=args.get("address") or "",
                       items=tuple(args.get("items") or ()), profile=args.get("profile") or "",
                       device_id=int(args.get("device_id") or 1), ct_ratio=float(args.get("ct_ratio") or 1.0),
                       pt_ratio=float(args.get("pt_ratio") or 1.0), baud=args.get("baud"))
