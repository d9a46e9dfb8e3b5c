"""Device profiles: which register holds which quantity, as TOML data files.

A profile maps quantities of the shared vocabulary (``detect.quantities``) to a function code,
address, register type, word order, scale and the CT/PT ratios that apply, so that
``raw × scale × ratios`` is the value in engineering units (V, A, kW, kvar, kWh, Hz).
Shipped profiles live in ``edge/modbus/profiles/<name>.toml``; a site adds its own file and names it
by path. Every problem of a file is reported at load, with file, line and key (see docs/modbus.md).
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from detect.quantities import QUANTITIES, UNITS
from edge.errors import ConfigError, ConfigIssue
from edge.modbus.registers import REGISTER_TYPES, WORD_ORDERS, register_count
from edge.modbus.values import DEFAULT_LIMITS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["PROFILE_DIR", "RATIOS", "Point", "Profile", "load_profile", "parse_profile", "shipped_profiles"]

PROFILE_DIR = Path(__file__).with_name("profiles")
RATIOS: tuple[str, ...] = ("none", "ct", "pt", "ct*pt")
FUNCTIONS: tuple[int, ...] = (3, 4)   # read holding registers, read input registers

_PROFILE_KEYS = {"name", "description", "function", "type", "word_order", "max_gap"}
_POINT_KEYS = {"function", "address", "type", "word_order", "scale", "ratio", "min", "max"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Point:
    """Where one quantity lives on the device and how its raw value becomes engineering units."""

    quantity: str
    function: int
    address: int
    rtype: str
    word_order: str
    scale: float
    ratio: str
    lo: float
    hi: float

    @property
    def count(self) -> int:
        return register_count(self.rtype)

    @property
    def end(self) -> int:
        """One past the last register of the point."""
        return self.address + self.count

    def factor(self, ct_ratio: float, pt_ratio: float) -> float:
        """Multiplier from raw register value to engineering units."""
        k = self.scale
        if "ct" in self.ratio:
            k *= ct_ratio
        if "pt" in self.ratio:
            k *= pt_ratio
        return k


@dataclass(frozen=True, kw_only=True, slots=True)
class Profile:
    name: str
    description: str
    source: str                  # the file it was loaded from
    points: tuple[Point, ...]    # sorted by (function, address)
    max_gap: int | None = None   # the device tolerates reading this many unmapped registers

    @property
    def quantities(self) -> tuple[str, ...]:
        return tuple(p.quantity for p in self.points)

    def point(self, quantity: str) -> Point:
        for p in self.points:
            if p.quantity == quantity:
                return p
        raise KeyError(f"profile {self.name!r} has no quantity {quantity!r}; it has {', '.join(self.quantities)}")


def shipped_profiles() -> list[str]:
    """Names of the profiles that come with meterwatch."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def load_profile(name_or_path: str | Path) -> Profile:
    """Load a shipped profile by name (``dtsu666``) or a site profile by path (``/etc/.../x.toml``)."""
    s = str(name_or_path)
    path = Path(s)
    if not (s.endswith(".toml") or "/" in s):
        path = PROFILE_DIR / f"{s}.toml"
        if not path.is_file():
            raise ConfigError([ConfigIssue(file=s, line=None, key="profile",
                                           message=f"no shipped profile {s!r}; shipped: "
                                                   f"{', '.join(shipped_profiles())}; or give a path to a .toml file")])
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigIssue(file=str(path), line=None, key="profile",
                                       message=f"cannot read profile: {exc.strerror or exc}")]) from None
    return parse_profile(text, source=str(path), default_name=path.stem)


def _line_of(lines: list[str], table: str, key: str | None = None) -> int | None:
    """1-based line of ``[table]`` (or of ``key =`` inside it): errors point at the spot to fix."""
    header = re.compile(r"^\s*\[\s*" + re.escape(table).replace(r"\.", r"\s*\.\s*") + r"\s*\]")
    for i, line in enumerate(lines):
        if header.match(line):
            if key is None:
                return i + 1
            for j in range(i + 1, len(lines)):
                if lines[j].lstrip().startswith("["):
                    break
                if re.match(r"^\s*" + re.escape(key) + r"\s*=", lines[j]):
                    return j + 1
            return i + 1
    return None


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def parse_profile(text: str, *, source: str, default_name: str) -> Profile:
    """Parse and validate profile TOML ``text``; raise ``ConfigError`` listing every problem."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"at line (\d+)", str(exc))   # Python < 3.14 has no lineno attribute
        line = getattr(exc, "lineno", None) or (int(m.group(1)) if m else None)
        raise ConfigError([ConfigIssue(file=source, line=line, key="(syntax)", message=str(exc))]) from None
    lines = text.splitlines()
    issues: list[ConfigIssue] = []

    def issue(table: str, key: str | None, message: str) -> None:
        dotted = f"{table}.{key}" if key else table
        issues.append(ConfigIssue(file=source, line=_line_of(lines, table, key), key=dotted, message=message))

    for top in doc:
        if top not in ("profile", "points"):
            issue(top, None, "unknown table; a profile has [profile] and [points.<quantity>] tables")
    head = doc.get("profile", {})
    if not isinstance(head, dict):
        issue("profile", None, "must be a table")
        head = {}
    for k in sorted(set(head) - _PROFILE_KEYS):
        issue("profile", k, f"unknown key; allowed: {', '.join(sorted(_PROFILE_KEYS))}")
    name = head.get("name", default_name)
    if not isinstance(name, str) or not name:
        issue("profile", "name", "must be a non-empty string")
        name = default_name
    description = head.get("description", "")
    max_gap = head.get("max_gap")
    if max_gap is not None and (not isinstance(max_gap, int) or isinstance(max_gap, bool) or not 0 <= max_gap <= 123):
        issue("profile", "max_gap", f"must be an integer 0..123 registers, got {max_gap!r}")
        max_gap = None
    defaults = {k: head[k] for k in ("function", "type", "word_order") if k in head}

    raw_points = doc.get("points", {})
    if not isinstance(raw_points, dict) or not raw_points:
        issue("points", None, "a profile needs at least one [points.<quantity>] table")
        raw_points = {}
    points: list[Point] = []
    for quantity, spec in raw_points.items():
        table = f"points.{quantity}"
        if quantity not in QUANTITIES:
            issue(table, None, f"unknown quantity {quantity!r}; known: {', '.join(QUANTITIES)}")
            continue
        if not isinstance(spec, dict):
            issue(table, None, "must be a table")
            continue
        point = _parse_point(quantity, {**defaults, **spec}, set(spec), partial(issue, table))
        if point is not None:
            points.append(point)

    points.sort(key=lambda p: (p.function, p.address))
    for a, b in itertools.pairwise(points):
        if a.function == b.function and b.address < a.end:
            issue(f"points.{b.quantity}", "address",
                  f"registers {b.address:#06x}..{b.end - 1:#06x} overlap {a.quantity!r} at "
                  f"{a.address:#06x}..{a.end - 1:#06x} (function {a.function})")
    if issues:
        raise ConfigError(issues)
    return Profile(name=name, description=str(description), source=source, points=tuple(points), max_gap=max_gap)


def _parse_point(quantity: str, spec: dict[str, Any], own_keys: set[str],
                 issue: Callable[[str, str], None]) -> Point | None:
    """One ``[points.<quantity>]`` table (with [profile] defaults merged in), or None after reporting."""
    bad = False
    for k in sorted(own_keys - _POINT_KEYS):
        issue(k, f"unknown key; allowed: {', '.join(sorted(_POINT_KEYS))}")
        bad = True
    function = spec.get("function")
    if function not in FUNCTIONS or isinstance(function, bool):
        issue("function", f"must be 3 (holding) or 4 (input registers), got {function!r}"
              + ("" if "function" in spec else " (set it here or in [profile])"))
        bad = True
    rtype = spec.get("type")
    if rtype not in REGISTER_TYPES:
        issue("type", f"must be one of {', '.join(REGISTER_TYPES)}, got {rtype!r}")
        bad = True
    word_order = spec.get("word_order", "big")
    if word_order not in WORD_ORDERS:
        issue("word_order", f"must be 'big' (high word first, ABCD) or 'little' (CDAB), got {word_order!r}")
        bad = True
    address = spec.get("address")
    if not isinstance(address, int) or isinstance(address, bool) or not 0 <= address <= 0xFFFF:
        issue("address", f"must be an integer register address 0..65535 (0x0000..0xFFFF), got {address!r}")
        bad = True
    elif rtype in REGISTER_TYPES and address + register_count(str(rtype)) - 1 > 0xFFFF:
        issue("address", f"{rtype} at {address:#06x} runs past register 0xFFFF")
        bad = True
    scale = spec.get("scale", 1.0)
    if not _is_number(scale) or scale == 0 or scale != scale or abs(scale) == float("inf"):
        issue("scale", f"must be a finite non-zero number, got {scale!r}")
        bad = True
    ratio = spec.get("ratio", "none")
    if ratio not in RATIOS:
        issue("ratio", f"must be one of {', '.join(repr(r) for r in RATIOS)}, got {ratio!r}")
        bad = True
    lo_d, hi_d = DEFAULT_LIMITS.get(quantity, (None, None))
    lo, hi = spec.get("min", lo_d), spec.get("max", hi_d)
    if lo is None or hi is None:
        issue("min", f"{quantity!r} has no default plausible range: set min and max")
        bad = True
    elif not (_is_number(lo) and _is_number(hi)) or not lo < hi:
        issue("min", f"min and max must be numbers with min < max, got min={lo!r} max={hi!r} "
                     f"{UNITS.get(quantity, '')}".rstrip())
        bad = True
    if bad:
        return None
    assert isinstance(function, int) and isinstance(address, int) and lo is not None and hi is not None
    return Point(quantity=quantity, function=function, address=address, rtype=str(rtype),
                 word_order=str(word_order), scale=float(scale), ratio=str(ratio), lo=float(lo), hi=float(hi))
