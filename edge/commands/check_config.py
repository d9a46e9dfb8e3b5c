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
    from edge.config import load_config
    from edge.errors import ConfigError
    from edge.scheduler.from_config import config_bus_capacity

    try:
        cfg = load_config(args.file)
    except ConfigError as exc:
        print(exc.report(args.file), file=sys.stderr)
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
        cap = config_bus_capacity(cfg, bus)
        print(f"  bus {bus.name} ({bus.protocol}, {bus.baud} baud, {bus.port}): "
              f"{per_bus.get(bus.name, 0)} meters, wire use {cap.total_fraction * 100:.1f} %")
        for load in cap.loads:
            mark = "ok" if load.fits else "DOES NOT FIT"
            print(f"    plan {load.plan}: {load.n_devices} device(s), {load.transactions} reads, "
                  f"round {load.round_s:.1f} s on the wire every {load.interval_s:g} s "
                  f"({load.fraction * 100:.1f} % of the wire) {mark}")
            if not load.fits:
                warnings += 1
        if cap.total_fraction > 1.0:
            print(f"    warning: bus {bus.name} needs {cap.total_fraction * 100:.0f} % of its wire: "
                  "rounds will overrun (raise the baud rate, lengthen intervals or split the bus)")
            warnings += 1
    if warnings:
        print(f"{warnings} capacity warning(s)")
    return 0
