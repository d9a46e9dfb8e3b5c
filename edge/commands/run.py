"""``meterwatch run -c FILE``: the edge daemon (what the systemd unit starts)."""

from __future__ import annotations

import argparse
import logging
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", required=True, help="edge configuration (TOML)")
    p.add_argument("--broker", help="override [mqtt].url (e.g. mqtt://127.0.0.1:1883 while commissioning)")
    p.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    p.add_argument("--flush-timeout", type=float, default=5.0,
                   help="seconds to keep publishing on stop before leaving the rest in the outbox (default 5); a stop "
                        "not done 15 s after that writes every thread's stack to the log and exits 1")


def run(args: argparse.Namespace) -> int:
    import asyncio
    import faulthandler
    import signal

    from edge.errors import ConfigError, MeterwatchError
    from edge.preflight import preflight
    from edge.service import STOP_GRACE_S, DaemonOptions, run_daemon
    from edge.stacks import stack_file

    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = preflight(args.config).config      # the checks of check-config: nothing starts half-working
    except ConfigError as exc:
        print(exc.report(args.config, "nothing was started"), file=sys.stderr)
        return 1
    # `systemctl kill -s USR1 meterwatch-edge` (or `kill -USR1 PID`) writes every thread's stack to the journal
    # and the daemon runs on: what a daemon that does not stop, or stops moving, is doing, without stopping it.
    faulthandler.register(signal.SIGUSR1, file=stack_file(), all_threads=True)
    try:
        return asyncio.run(run_daemon(cfg, DaemonOptions(broker_url=args.broker, flush_timeout_s=args.flush_timeout,
                                                         stop_bound_s=args.flush_timeout + STOP_GRACE_S)))
    except (ConfigError, MeterwatchError) as exc:
        print(f"meterwatch run: {exc}", file=sys.stderr)
        return 1
    finally:
        faulthandler.cancel_dump_traceback_later()
