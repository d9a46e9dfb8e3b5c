"""DL/T 645 data field encodings (dlt645.md §2): packed BCD low byte first, sign in the top bit of the
last byte, BCD timestamps sent lowest field first, bit-field words, and binary vendor fields.

A format string names the encoding:

- ``XXXXXX.XX`` style: BCD digits, two per byte, scale from the digits after the point;
- ``YYMMDDhhmmss``, ``YYMMDDhhmm``, ``YYMMDDWW``, ``hhmmss``, ``MMDDhhmm``: BCD timestamps;
- ``bits``: an unsigned binary word (status words), ``bin``: a binary integer (vendor fields);
- ``hex``: opaque bytes, shown as hex;
- ``record``: named fields back to back (event records), each ``name:FORMAT`` (``start:YYMMDDhhmmss``,
  ``count_a:XXXXXX``, ``operator:hex4``, ``e_fwd_before:XXXXXX.XX``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import time as dtime

from edge.dlt645.codec import DecodeError

__all__ = ["FieldFormat", "Value", "decode_field", "encode_field", "parse_format", "parse_record"]

_TIME_FIELDS = {"YY", "MM", "DD", "hh", "mm", "ss", "WW"}


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldFormat:
    kind: str            # "bcd" | "time" | "bits" | "bin" | "hex" | "record"
    pattern: str
    nbytes: int
    scale: float = 1.0
    signed: bool = False
    parts: tuple[tuple[str, FieldFormat], ...] = ()   # record fields in wire order

    @property
    def fields(self) -> tuple[str, ...]:
        """Time fields in nameplate order (``("YY", "MM", ...)``) for kind "time"."""
        return tuple(self.pattern[k:k + 2] for k in range(0, len(self.pattern), 2))


def parse_record(fields: Sequence[str], *, nbytes: int | None = None) -> FieldFormat:
    """A record format from ``name:FORMAT`` specs (``hexN`` = N opaque bytes, ``-`` suffix = signed)."""
    parts = []
    for spec in fields:
        name, _, fmt = str(spec).partition(":")
        if not name or not fmt:
            raise ValueError(f"record field {spec!r} is not name:FORMAT")
        signed = fmt.endswith("-")
        fmt = fmt.rstrip("-")
        if fmt.startswith("hex") and fmt[3:].isdigit():
            parts.append((name, parse_format("hex", nbytes=int(fmt[3:]))))
        else:
            parts.append((name, parse_format(fmt, signed=signed)))
    size = sum(p.nbytes for _, p in parts)
    if not parts or (nbytes is not None and nbytes != size):
        raise ValueError(f"record of {size} bytes does not match bytes = {nbytes}")
    return FieldFormat(kind="record", pattern="record", nbytes=size, parts=tuple(parts))


def parse_format(pattern: str, *, nbytes: int | None = None, signed: bool = False,
                 scale: float | None = None) -> FieldFormat:
    """Check a format string and work out its size and scale; ``ValueError`` says what is wrong."""
    if pattern in ("bits", "bin", "hex"):
        if not nbytes or nbytes < 1:
            raise ValueError(f"format {pattern!r} needs bytes >= 1")
        return FieldFormat(kind=pattern, pattern=pattern, nbytes=nbytes, signed=signed and pattern == "bin",
                           scale=1.0 if scale is None else scale)
    if set(pattern) <= {"X", "."}:
        digits = pattern.replace(".", "")
        if pattern.count(".") > 1 or not digits or len(digits) % 2:
            raise ValueError(f"BCD format {pattern!r} needs an even number of X and at most one point")
        decimals = len(pattern) - pattern.index(".") - 1 if "." in pattern else 0
        size = len(digits) // 2
        if nbytes is not None and nbytes != size:
            raise ValueError(f"format {pattern!r} is {size} bytes, not {nbytes}")
        implied = 10.0 ** -decimals
        if scale is not None and abs(scale - implied) > 1e-12:
            raise ValueError(f"format {pattern!r} has scale {implied:g}, not {scale:g}")
        return FieldFormat(kind="bcd", pattern=pattern, nbytes=size, scale=implied, signed=signed)
    fields = [pattern[k:k + 2] for k in range(0, len(pattern), 2)]
    if len(pattern) % 2 or not fields or any(f not in _TIME_FIELDS for f in fields):
        raise ValueError(f"unknown format {pattern!r}")
    if nbytes is not None and nbytes != len(fields):
        raise ValueError(f"format {pattern!r} is {len(fields)} bytes, not {nbytes}")
    return FieldFormat(kind="time", pattern=pattern, nbytes=len(fields))


def _bcd_digits(data: bytes, what: str) -> int:
    value = 0
    for b in reversed(data):
        hi, lo = b >> 4, b & 0x0F
        if hi > 9 or lo > 9:
            raise DecodeError("bcd", f"{what}: byte {b:02X} is not BCD", data)
        value = value * 100 + hi * 10 + lo
    return value


Value = float | int | datetime | dtime | bytes | None | dict[str, "Value"]


def decode_field(fmt: FieldFormat, data: bytes, what: str = "value") -> Value:
    """Decode one field (exactly ``fmt.nbytes`` bytes, wire order). Raises ``DecodeError``."""
    if len(data) != fmt.nbytes:
        raise DecodeError("length", f"{what}: {len(data)} bytes, format {fmt.pattern} needs {fmt.nbytes}", data)
    if fmt.kind == "record":
        out: dict[str, Value] = {}
        k = 0
        for name, part in fmt.parts:
            out[name] = decode_field(part, data[k:k + part.nbytes], f"{what}.{name}")
            k += part.nbytes
        return out
    if fmt.kind == "hex":
        return bytes(data)
    if fmt.kind in ("bits", "bin"):
        word = int.from_bytes(data, "little", signed=fmt.signed)
        return word if fmt.kind == "bits" else word * fmt.scale
    if fmt.kind == "bcd":
        negative = fmt.signed and bool(data[-1] & 0x80)
        if negative:
            data = data[:-1] + bytes([data[-1] & 0x7F])
        v = _bcd_digits(data, what) * fmt.scale
        return -v if negative else v
    if not any(data) and "MM" in fmt.fields:
        return None  # an all-zero date is "not yet": the end of an event that is still going on
    parts = dict(zip(reversed(fmt.fields), (_bcd_digits(bytes([b]), what) for b in data), strict=True))
    try:
        if "WW" in parts and parts["WW"] > 6:
            raise ValueError(f"weekday {parts['WW']}")
        if "YY" not in parts and "MM" not in parts:
            return dtime(parts.get("hh", 0), parts.get("mm", 0), parts.get("ss", 0))
        return datetime(2000 + parts.get("YY", 0), parts.get("MM", 1), parts.get("DD", 1),
                        parts.get("hh", 0), parts.get("mm", 0), parts.get("ss", 0))
    except ValueError as exc:
        raise DecodeError("time", f"{what}: {exc}", data) from None


def encode_field(fmt: FieldFormat, value: Value) -> bytes:
    """Encode one field in wire order. Raises ``ValueError`` when the value does not fit the format."""
    if fmt.kind == "record":
        if not isinstance(value, Mapping):
            raise ValueError(f"record field needs a mapping of {[n for n, _ in fmt.parts]}")
        return b"".join(encode_field(part, value[name]) for name, part in fmt.parts)
    if isinstance(value, Mapping):
        raise ValueError(f"{fmt.pattern} field needs a single value, got a mapping")
    if value is None and fmt.kind == "time":
        return bytes(fmt.nbytes)
    if fmt.kind == "hex":
        if not isinstance(value, bytes | bytearray) or len(value) != fmt.nbytes:
            raise ValueError(f"hex field needs {fmt.nbytes} bytes")
        return bytes(value)
    if fmt.kind in ("bits", "bin"):
        if not isinstance(value, int | float):
            raise ValueError(f"{fmt.pattern} field needs a number, got {value!r}")
        n = round(value / fmt.scale)
        return n.to_bytes(fmt.nbytes, "little", signed=fmt.signed)
    if fmt.kind == "bcd":
        if not isinstance(value, int | float):
            raise ValueError(f"BCD field needs a number, got {value!r}")
        n = round(abs(value) / fmt.scale)
        digits = f"{n:0{fmt.nbytes * 2}d}"
        limit = 8 if fmt.signed else 10  # the sign takes the top bit of the top digit
        if len(digits) > fmt.nbytes * 2 or int(digits[0]) >= limit:
            raise ValueError(f"{value} does not fit {fmt.pattern}{' (signed)' if fmt.signed else ''}")
        if value < 0 and not fmt.signed:
            raise ValueError(f"{value} is negative but {fmt.pattern} is unsigned")
        out = bytearray(bytes.fromhex(digits)[::-1])
        if value < 0 and n:
            out[-1] |= 0x80
        return bytes(out)
    if not isinstance(value, datetime | dtime):
        raise ValueError(f"time field needs a datetime, got {value!r}")
    parts = {"hh": value.hour, "mm": value.minute, "ss": value.second}
    if isinstance(value, datetime):
        parts.update(YY=value.year % 100, MM=value.month, DD=value.day, WW=(value.weekday() + 1) % 7)
    elif set(fmt.fields) - set(parts):
        raise ValueError(f"format {fmt.pattern} needs a date, got {value!r}")
    if "YY" in parts and not 2000 <= value.year <= 2099:  # type: ignore[union-attr]
        raise ValueError(f"year of {value} is outside 2000..2099")
    return bytes(((v // 10) << 4) | (v % 10) for v in (parts[f] for f in reversed(fmt.fields)))
