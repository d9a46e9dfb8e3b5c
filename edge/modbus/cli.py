"""``meterwatch read --protocol modbus-tcp|modbus-rtu --profile P --device-id N``: read one device once.

Exit status: 0 all quantities read, 1 some failed, 2 bad arguments or profile, 3 port could not be opened.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TextIO

from detect.quantities import UNITS
from edge.errors import ConfigError, TransportError
from edge.modbus.link import LinkKind, LinkSettings, parse_port
from edge.modbus.profile import load_profile
from edge.readings import DeviceRead

__all__ = ["link_settings", "run_read"]


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


async def _read(args: argparse.Namespace) -> tuple[DeviceRead, dict[str, int]]:
    from edge.modbus.adapter import ModbusLink
    from edge.modbus.device import ModbusDevice

    profile = load_profile(args.profile)
    link = ModbusLink(link_settings(args))
    async with link:
        dev = ModbusDevice(link, profile, args.device_id, ct_ratio=args.ct_ratio, pt_ratio=args.pt_ratio)
        result = await dev.read(args.items or None, device="master")
        c = link.counters
        return result, {"requests": c.requests, "bytes_out": c.bytes_out, "bytes_in": c.bytes_in}


def _print(result: DeviceRead, stats: dict[str, int], as_json: bool, out: TextIO) -> None:
    if as_json:
        doc = {
            "readings": [{"quantity": r.quantity, "value": r.value, "unit": UNITS.get(r.quantity, ""), "ts": r.ts}
                         for r in result.readings],
            "failures": [{"quantity": f.quantity, "reason": f.reason, "ts": f.ts} for f in result.failures],
            **stats,
        }
        json.dump(doc, out, indent=2)
        out.write("\n")
        return
    for r in result.readings:
        out.write(f"{r.quantity:<8} {r.value:>14.4f} {UNITS.get(r.quantity, '')}\n")
    for f in result.failures:
        out.write(f"{f.quantity:<8} FAILED: {f.reason}\n")
    out.write(f"{stats['requests']} requests, {stats['bytes_out']} bytes out, {stats['bytes_in']} bytes in\n")


def run_read(args: argparse.Namespace) -> int:
    """Entry point of ``meterwatch read`` for the Modbus protocols."""
    if not args.profile:
        print("meterwatch read: --profile is required for Modbus (dtsu666, sdm630, dtsd1352, ttu or a .toml file)",
              file=sys.stderr)
        return 2
    try:
        result, stats = asyncio.run(_read(args))
    except ConfigError as exc:
        print(f"meterwatch read: bad profile:\n{exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"meterwatch read: {exc}", file=sys.stderr)
        return 2
    except TransportError as exc:
        print(f"meterwatch read: {exc}", file=sys.stderr)
        return 3
    _print(result, stats, args.json, sys.stdout)
    return 0 if result.ok else 1
