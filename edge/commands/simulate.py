"""``meterwatch simulate``: a physically consistent simulated area, served or exported.

Serve:   meterwatch simulate -c sim.toml [--speed X] [--tcp] [--dir DIR]
         serves the area (``edge.sim.serve.serve_area``): DL/T 645 meter buses on ptys (or loopback TCP)
         and the TTU (Modbus RTU on a pty, or Modbus TCP), all reporting at the simulated time; prints an
         edge config to poll it, then a status line every few seconds until Ctrl-C / SIGTERM.
Export:  meterwatch simulate -c sim.toml --export DIR --days N [--seed S]
         writes readings, truth and balance at CPU speed, without any protocol.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = ("Serve a simulated transformer area on ptys / TCP for the daemon (default), or export it "
                     "to files with --export. Serve mode prints a ready-to-use edge config.")
    p.add_argument("-c", "--config", required=True, help="simulator TOML (see edge/sim/scenarios/*.toml)")
    p.add_argument("--export", metavar="DIR", help="write readings, truth and balance into DIR and exit")
    p.add_argument("--days", type=int, default=7, help="days to export (default 7)")
    p.add_argument("--seed", type=int, default=None, help="override sim.seed")
    p.add_argument("--speed", type=float, default=1.0,
                   help="serve mode: simulated-clock speed-up (1..100000); serial timing stays real")
    p.add_argument("--tcp", action="store_true",
                   help="serve mode: meter buses and the TTU on loopback TCP ports instead of ptys")
    p.add_argument("--dir", default=None,
                   help="serve mode: where to write edge.toml and meters.csv (default: a new temp directory)")
    p.add_argument("--mqtt", default="mqtt://127.0.0.1:1883", help="serve mode: broker URL put in the edge config")
    p.add_argument("--status", type=float, default=None, metavar="S",
                   help="serve mode: seconds between status lines (default [serve] status_s, 5)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from edge.errors import ConfigError
    from edge.sim.config import load_sim_config

    try:
        cfg = load_sim_config(args.config)
    except ConfigError as exc:
        for issue in exc.issues:
            print(f"error: {issue}", file=sys.stderr)
        return 2
    if args.seed is not None:
        if args.seed < 0:
            print("error: --seed must be >= 0", file=sys.stderr)
            return 2
        cfg = dataclasses.replace(cfg, seed=args.seed)
    if args.export:
        return _export(args, cfg)
    return _serve(args, cfg)


def _export(args: argparse.Namespace, cfg: object) -> int:
    from edge.sim.export import export, progress_bar

    if not 1 <= args.days <= 3660:
        print(f"error: --days {args.days} is outside 1..3660", file=sys.stderr)
        return 2
    stats = export(cfg, args.export, args.days, progress=None if args.quiet else progress_bar())  # type: ignore[arg-type]
    print(f"exported {stats.days} days x {stats.meters} meters ({stats.rows} readings) to {args.export} "
          f"in {stats.seconds:.1f} s ({stats.meter_days_per_s:.0f} meter-days/s)")
    return 0


def _serve(args: argparse.Namespace, cfg: object) -> int:
    import signal
    import threading

    from edge.errors import ConfigError
    from edge.sim.clock import MAX_SPEED
    from edge.sim.config import SimConfig
    from edge.sim.serve import serve_area

    assert isinstance(cfg, SimConfig)
    if not 0 < args.speed <= MAX_SPEED:
        print(f"error: --speed {args.speed:g} is outside (0, {MAX_SPEED:g}]", file=sys.stderr)
        return 2
    if args.status is not None and not 0.1 <= args.status <= 3600:
        print(f"error: --status {args.status:g} is outside 0.1..3600 s", file=sys.stderr)
        return 2
    stop = threading.Event()
    # SIGTERM (systemd, kill) and Ctrl-C both end the serving loop and close ptys and ports cleanly.
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with serve_area(cfg, speed=args.speed, tcp=args.tcp, out_dir=args.dir, mqtt_url=args.mqtt) as served:
            print(f"# serving area {cfg.area.id}: {cfg.area.customers} meters on {len(served.buses)} bus(es) and "
                  f"the TTU; edge config written to {served.edge_config}")
            print(f"# check it:  meterwatch check-config {served.edge_config}")
            print(served.config_text, end="", flush=True)
            print("# Ctrl-C or SIGTERM stops serving", flush=True)
            status_s = args.status if args.status is not None else cfg.serve.status_s
            while not stop.wait(status_s):
                print(served.status_line(), flush=True)
            print(f"stopped: {served.status_line()}", flush=True)
    except ConfigError as exc:
        for issue in exc.issues:
            print(f"error: {issue}", file=sys.stderr)
        return 2
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"error: cannot serve: {exc}", file=sys.stderr)
        return 3
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
