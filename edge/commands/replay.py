"""``meterwatch replay --area area.toml --readings EXPORT [--mapping MAP] [--out events.jsonl]``.

Runs a utility's export of readings (our long CSV, or any layout, encoding, time format and unit the import
layer understands: ``docs/replay.md``) through the same engine and serialisers as the daemon and writes the
JSON lines it would publish (``{"topic": ..., "payload": ...}``), with a progress bar and a summary at the end.
"""

from __future__ import annotations

import argparse
import sys

from edge.commands.import_ import add_import_arguments


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--area", required=True, metavar="TOML",
                   help="area file (as `simulate --export` writes it) or an edge configuration holding the area")
    p.add_argument("--area-id", help="which [[area]] to replay when the file has several")
    p.add_argument("--readings", required=True, metavar="FILE",
                   help="the export: CSV/TXT or .xlsx, long, wide or daily (see meterwatch import --inspect)")
    p.add_argument("--out", metavar="JSONL", help="write the messages here (default: stdout)")
    p.add_argument("--gateway", default="replay", help="gateway id in the envelopes and topics")
    p.add_argument("--ambient", metavar="CSV",
                   help="ambient temperature series (ts,t_amb), e.g. a weather export, for the transformer heat "
                        "when the devices have no sensor: interpolated, used where no t_amb reading is fresh")
    p.add_argument("--batch-s", type=float, default=3600.0,
                   help="readings are fed (and the engine advanced) in windows of this length; the output does not "
                        "depend on it (docs/replay.md), larger windows are faster")
    p.add_argument("--reorder-s", type=float, default=300.0, help="tolerated disorder of the rows (s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_import_arguments(p)


def run(args: argparse.Namespace) -> int:
    from edge.ambientfile import AmbientFileError, load_ambient
    from edge.commands.import_ import import_options, open_area
    from edge.imports import ExportError, MappingError, Readings
    from edge.plausibility import limits_for
    from edge.replay import ReplayStats
    from edge.replayer import replay

    af = open_area(args, "replay")
    if af is None:
        return 1
    try:
        ambient = load_ambient(args.ambient) if args.ambient else None
    except AmbientFileError as exc:
        print(f"meterwatch replay: {exc}", file=sys.stderr)
        return 1
    stats = ReplayStats()
    try:
        readings = Readings(args.readings, af.area, import_options(args, af), stats)
    except (ExportError, MappingError, ValueError) as exc:
        print(f"meterwatch replay: {exc}", file=sys.stderr)
        return 1
    for d in readings.conversion.decisions:
        print(f"meterwatch replay: {d}", file=sys.stderr)
    for w in readings.conversion.warnings:
        print(f"meterwatch replay: warning: {w}", file=sys.stderr)
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115 - closed below
    try:
        result = replay(af.area, af.params, args.readings, out, progress=None if args.no_progress else sys.stderr,
                        gateway=args.gateway, batch_s=args.batch_s, reorder_s=args.reorder_s, readings=readings,
                        plausibility=limits_for(af.config, af.area) if af.config is not None else None,
                        ambient=ambient)
    finally:
        if args.out:
            out.close()
        else:
            out.flush()
    for msg in result.stats.messages:
        print(msg, file=sys.stderr)
    for line in result.summary_lines():
        print(f"meterwatch replay: {line}", file=sys.stderr)
    return 0 if result.stats.rejected == 0 else 1
