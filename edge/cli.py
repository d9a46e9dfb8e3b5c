"""The ``meterwatch`` command line. The registry below is the whole list of commands.

Each command lives in ``edge/commands/<name>.py`` with ``add_arguments(parser)`` and ``run(args) -> int``.
Command modules keep heavy imports (numba, pymodbus, paho) inside ``run`` so ``meterwatch --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import select
import sys
from collections.abc import Sequence

from edge import __version__

__all__ = ["COMMANDS", "main"]

# name -> (module, one-line help). Keep it sorted by how often a field engineer types it.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("edge.commands.demo", "the whole pipeline on a simulated area, no services needed"),
    "run": ("edge.commands.run", "run the edge daemon (what the systemd unit starts)"),
    "check-config": ("edge.commands.check_config", "validate an edge configuration before any I/O"),
    "status": ("edge.commands.status", "what the running daemon is doing: buses, devices, alerts, outbox"),
    "read": ("edge.commands.read", "read one meter (DL/T 645) or TTU (Modbus) and print the values"),
    "simulate": ("edge.commands.simulate", "serve or export a simulated transformer area"),
    "alerts": ("edge.commands.alerts", "tail alerts from an MQTT broker, as a subscriber would"),
    "replay": ("edge.commands.replay", "run a utility's export of readings through the detection engine (JSON lines out)"),
    "import": ("edge.commands.import_", "inspect a utility's export: encoding, columns, time, units, rows"),
    "scan": ("edge.commands.scan", "find every DL/T 645 meter on a bus"),
    "collector": ("edge.commands.collector", "write gateways' MQTT alerts and summaries into InfluxDB"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meterwatch",
        description="Watch a low-voltage transformer area from its concentrator.",
    )
    parser.add_argument("--version", action="version", version=f"meterwatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help()
        return 2
    try:
        code = importlib.import_module(args._module).run(args)
        sys.stdout.flush()
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        if not _stdout_gone():
            raise           # a socket's, not ours to hide
        return _reader_gone()
    return int(code or 0)


def _stdout_gone() -> bool:
    """True when stdout is a pipe whose reader has closed it (poll reports an error on it)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(ev & select.POLLERR for _fd, ev in poller.poll(0))
    except (OSError, ValueError):
        return False


def _reader_gone() -> int:
    """stdout's reader quit early (``meterwatch status | head``): end quietly, as a program killed by
    SIGPIPE would (128 + 13), and point stdout at /dev/null so the interpreter's final flush of what is
    still buffered does not fail again with a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141


if __name__ == "__main__":
    sys.exit(main())
