"""``meterwatch check-config FILE``: everything that would stop the daemon, before any I/O.

Exit 0 with a summary (areas, meters per bus, wire use per bus and plan); exit 1 listing every problem
(``edge.preflight``: the configuration, its files on this machine, plans that do not fit their bus),
each naming file, line, key and device. ``meterwatch run`` runs the same checks.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edge.preflight import Preflight


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="edge configuration (TOML)")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.add_argument("--no-files", action="store_true",
                   help="skip the checks of password, CA, certificate and key files (checking a configuration "
                        "away from the gateway it is meant for)")
    p.add_argument("--readings", metavar="CSV",
                   help="a readings export (ts,device,quantity,value) of these areas: warn when their voltages do "
                        "not fit the configured transformer.lv_system")
    p.add_argument("--credentials-dir", metavar="DIR",
                   help="where a relative password_file is looked up, as systemd's $CREDENTIALS_DIRECTORY "
                        "(e.g. /etc/meterwatch for LoadCredential=mqtt-password:/etc/meterwatch/mqtt-password)")


def run(args: argparse.Namespace) -> int:
    from edge.errors import ConfigError
    from edge.preflight import preflight

    try:
        checked = preflight(args.file, files=not args.no_files, credentials_dir=args.credentials_dir)
    except ConfigError as exc:
        print(exc.report(args.file), file=sys.stderr)
        return 1
    if not args.quiet:
        _summary(args.file, checked)
    if args.readings:
        for warning in _nominal_warnings(checked, args.readings):
            print(f"{args.file}: warning: {warning}", file=sys.stderr)
    return 0


def _nominal_warnings(checked: Preflight, readings: str) -> list[str]:
    """Per area, whether the voltages of its devices in ``readings`` fit its LV system (edge.nominalcheck)."""
    from detect.context import AreaContext
    from edge.area import build_area
    from edge.nominalcheck import VoltageSample, nominal_warning
    from edge.replay import ReplayError, ReplayStats, read_batches

    out = []
    for area_cfg in checked.config.areas:
        area = build_area(area_cfg, checked.config.gateway.grid)
        volts = VoltageSample()
        try:
            for b in read_batches(readings, area, batch_s=86400.0, stats=ReplayStats()):
                volts.add(b.quantity, b.value)
        except ReplayError as exc:
            return [str(exc)]
        nominal = AreaContext.build(area, area_cfg.detection, "numpy").params.voltage.nominal_v
        warning = nominal_warning(area.id, nominal, volts.values())
        if warning:
            out.append(warning)
    return out


def _summary(file: str, checked: Preflight) -> None:
    cfg = checked.config
    per_bus: Counter[str] = Counter(m.bus for area in cfg.areas for m in area.meters)
    print(f"{file}: ok — gateway {cfg.gateway.id} (grid {cfg.gateway.grid}), "
          f"{len(cfg.areas)} area(s), {sum(per_bus.values())} meters, {len(cfg.buses)} bus(es)")
    for area in cfg.areas:
        print(f"  area {area.id}: {area.transformer.rated_kva:g} kVA {area.transformer.cooling}, "
              f"master on {area.master.bus}, {len(area.meters)} meters")
    for bus in cfg.buses:
        cap = checked.capacity[bus.name]
        print(f"  bus {bus.name} ({bus.protocol}, {bus.baud} baud, {bus.port}): "
              f"{per_bus.get(bus.name, 0)} meters, wire use {cap.total_fraction * 100:.1f} %")
        for load in cap.loads:
            print(f"    plan {load.plan}: {load.n_devices} device(s), {load.transactions} reads, "
                  f"round {load.round_s:.1f} s on the wire every {load.interval_s:g} s "
                  f"({load.fraction * 100:.1f} % of the wire) ok")
    files = "checked" if checked.files_checked else "not checked (--no-files)"
    print(f"  files (password, CA, certificate, key): {files}")
