"""``meterwatch scan``: find every DL/T 645 meter on a bus, with a progress bar.

meterwatch scan --port /dev/ttyS1 [--baud 2400]      prints CSV rows for the meter list

A port that a running daemon polls is refused (exit status 3), naming the daemon's pid.
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", required=True, help="serial device (/dev/ttyS1) or tcp://host:port")
    p.add_argument("--baud", type=int, default=None,
                   help="serial baud rate (default 2400)")
    p.add_argument("--parity", default="E", choices=("N", "E", "O"), help="serial parity (default E)")
    p.add_argument("--protocol", default="auto", choices=("2007", "1997", "auto"),
                   help="DL/T 645 edition to look for (default: both)")
    p.add_argument("--max-delay", type=float, default=None,
                   help="longest meter response delay to wait for per probe, s (default 0.5, the standard's)")
    p.add_argument("--margin", type=float, default=None,
                   help="extra wait per probe for adapter latency, s (default 0.1)")
    p.add_argument("--bus", default=None, help="bus name for the CSV rows (default: the port)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from edge.commands._portuse import bad_baud, with_port_lock

    if bad_baud(args.baud, "scan"):
        return 2
    from edge.dlt645.cli import run_scan

    return with_port_lock("scan", args.port, lambda: run_scan(args))
