"""Device profiles: which register holds which quantity, as TOML data files.

A profile maps quantities of the shared vocabulary (``detect.quantities``) to a function code,
address, register type (``edge.modbus.codec``: 16/32/64-bit integers and floats, BCD, bit fields),
byte/word order (ABCD, CDAB, BADC, DCBA), scale and the CT/PT ratios that apply, so that
``raw × scale × ratios`` is the value in engineering units (V, A, kW, kvar, kWh, Hz).
Shipped profiles live in ``edge/modbus/profiles/<name>.toml``; a site adds its own file and names it
by path. Every problem of a file is reported at load, with file, line and key (see docs/modbus.md).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from edge.errors import ConfigError, ConfigIssue
from edge.modbus.points import Point, parse_points
from tomlconf import Doc, check_keys, parse, read_text

__all__ = ["PROFILE_DIR", "Point", "Profile", "load_profile", "parse_profile", "shipped_profiles"]

PROFILE_DIR = Path(__file__).with_name("profiles")
_PROFILE_KEYS = ("name", "description", "function", "type", "word_order", "max_gap")


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
    return parse_profile(read_text(path, what="profile"), source=str(path), default_name=path.stem)


def parse_profile(text: str, *, source: str, default_name: str) -> Profile:
    """Parse and validate profile TOML ``text``; raise ``ConfigError`` listing every problem."""
    doc = parse(text, source)
    for top in doc.data:
        if top not in ("profile", "points"):
            doc.error(top, "unknown table; a profile has [profile] and [points.<quantity>] tables")
    head = doc.data.get("profile", {})
    if not isinstance(head, dict):
        doc.error("profile", "must be a table")
        head = {}
    check_keys(doc, head, "profile", _PROFILE_KEYS)
    name = head.get("name", default_name)
    if not isinstance(name, str) or not name:
        doc.error("profile.name", "must be a non-empty string")
        name = default_name
    max_gap = head.get("max_gap")
    if max_gap is not None and (not isinstance(max_gap, int) or isinstance(max_gap, bool) or not 0 <= max_gap <= 123):
        doc.error("profile.max_gap", f"must be an integer 0..123 registers, got {max_gap!r}")
        max_gap = None
    defaults = {k: head[k] for k in ("function", "type", "word_order") if k in head}
    points = sorted(parse_points(doc, doc.data.get("points", {}), defaults), key=lambda p: (p.function, p.address))
    _check_overlaps(doc, points)
    doc.raise_if_errors()
    return Profile(name=name, description=str(head.get("description", "")), source=source, points=tuple(points),
                   max_gap=max_gap)


def _check_overlaps(doc: Doc, points: list[Point]) -> None:
    for a, b in itertools.pairwise(points):
        if a.function == b.function and b.address < a.end and not a.shares_registers_with(b):
            doc.error(f"points.{b.quantity}.address",
                      f"registers {b.address:#06x}..{b.end - 1:#06x} overlap {a.quantity!r} at "
                      f"{a.address:#06x}..{a.end - 1:#06x} (function {a.function})")
