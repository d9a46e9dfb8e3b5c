"""``meterwatch check-config FILE``: validate a configuration before any I/O and summarise it.

Exit 0 with a summary (areas, meters per bus, wire capacity per bus and plan); exit 1 listing every
error found, each naming file, line, key and device.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="edge configuration (TOML)")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")


def run(args: argparse.Namespace) -> int:
    from edge.capacity import bus_capacity
    from edge.config import load_config
    from edge.errors import ConfigError

    try:
        cfg = load_config(args.file)
    except ConfigError as exc:
        print(f"{args.file}: {len(exc.issues)} error(s)", file=sys.stderr)
        for issue in exc.issues:
            print(f"  {issue}", file=sys.stderr)
        return 1
    if args.quiet:
        return 0
    per_bus: Counter[str] = Counter()
    for area in cfg.areas:
        for m in area.meters:
            per_bus[m.bus] += 1
    print(f"{args.file}: ok — gateway {cfg.gateway.id} (grid {cfg.gateway.grid}), "
          f"{len(cfg.areas)} area(s), {sum(per_bus.values())} meters, {len(cfg.buses)} bus(es)")
    for area in cfg.areas:
        print(f"  area {area.id}: {area.transformer.rated_kva:g} kVA {area.transformer.cooling}, "
              f"master on {area.master.bus}, {len(area.meters)} meters")
    warnings = 0
    for bus in cfg.buses:
        cap = bus_capacity(cfg, bus)
        print(f"  bus {bus.name} ({bus.protocol}, {bus.baud} baud, {bus.port}): "
              f"{per_bus.get(bus.name, 0)} meters, wire use {cap.utilisation * 100:.1f} %")
        for plan in cap.plans:
            mark = "ok" if plan.fits else "DOES NOT FIT"
            print(f"    plan {plan.name}: {plan.devices} device(s), {plan.reads_per_round} reads, "
                  f"round {plan.round_s:.1f} s on the wire every {plan.interval_s:g} s "
                  f"({plan.share * 100:.1f} % of the wire) {mark}")
            if not plan.fits:
                warnings += 1
        if cap.utilisation > 1.0:
            print(f"    warning: bus {bus.name} needs {cap.utilisation * 100:.0f} % of its wire: "
                  "rounds will overrun (raise the baud rate, lengthen intervals or split the bus)")
            warnings += 1
    if warnings:
        print(f"{warnings} capacity warning(s)")
    return 0
