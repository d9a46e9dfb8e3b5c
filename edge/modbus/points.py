"""One ``[points.<quantity>]`` table of a profile: where the quantity lives and how to decode it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from detect.quantities import QUANTITIES, UNITS
from edge.modbus.codec import BASE_TYPES, BIT_FIELD_BASES, ORDER_ALIASES, ORDERS, bit_field, register_count
from edge.modbus.values import DEFAULT_LIMITS
from tomlconf import Doc, check_keys

__all__ = ["FUNCTIONS", "POINT_KEYS", "RATIOS", "Point", "parse_points"]

RATIOS: tuple[str, ...] = ("none", "ct", "pt", "ct*pt")
FUNCTIONS: tuple[int, ...] = (3, 4)   # read holding registers, read input registers
POINT_KEYS = ("function", "address", "type", "word_order", "bits", "scale", "ratio", "min", "max")
_WIDTH = {"uint16": 16, "uint32": 32, "uint64": 64}


@dataclass(frozen=True, kw_only=True, slots=True)
class Point:
    """Where one quantity lives on the device and how its raw value becomes engineering units."""

    quantity: str
    function: int
    address: int
    rtype: str                   # codec type, bit fields included: "float32", "uint16[4..7]"
    word_order: str              # "ABCD", "CDAB", "BADC" or "DCBA"
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

    def shares_registers_with(self, other: Point) -> bool:
        """Two bit fields of the same register(s) with disjoint bits may overlap; nothing else may."""
        a, b = bit_field(self.rtype), bit_field(other.rtype)
        if a is None or b is None or (self.function, self.address, a[0]) != (other.function, other.address, b[0]):
            return False
        return a[2] < b[1] or b[2] < a[1]

    def factor(self, ct_ratio: float, pt_ratio: float) -> float:
        """Multiplier from raw register value to engineering units."""
        k = self.scale
        if "ct" in self.ratio:
            k *= ct_ratio
        if "pt" in self.ratio:
            k *= pt_ratio
        return k


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def parse_points(doc: Doc, raw_points: Any, defaults: dict[str, Any]) -> list[Point]:
    """Every valid point of the ``[points.*]`` tables (``defaults``: the ``[profile]`` keys)."""
    if not isinstance(raw_points, dict) or not raw_points:
        doc.error("points", "a profile needs at least one [points.<quantity>] table")
        return []
    points = []
    for quantity, spec in raw_points.items():
        key = f"points.{quantity}"
        if quantity not in QUANTITIES:
            doc.error(key, f"unknown quantity {quantity!r}; known: {', '.join(QUANTITIES)}")
        elif not isinstance(spec, dict):
            doc.error(key, "must be a table")
        else:
            point = _point(doc, quantity, key, {**defaults, **spec}, spec)
            if point is not None:
                points.append(point)
    return points


def _point(doc: Doc, quantity: str, key: str, spec: dict[str, Any], own: dict[str, Any]) -> Point | None:
    """One point from its table merged over the profile defaults, or None after reporting."""
    before = len(doc.issues)
    check_keys(doc, own, key, POINT_KEYS)
    function: Any = spec.get("function")
    if function not in FUNCTIONS or not _is_int(function):
        doc.error(f"{key}.function", f"must be 3 (holding) or 4 (input registers), got {function!r}"
                  + ("" if "function" in spec else " (set it here or in [profile])"))
    rtype = _rtype(doc, key, spec)
    order = spec.get("word_order", "ABCD")
    if ORDER_ALIASES.get(order, order) not in ORDERS:
        doc.error(f"{key}.word_order", f"must be one of {', '.join(ORDERS)} (big = ABCD, little = CDAB), "
                  f"got {order!r}")
    address: Any = spec.get("address")
    if not _is_int(address) or not 0 <= address <= 0xFFFF:
        doc.error(f"{key}.address", f"must be an integer register address 0..65535 (0x0000..0xFFFF), got {address!r}")
    elif rtype is not None and address + register_count(rtype) - 1 > 0xFFFF:
        doc.error(f"{key}.address", f"{rtype} at {address:#06x} runs past register 0xFFFF")
    scale = spec.get("scale", 1.0)
    if not _is_number(scale) or scale == 0 or not math.isfinite(scale):
        doc.error(f"{key}.scale", f"must be a finite non-zero number, got {scale!r}")
    ratio = spec.get("ratio", "none")
    if ratio not in RATIOS:
        doc.error(f"{key}.ratio", f"must be one of {', '.join(repr(r) for r in RATIOS)}, got {ratio!r}")
    limits = _limits(doc, quantity, key, spec, rtype, scale)
    if len(doc.issues) > before or rtype is None or limits is None:
        return None
    return Point(quantity=quantity, function=int(function), address=int(address), rtype=rtype,
                 word_order=ORDER_ALIASES.get(order, order), scale=float(scale), ratio=str(ratio),
                 lo=limits[0], hi=limits[1])


def _rtype(doc: Doc, key: str, spec: dict[str, Any]) -> str | None:
    """The codec type of a point: ``type``, narrowed to a bit field by ``bits`` (an int or [first, last])."""
    rtype = spec.get("type")
    if rtype not in BASE_TYPES:
        doc.error(f"{key}.type", f"must be one of {', '.join(BASE_TYPES)}, got {rtype!r}")
        return None
    if "bits" not in spec:
        return str(rtype)
    bits = spec["bits"]
    span = [bits, bits] if _is_int(bits) else bits
    if rtype not in BIT_FIELD_BASES:
        doc.error(f"{key}.bits", f"bit fields need an unsigned type ({', '.join(BIT_FIELD_BASES)}), got {rtype!r}")
        return None
    if not (isinstance(span, list) and len(span) == 2 and all(_is_int(b) for b in span)
            and 0 <= span[0] <= span[1] < _WIDTH[rtype]):
        doc.error(f"{key}.bits", f"must be a bit number or [first, last] within 0..{_WIDTH[rtype] - 1} of "
                  f"{rtype}, got {bits!r}")
        return None
    return f"{rtype}[{span[0]}]" if span[0] == span[1] else f"{rtype}[{span[0]}..{span[1]}]"


def _limits(doc: Doc, quantity: str, key: str, spec: dict[str, Any], rtype: str | None,
            scale: Any) -> tuple[float, float] | None:
    """The plausible range: ``min``/``max``, else the quantity's default, else a bit field's own range."""
    lo_d, hi_d = DEFAULT_LIMITS.get(quantity, (None, None))
    field = bit_field(rtype) if rtype else None
    if lo_d is None and field is not None and _is_number(scale):
        span = float((1 << (field[2] - field[1] + 1)) - 1) * scale
        lo_d, hi_d = min(0.0, span), max(0.0, span)
    lo, hi = spec.get("min", lo_d), spec.get("max", hi_d)
    if lo is None or hi is None:
        doc.error(f"{key}.min", f"{quantity!r} has no default plausible range: set min and max")
        return None
    if not (_is_number(lo) and _is_number(hi)) or not lo < hi:
        doc.error(f"{key}.min", f"min and max must be numbers with min < max, got min={lo!r} max={hi!r} "
                  f"{UNITS.get(quantity, '')}".rstrip())
        return None
    return float(lo), float(hi)
