"""``meterwatch import --inspect FILE --area area.toml [--mapping MAP]``: what the import layer makes of an
export before anything runs — encoding, delimiter, header and columns, time format and zone, units and kinds
against physics, row counts and the first readings. The options are those of ``meterwatch replay``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edge.areafile import AreaFile
    from edge.imports import ImportOptions


def add_import_arguments(p: argparse.ArgumentParser) -> None:
    """The options that say how to read an export (shared with ``meterwatch replay``)."""
    g = p.add_argument_group("reading the export (all detected when not given)")
    g.add_argument("--mapping", metavar="MAP", help="mapping file (TOML), or a preset: long, wide, daily")
    g.add_argument("--timezone", help="zone of naive local times: IANA name or +08:00 (default: the area's)")
    g.add_argument("--encoding", help="utf-8, gbk, gb18030 or utf-16 (default: detected)")
    g.add_argument("--unit", action="append", default=[], metavar="KEY=UNIT",
                   help="e.g. meters.energy=Wh, master.energy=kWh, power=W (repeatable)")
    g.add_argument("--kind", action="append", default=[], metavar="KEY=KIND",
                   help="e.g. e_fwd=interval, meters.energy=register (repeatable)")
    g.add_argument("--day-label", choices=("freeze", "data_day"),
                   help="daily exports: a date is the freeze at its 00:00, or the day the reading closes")
    g.add_argument("--sheet", help="xlsx: read only this sheet")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--inspect", required=True, metavar="FILE", help="the export to look at (CSV/TXT or .xlsx)")
    p.add_argument("--area", required=True, metavar="TOML", help="area file or edge configuration holding the area")
    p.add_argument("--area-id", help="which [[area]] when the file has several")
    p.add_argument("--rows", type=int, default=8, help="how many first readings to show")
    add_import_arguments(p)


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"--{what} {item!r}: expected KEY=VALUE, e.g. meters.energy=Wh")
        out[key.strip()] = value.strip()
    return out


def import_options(args: argparse.Namespace, af: AreaFile) -> ImportOptions:
    """``ImportOptions`` from the command line on top of the mapping; raises ``MappingError``/``ValueError``."""
    from edge.imports import ImportOptions, load_mapping

    mapping = load_mapping(args.mapping).with_options(
        encoding=args.encoding, units=_pairs(args.unit, "unit"), kinds=_pairs(args.kind, "kind"),
        day_label=args.day_label, sheet=args.sheet)
    if args.timezone:                       # the option wins over the mapping and the area
        return ImportOptions(mapping=dataclasses.replace(mapping, timezone=""), timezone=args.timezone,
                             zone_source="--timezone", aliases=af.aliases)
    return ImportOptions(mapping=mapping, timezone=af.timezone, zone_source=f"the area ({af.timezone_source})",
                         aliases=af.aliases)


def open_area(args: argparse.Namespace, command: str) -> AreaFile | None:
    from edge.areafile import load_area
    from edge.errors import ConfigError

    try:
        af = load_area(args.area, args.area_id)
    except ConfigError as exc:
        print(f"{args.area}: {len(exc.issues)} error(s)", file=sys.stderr)
        for issue in exc.issues:
            print(f"  {issue}", file=sys.stderr)
        return None
    return af


def run(args: argparse.Namespace) -> int:
    from edge.imports import ExportError, MappingError, Readings
    from edge.imports.inspect import report

    af = open_area(args, "import")
    if af is None:
        return 1
    try:
        readings = Readings(args.inspect, af.area, import_options(args, af))
    except (ExportError, MappingError, ValueError) as exc:
        print(f"meterwatch import: {exc}", file=sys.stderr)
        return 1
    lines: list[Any] = report(readings, rows=args.rows)
    print("\n".join(lines))
    return 0 if readings.stats.rejected == 0 else 1
