"""``meterwatch collector -c collector.toml``: MQTT -> InfluxDB ingest (see docs/collector.md), and the
Alertmanager sink when the file has ``[alertmanager]`` (docs/alerting.md); ``--alertmanager-only`` runs
the sink alone."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collector.config import CollectorConfig


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", required=True, help="collector TOML file (deploy/examples/collector.toml)")
    p.add_argument("--check", action="store_true", help="validate the configuration and exit")
    p.add_argument("--alertmanager-only", action="store_true",
                   help="run only the Alertmanager sink of [alertmanager], no InfluxDB writes (docs/alerting.md)")


def run(args: argparse.Namespace) -> int:
    import logging
    import signal
    import sys

    from collector.config import load
    from edge.errors import ConfigError

    try:
        cfg = load(args.config)
    except ConfigError as e:
        print(f"meterwatch collector: configuration rejected:\n{e}", file=sys.stderr)
        return 2
    if args.alertmanager_only and cfg.alertmanager is None:
        print(f"meterwatch collector: --alertmanager-only needs an [alertmanager] section in {args.config}",
              file=sys.stderr)
        return 2
    if args.check:
        print(f"{args.config}: ok")
        return 0
    logging.basicConfig(level=cfg.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.alertmanager_only:
        return _alerts_only(cfg)
    import faulthandler

    from collector.service import STOP_BOUND_S, Collector
    from collector.writer import make_writer
    from edge.stacks import stack_file

    try:
        collector = Collector(cfg, make_writer(cfg.influx))
    except OSError as e:  # a credentials file that cannot be read
        print(f"meterwatch collector: cannot start: {e}", file=sys.stderr)
        return 2
    def on_signal(*_: object) -> None:
        if not armed:
            armed.append(True)
            faulthandler.dump_traceback_later(STOP_BOUND_S, exit=True, file=stack_file())
        collector.stop()

    armed: list[bool] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    # `kill -USR1 PID` writes every thread's stack to the log and the collector runs on
    faulthandler.register(signal.SIGUSR1, file=stack_file(), all_threads=True)
    try:
        collector.run()
    finally:
        faulthandler.cancel_dump_traceback_later()
    return 0


def _alerts_only(cfg: CollectorConfig) -> int:
    import signal
    import sys
    import threading

    from collector.alertmanager import run_alone

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        run_alone(cfg, stop)
    except OSError as e:  # a credentials or CA file that cannot be read
        print(f"meterwatch collector: cannot start: {e}", file=sys.stderr)
        return 2
    return 0
