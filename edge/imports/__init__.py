"""Real utility exports in: the import layer shared by replay and the meter list.

Sniffing (encoding, delimiter, header), presets and mapping files, time formats and zones, unit and kind
detection against physics, CSV and xlsx behind one source, and the compiled scanner. ``Readings`` turns an
export into columnar readings in our units; ``read_meter_list`` reads an archive's meter list.
"""

from __future__ import annotations

from edge.imports.mapping import PRESETS, Mapping, MappingError, load_mapping
from edge.imports.reader import ExportError, ImportOptions, ImportStats, Readings

__all__ = ["PRESETS", "ExportError", "ImportOptions", "ImportStats", "Mapping", "MappingError", "Readings",
           "load_mapping"]
