"""``meterwatch read``: what a field technician types to check one meter or TTU.

DL/T 645:  meterwatch read --port /dev/ttyS1 --address 000000000001 00010000 02010100 [--json]
Modbus:    meterwatch read --port tcp://host:502 --protocol modbus-tcp --profile dtsu666 --device-id 1

On a port that a running daemon polls, the daemon reads for it: the request goes to the daemon's
control socket (named in the port's lock, ``edge.portlock``), which slots it into the bus's schedule
between two of its own transactions (``edge.status.ondemand``); the output is the same, with a line
on stderr saying it went through the daemon and how long it waited for the wire. Two masters on one
RS-485 pair would garble each other's frames: the port is never opened twice. A port held by another
program (another ``read``, a ``scan``) is refused (exit status 3), naming its pid.

Values are printed at the resolution of their register (``230.1 V``, not ``230.10000000000002``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from edge import portlock


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", required=True, help="serial device (/dev/ttyS1) or tcp://host:port")
    p.add_argument("--protocol", default="2007", choices=("2007", "1997", "auto", "modbus-rtu", "modbus-tcp"),
                   help="DL/T 645 edition (2007, 1997, auto) or modbus-rtu / modbus-tcp (default 2007)")
    p.add_argument("--baud", type=int, default=None,
                   help="serial baud rate (DL/T 645 2400, Modbus 9600)")
    p.add_argument("--parity", default="E", choices=("N", "E", "O"), help="serial parity (default E)")
    p.add_argument("--timeout", type=float, default=None, help="override the computed reply deadline (s)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--address", help="DL/T 645 meter address, 12 digits as on the nameplate")
    p.add_argument("--profile", help="Modbus device profile name (dtsu666, sdm630, dtsd1352, ttu) or file; through "
                   "the daemon, default: the profile configured for --device-id")
    p.add_argument("--device-id", type=int, default=1, help="Modbus device id (default 1)")
    p.add_argument("--ct-ratio", type=float, default=1.0, help="CT ratio applied where the profile says so")
    p.add_argument("--pt-ratio", type=float, default=1.0, help="PT ratio applied where the profile says so")
    p.add_argument("items", nargs="*", help="DL/T 645 DIs (hex, e.g. 00010000) or quantity names; "
                   "default: the standard set")


def run(args: argparse.Namespace) -> int:
    from edge.commands._portuse import bad_baud, with_port_lock

    if bad_baud(args.baud, "read"):
        return 2
    if args.protocol.startswith("modbus"):
        from edge.modbus.cli import run_read as run_modbus

        return with_port_lock("read", args.port, lambda: run_modbus(args), busy=lambda h: _through_daemon(args, h))
    from edge.dlt645.cli import check_read_args
    from edge.dlt645.cli import run_read as run_dlt645

    why = check_read_args(args)
    if why:
        print(f"meterwatch read: {why}", file=sys.stderr)
        return 2
    return with_port_lock("read", args.port, lambda: run_dlt645(args), busy=lambda h: _through_daemon(args, h))


def _through_daemon(args: argparse.Namespace, holder: portlock.Holder) -> int | None:
    """Ask the daemon holding the port to read; None when the holder is not a daemon that can be asked."""
    if not holder.control or holder.program != "meterwatch run":
        return None
    from edge.status.client import ControlClient, ControlError
    from edge.status.ondemand import WAIT_S, request_from

    fields = vars(args).copy()
    if args.profile and ("/" in args.profile or args.profile.endswith(".toml")):
        fields["profile"] = os.path.abspath(args.profile)     # the daemon runs elsewhere
    req = request_from(fields)
    pid = f"pid {holder.pid}{f', bus {holder.bus}' if holder.bus else ''}"
    try:
        doc = ControlClient(socket_path=holder.control, timeout_s=WAIT_S + 5).request("POST", "/api/read", req.to_json())
    except ControlError as exc:
        print(f"meterwatch read: 通过守护进程（{pid}）读取失败 / reading through the daemon ({pid}) failed: {exc}",
              file=sys.stderr)
        return 3 if exc.status in (0, 404, 503, 504) else 1 if exc.status == 502 else 2
    via = doc.get("via", {})
    print(f"meterwatch read: 通过守护进程读取 / read through the daemon ({pid}): waited {via.get('waited_s', '?')} s "
          f"for the wire, read in {via.get('took_s', '?')} s{'; ' + via['note'] if via.get('note') else ''}",
          file=sys.stderr)
    if args.protocol.startswith("modbus"):
        from edge.modbus.cli import print_doc

        print_doc(doc, args.json, sys.stdout)
        return 1 if doc.get("failures") else 0
    from edge.dlt645.cli import print_rows, read_exit_code

    if args.json:
        print(json.dumps(doc, default=str, ensure_ascii=False))
    else:
        print_rows(doc["items"], sys.stdout)
    return read_exit_code(doc)
