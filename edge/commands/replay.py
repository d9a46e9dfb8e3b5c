"""``meterwatch replay --area area.toml --readings export.csv [--out events.jsonl]`` (DESIGN §6).

Runs the long readings CSV through the same engine and serialisers as the daemon and writes the JSON lines
it would publish (``{"topic": ..., "payload": ...}``), with a progress bar and a summary at the end.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--area", required=True, metavar="TOML",
                   help="area file (as `simulate --export` writes it) or an edge configuration holding the area")
    p.add_argument("--area-id", help="which [[area]] to replay when the file has several")
    p.add_argument("--readings", required=True, metavar="CSV", help="long CSV: ts,device,quantity,value")
    p.add_argument("--out", metavar="JSONL", help="write the messages here (default: stdout)")
    p.add_argument("--gateway", default="replay", help="gateway id in the envelopes and topics")
    p.add_argument("--batch-s", type=float, default=3600.0,
                   help="readings are fed (and the engine advanced) in windows of this length; the output does not "
                        "depend on it, larger windows are faster")
    p.add_argument("--reorder-s", type=float, default=300.0, help="tolerated disorder of the rows (s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def run(args: argparse.Namespace) -> int:
    from edge.areafile import load_area_file
    from edge.errors import ConfigError
    from edge.replay import ReplayError
    from edge.replayer import replay

    try:
        area, params = load_area_file(args.area, args.area_id)
    except ConfigError as exc:
        print(f"{args.area}: {len(exc.issues)} error(s)", file=sys.stderr)
        for issue in exc.issues:
            print(f"  {issue}", file=sys.stderr)
        return 1
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115 - closed below
    try:
        result = replay(area, params, args.readings, out, progress=None if args.no_progress else sys.stderr,
                        gateway=args.gateway, batch_s=args.batch_s, reorder_s=args.reorder_s)
    except ReplayError as exc:
        print(f"meterwatch replay: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.out:
            out.close()
        else:
            out.flush()
    for msg in result.stats.messages:
        print(f"{args.readings}: {msg}", file=sys.stderr)
    for line in result.summary_lines():
        print(f"meterwatch replay: {line}", file=sys.stderr)
    return 0 if result.stats.rejected == 0 else 1
