"""``meterwatch simulate``: a physically consistent simulated area, served or exported.

Export (complete):  meterwatch simulate -c sim.toml --export DIR --days N [--seed S]
Serve  (on integration): meterwatch simulate -c sim.toml [--speed X] serves the area on ptys / TCP through
``edge.sim.meterbus`` (DL/T 645) and ``edge.sim.ttu`` (Modbus) with an ``AreaSource`` and a ``SimClock``;
the lead wires those two modules in when their branches are merged.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", required=True, help="simulator TOML (see edge/sim/scenarios/*.toml)")
    p.add_argument("--export", metavar="DIR", help="write readings, truth and balance into DIR and exit")
    p.add_argument("--days", type=int, default=7, help="days to export (default 7)")
    p.add_argument("--seed", type=int, default=None, help="override sim.seed")
    p.add_argument("--speed", type=float, default=1.0, help="serve mode: simulated-clock speed-up (1..100000)")
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
    try:
        import edge.sim.meterbus
        import edge.sim.ttu  # noqa: F401  (simulated Modbus TTU, separate branch)
    except ImportError as exc:
        print(f"error: serve mode needs the simulated meter bus and TTU ({exc.name} is not installed); "
              "use --export DIR for now", file=sys.stderr)
        return 2
    print("error: serve mode is wired up on integration (AreaSource + SimClock into edge.sim.meterbus and "
          "edge.sim.ttu); use --export DIR", file=sys.stderr)
    return 2
