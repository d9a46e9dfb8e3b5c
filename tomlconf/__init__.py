"""One toolkit for every TOML file meterwatch reads: edge config, Modbus profiles, the DL/T 645 catalogue,
the simulator config and the collector config.

It sits beside ``edge/``, ``detect/`` and ``collector/`` (imports nothing of them), so the collector
uses it without importing the edge. What it gives:

* ``load(path)`` / ``parse(text, file)``: a ``Doc`` — the parsed data, the line of every key (``tomllib``
  reports none) and a list of issues. Files must be UTF-8 (TOML's rule); anything else is one clear
  error naming the file, line and column and what the file probably is (GBK, UTF-16).
* ``build(doc, Dataclass, table, key)``: a frozen dataclass from a table, checking unknown keys (with
  the closest known key), missing keys, types and each field's ``min``/``max``/``choices``/``pattern``/
  ``check`` metadata; ``build_valid`` keeps the good keys when some fail; ``value(...)`` and
  ``check_keys(...)`` for tables that are not dataclasses.
* ``ConfigIssue`` (file, line, key, message, device) and ``ConfigError`` (every issue, not the first).
"""

from tomlconf._doc import Doc, load, parse, parse_toml
from tomlconf._issues import ConfigError, ConfigIssue
from tomlconf._positions import key_lines
from tomlconf._text import decode_utf8, read_bytes, read_text
from tomlconf._typed import build, build_valid, check_keys, join, value

__all__ = [
    "ConfigError",
    "ConfigIssue",
    "Doc",
    "build",
    "build_valid",
    "check_keys",
    "decode_utf8",
    "join",
    "key_lines",
    "load",
    "parse",
    "parse_toml",
    "read_bytes",
    "read_text",
    "value",
]
