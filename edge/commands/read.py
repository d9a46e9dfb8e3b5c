"""``meterwatch read``: what a field technician types to check one meter or TTU.

DL/T 645:  meterwatch read --port /dev/ttyS1 --address 000000000001 00010000 02010100 [--json]
Modbus:    meterwatch read --port tcp://host:502 --protocol modbus-tcp --profile dtsu666 --device-id 1

A port that a running daemon polls is refused (exit status 3), naming the daemon's pid: two masters on
one RS-485 pair garble each other's frames (see ``edge.portlock``).
"""

from __future__ import annotations

import argparse


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
    p.add_argument("--profile", help="Modbus device profile name (dtsu666, sdm630, dtsd1352, ttu) or file")
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

        return with_port_lock("read", args.port, lambda: run_modbus(args))
    from edge.dlt645.cli import run_read as run_dlt645

    return with_port_lock("read", args.port, lambda: run_dlt645(args))
