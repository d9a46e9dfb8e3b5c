"""The meter list of an area (``meters_csv``) as the utility's archive exports it.

Read by the import layer (``edge.imports.meterlist``): UTF-8 with or without BOM or GBK/GB18030, comma,
semicolon or tab, a title above the header, Chinese or English headers and values, trailing empty columns;
``bus`` and ``address`` may be absent for a replay (``docs/replay.md``). Every bad row is an issue naming
the CSV file, its line and the column; good rows still load, so one run lists every problem. This module
keeps the configuration's interface and the column list our own exports write.
"""

from __future__ import annotations

from pathlib import Path

from edge.config.model import MeterConfig
from edge.imports.meterlist import MeterListMapping, load_meter_mapping
from edge.imports.meterlist import read_meter_list as _read
from tomlconf import ConfigIssue

__all__ = ["CSV_COLUMNS", "MeterListMapping", "load_meter_mapping", "read_meter_list"]

CSV_COLUMNS = ("id", "address", "bus", "phase", "branch", "kind", "pv", "ct_ratio")


def read_meter_list(path: Path, *, for_replay: bool = False, mapping: MeterListMapping | None = None
                    ) -> tuple[list[tuple[MeterConfig, int]], list[ConfigIssue]]:
    """The meters of a meter list with the line each stands on, and the issues of the file (an unreadable
    file is one issue with key ``<file>``); ``mapping`` states headers the built-in names do not cover."""
    return _read(path, for_replay=for_replay, mapping=mapping)
