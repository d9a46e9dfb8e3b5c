"""``meterwatch read --protocol modbus-tcp|modbus-rtu --profile P --device-id N``: read one device once.

Exit status: 0 all quantities read, 1 some failed, 2 bad arguments or profile, 3 port could not be opened.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from detect.quantities import UNITS
from edge.errors import ConfigError, TransportError
from edge.modbus.link import LinkKind, LinkSettings, parse_port
from edge.modbus.profile import Profile, load_profile
from edge.readings import DeviceRead
from edge.valuefmt import FLOAT_DIGITS, Resolution, at_resolution, shown

__all__ = ["link_settings", "point_resolution", "print_doc", "read_doc", "result_doc", "run_read"]


def link_settings(args: argparse.Namespace) -> LinkSettings:
    """Link settings from the ``read`` arguments: tcp://host:port selects TCP, anything else a serial port."""
    host, tcp_port = parse_port(args.port)
    kind: LinkKind
    if args.protocol == "modbus-tcp":
        if tcp_port is None:
            raise ValueError(f"--protocol modbus-tcp needs --port tcp://host:port, got {args.port!r}")
        kind = "tcp"
    else:
        kind = "rtu" if tcp_port is None else "rtu-tcp"   # modbus-rtu on tcp:// = RTU over a TCP converter
    timeout = args.timeout if args.timeout is not None else 1.0
    return LinkSettings(kind=kind, port=host, tcp_port=tcp_port or 502, baud=args.baud or 9600,
                        parity=args.parity, timeout_s=timeout, retries=1)


def point_resolution(profile: Profile, quantity: str, ct_ratio: float, pt_ratio: float) -> Resolution | None:
    """A float register's significant digits, or an integer register's step (scale × CT/PT ratios)."""
    try:
        point = profile.point(quantity)
    except KeyError:
        return None
    base = point.rtype.split("[", 1)[0]
    if base in FLOAT_DIGITS:
        return Resolution(significant=FLOAT_DIGITS[base])
    return Resolution.of_step(point.factor(ct_ratio, pt_ratio))


def result_doc(result: DeviceRead, profile: Profile, ct_ratio: float = 1.0, pt_ratio: float = 1.0) -> dict[str, Any]:
    """``meterwatch read``'s JSON document of one Modbus read: values at their register's resolution."""
    readings = []
    for r in result.readings:
        res = point_resolution(profile, r.quantity, ct_ratio, pt_ratio)
        readings.append({"quantity": r.quantity, "value": at_resolution(r.value, res), "text": shown(r.value, res),
                         "unit": UNITS.get(r.quantity, ""), "ts": r.ts})
    return {"readings": readings,
            "failures": [{"quantity": f.quantity, "reason": f.reason, "ts": f.ts} for f in result.failures]}


async def read_doc(link: Any, profile: Profile, device_id: int, items: Sequence[str], *, ct_ratio: float = 1.0,
                   pt_ratio: float = 1.0) -> dict[str, Any]:
    """Read ``items`` (empty: every quantity of the profile) from one device over an open ``link`` (a local
    one, or the daemon's own)."""
    from edge.modbus.device import ModbusDevice

    dev = ModbusDevice(link, profile, device_id, ct_ratio=ct_ratio, pt_ratio=pt_ratio)
    result = await dev.read(list(items) or None, device="master")
    return result_doc(result, profile, ct_ratio, pt_ratio)


async def _read(args: argparse.Namespace) -> dict[str, Any]:
    from edge.modbus.adapter import ModbusLink

    profile = load_profile(args.profile)
    link = ModbusLink(link_settings(args))
    async with link:
        doc = await read_doc(link, profile, args.device_id, args.items, ct_ratio=args.ct_ratio, pt_ratio=args.pt_ratio)
        c = link.counters
        return {**doc, "requests": c.requests, "bytes_out": c.bytes_out, "bytes_in": c.bytes_in}


def print_doc(doc: dict[str, Any], as_json: bool, out: TextIO) -> None:
    if as_json:
        json.dump(doc, out, indent=2)
        out.write("\n")
        return
    for r in doc["readings"]:
        out.write(f"{r['quantity']:<8} {r['text']:>14} {r['unit']}\n")
    for f in doc["failures"]:
        out.write(f"{f['quantity']:<8} FAILED: {f['reason']}\n")
    if "requests" in doc:
        out.write(f"{doc['requests']} requests, {doc['bytes_out']} bytes out, {doc['bytes_in']} bytes in\n")


def run_read(args: argparse.Namespace) -> int:
    """Entry point of ``meterwatch read`` for the Modbus protocols."""
    if not args.profile:
        print("meterwatch read: --profile is required for Modbus (dtsu666, sdm630, dtsd1352, ttu or a .toml file)",
              file=sys.stderr)
        return 2
    try:
        doc = asyncio.run(_read(args))
    except ConfigError as exc:
        print(f"meterwatch read: bad profile:\n{exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"meterwatch read: {exc}", file=sys.stderr)
        return 2
    except TransportError as exc:
        print(f"meterwatch read: {exc}", file=sys.stderr)
        return 3
    print_doc(doc, args.json, sys.stdout)
    return 1 if doc["failures"] else 0
