"""``meterwatch replay --area CONFIG --readings export.csv [--out events.jsonl]`` (DESIGN §6).

Not registered in ``edge.cli.COMMANDS`` yet: reading, validation and batching work (``edge.replay``); the
engine step (``Engine.ingest`` / ``advance`` and the JSON-lines writer) is wired once ``detect.engine``
exists. Until then ``run`` validates the export against the area and reports what it found, and says that
no events were produced.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--area", required=True, metavar="CONFIG",
                   help="edge configuration (TOML) holding the area; see --area-id")
    p.add_argument("--area-id", help="which [[area]] to replay when the configuration has several")
    p.add_argument("--readings", required=True, metavar="CSV", help="long CSV: ts,device,quantity,value")
    p.add_argument("--out", metavar="JSONL", help="write events here (default: stdout)")
    p.add_argument("--batch-s", type=float, default=900.0, help="readings are fed in windows of this length")
    p.add_argument("--reorder-s", type=float, default=300.0, help="tolerated disorder of the rows (s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def run(args: argparse.Namespace) -> int:
    from edge.area import build_area
    from edge.config import load_config
    from edge.errors import ConfigError
    from edge.replay import ReplayError, ReplayStats, read_batches

    try:
        cfg = load_config(args.area)
    except ConfigError as exc:
        print(f"{args.area}: {len(exc.issues)} error(s)", file=sys.stderr)
        for issue in exc.issues:
            print(f"  {issue}", file=sys.stderr)
        return 1
    areas = [a for a in cfg.areas if args.area_id in (None, a.id)]
    if len(areas) != 1:
        known = ", ".join(a.id for a in cfg.areas) or "none"
        print(f"{args.area}: choose one area with --area-id (areas: {known})", file=sys.stderr)
        return 1
    area = build_area(areas[0], cfg.gateway.grid)
    stats = ReplayStats()
    t_first = t_last = None
    try:
        for batch in read_batches(args.readings, area, batch_s=args.batch_s, reorder_s=args.reorder_s,
                                  stats=stats, progress=None if args.no_progress else sys.stderr):
            t_first = batch.t_start if t_first is None else t_first
            t_last = batch.t_end
    except ReplayError as exc:
        print(f"meterwatch replay: {exc}", file=sys.stderr)
        return 1
    for msg in stats.messages:
        print(f"{args.readings}: {msg}", file=sys.stderr)
    span = f", {t_first:.0f} .. {t_last:.0f}" if t_first is not None else ""
    print(f"{args.readings}: {stats.rows} rows, {stats.accepted} accepted, {stats.rejected} rejected "
          f"({dict(stats.errors)}), {stats.late} late, {stats.batches} batches{span}", file=sys.stderr)
    print("meterwatch replay: detection engine not wired yet; readings validated, no events written",
          file=sys.stderr)
    return 0 if stats.rejected == 0 else 1
