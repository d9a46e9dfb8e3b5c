"""Compiled field parsers of the import scanner: names by hash, decimal numbers, timestamps.

A Python loop costs about 1 µs per field; a 500-meter × 90-day export has tens of millions of fields, so
these run compiled (``detect.kernels.kernel``). Names are matched by a 64-bit FNV-1a hash looked up in the
sorted hashes of the known names (checked collision-free; an unknown name that collides with a known one
has a probability of about n/2^64). Numbers with at most 15 significant digits are parsed exactly like
``float()`` (integer mantissa and an exact power of ten: one rounding); longer ones are marked ``SLOW`` and
parsed by Python. Timestamps: ``Y-M-D[ T]h:mm[:ss[.f]][Z|±hh[:mm]]`` (``-``, ``/``, ``.`` or 年月日 between
date parts, one- or two-digit month, day and hour), date only, epoch seconds or milliseconds, compact
``YYYYMMDD[hhmm[ss]]`` and Excel serial days; a time without a zone is local, turned into UTC through a
zone table (``edge.imports.zones``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from detect.kernels import kernel

__all__ = ["fnv1a", "name_table"]

OK = 0
BAD = 1
SLOW = 2
AMBIGUOUS = 3      # a local time that occurs twice (daylight saving time ends)
NONEXISTENT = 4    # a local time skipped when daylight saving time starts

TIME_TEXT = 0
TIME_EPOCH_S = 1
TIME_EPOCH_MS = 2
TIME_COMPACT = 3
TIME_EXCEL = 4

_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)
_POW10 = np.array([10.0**k for k in range(23)])
_CUM_DAYS = np.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334], dtype=np.int64)
_EPOCH_S_RANGE = (1e8, 1e10)        # 1973 .. 2286: anything else is not epoch seconds of a meter reading
_EPOCH_MS_RANGE = (1e11, 1e13)


@kernel
def fnv1a(buf, a, b, fold):
    """FNV-1a 64-bit hash of buf[a:b]; ``fold``: ASCII letters hashed as lower case."""
    h = _FNV_OFFSET
    for i in range(a, b):
        c = buf[i]
        if fold and 65 <= c <= 90:
            c += 32
        h = (h ^ np.uint64(c)) * _FNV_PRIME
    return h


def name_table(names: dict[str, int], *, fold: bool = False) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32]]:
    """Sorted hashes of the known names (UTF-8) and the index of each; ``ValueError`` naming both names when
    two different names hash alike. With ``fold`` the names are matched case-insensitively (ASCII)."""
    seen: dict[int, str] = {}
    hashes = []
    idx = []
    for name, value in names.items():
        raw = np.frombuffer(name.encode(), dtype=np.uint8)
        h = int(fnv1a(raw, 0, raw.size, fold))
        if h in seen:
            if (seen[h].lower() if fold else seen[h]) == (name.lower() if fold else name):
                continue
            raise ValueError(f"names {seen[h]!r} and {name!r} hash alike; rename one")
        seen[h] = name
        hashes.append(h)
        idx.append(value)
    hs = np.array(hashes, dtype=np.uint64)
    order = np.argsort(hs)
    return np.ascontiguousarray(hs[order]), np.ascontiguousarray(np.array(idx, dtype=np.int32)[order])


@kernel
def lookup(hashes, idx, h):
    """Binary search in uint64 (np.searchsorted would compare through float64 and lose bits)."""
    lo = 0
    hi = hashes.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if hashes[mid] < h:
            lo = mid + 1
        else:
            hi = mid
    if lo < hashes.shape[0] and hashes[lo] == h:
        return idx[lo]
    return -1


@kernel
def _thousands_ok(buf, i, b):
    """A thousands separator at buf[i] is followed by exactly three digits (so ``1,5`` is no number)."""
    for k in range(i + 1, i + 4):
        if k >= b or not 48 <= buf[k] <= 57:
            return False
    return i + 4 >= b or not 48 <= buf[i + 4] <= 57


@kernel
def number(buf, a, b, thousands):
    """(value, status) of buf[a:b] as a decimal number; status OK, BAD or SLOW. ``thousands`` (a byte, 0 for
    none) may separate groups of three digits before the point."""
    if a >= b:
        return np.nan, BAD
    i = a
    neg = False
    if buf[i] == 45 or buf[i] == 43:  # - +
        neg = buf[i] == 45
        i += 1
    mant = 0
    digits = 0
    frac = 0
    seen_dot = False
    any_digit = False
    while i < b:
        c = buf[i]
        if 48 <= c <= 57:
            any_digit = True
            if mant == 0 and c == 48:
                if seen_dot:
                    frac += 1
            else:
                digits += 1
                if digits > 15:
                    return np.nan, SLOW
                mant = mant * 10 + (c - 48)
                if seen_dot:
                    frac += 1
        elif c == 46 and not seen_dot:
            seen_dot = True
        elif c == thousands and thousands != 0 and any_digit and not seen_dot and _thousands_ok(buf, i, b):
            pass
        elif c == 101 or c == 69:  # e E
            break
        else:
            return np.nan, BAD
        i += 1
    if not any_digit:
        return np.nan, BAD
    exp = 0
    if i < b:  # exponent
        i += 1
        eneg = False
        if i < b and (buf[i] == 45 or buf[i] == 43):
            eneg = buf[i] == 45
            i += 1
        if i >= b:
            return np.nan, BAD
        while i < b:
            c = buf[i]
            if not 48 <= c <= 57:
                return np.nan, BAD
            exp = exp * 10 + (c - 48)
            if exp > 400:
                return np.nan, SLOW
            i += 1
        if eneg:
            exp = -exp
    return _scale(mant, exp - frac, neg)


@kernel
def _scale(mant, e10, neg):
    v = float(mant)
    if mant == 0:
        v = 0.0
    elif 0 <= e10 <= 22:
        v = v * _POW10[e10]
    elif -22 <= e10 < 0:
        v = v / _POW10[-e10]
    else:
        return np.nan, SLOW
    return (-v if neg else v), OK


@kernel
def _digits(buf, i, b, most):
    """(value, next index) of 1..most digits at buf[i:]; value -1 when there is none."""
    v = 0
    j = i
    while j < b and j - i < most and 48 <= buf[j] <= 57:
        v = v * 10 + (buf[j] - 48)
        j += 1
    if j == i:
        return -1, i
    return v, j


@kernel
def _days(y, mo, d):
    """Days since 1970-01-01 of a valid civil date, or -1 when the date does not exist."""
    if y < 1970 or mo < 1 or mo > 12 or d < 1:
        return -1
    leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
    mdays = 29 if (mo == 2 and leap) else (28 if mo == 2 else (30 if (mo == 4 or mo == 6 or mo == 9 or mo == 11) else 31))
    if d > mdays:
        return -1
    days = (y - 1970) * 365 + (y - 1 - 1968) // 4 - (y - 1 - 1900) // 100 + (y - 1 - 1600) // 400
    return days + _CUM_DAYS[mo - 1] + (1 if (mo > 2 and leap) else 0) + d - 1


@kernel
def _date_sep(buf, i, b):
    """Index after a date separator at buf[i] (- / . or one of 年 月 in UTF-8), or -1."""
    if i >= b:
        return -1
    c = buf[i]
    if c == 45 or c == 47 or c == 46:
        return i + 1
    if i + 2 < b and ((c == 0xE5 and buf[i + 1] == 0xB9 and buf[i + 2] == 0xB4) or
                      (c == 0xE6 and buf[i + 1] == 0x9C and buf[i + 2] == 0x88)):
        return i + 3
    return -1


@kernel
def _clock(buf, i, b):
    """(seconds into the day, next index) of ``h:mm[:ss[.f]]`` at buf[i:], seconds -1 when malformed."""
    hh, i = _digits(buf, i, b, 2)
    if hh < 0 or hh > 24 or i >= b or buf[i] != 58:
        return -1.0, i
    mi, j = _digits(buf, i + 1, b, 2)
    if mi < 0 or mi > 59 or j != i + 3:
        return -1.0, i
    i = j
    ss = 0
    frac = 0.0
    if i < b and buf[i] == 58:
        ss, j = _digits(buf, i + 1, b, 2)
        if ss < 0 or ss > 60 or j != i + 3:
            return -1.0, i
        i = j
        if i < b and buf[i] == 46:
            j = i + 1
            while j < b and 48 <= buf[j] <= 57:
                j += 1
            if j == i + 1:
                return -1.0, i
            fv, st = number(buf, i, j, 0)
            if st != OK:
                return -1.0, i
            frac = fv
            i = j
    if hh == 24 and (mi != 0 or ss != 0 or frac != 0.0):
        return -1.0, i
    return hh * 3600.0 + mi * 60.0 + ss + frac, i


@kernel
def _zone(buf, i, b):
    """(offset seconds, status) of the zone suffix buf[i:b]: Z, ±hh, ±hhmm or ±hh:mm."""
    z = buf[i]
    if (z == 90 or z == 122) and i + 1 == b:
        return 0, OK
    if z != 43 and z != 45:
        return 0, BAD
    oh, j = _digits(buf, i + 1, b, 2)
    if oh < 0 or j != i + 3 or oh > 23:
        return 0, BAD
    om = 0
    if j < b:
        if buf[j] == 58:
            j += 1
        om, k = _digits(buf, j, b, 2)
        if om < 0 or om > 59 or k != j + 2 or k != b:
            return 0, BAD
    off = (oh * 60 + om) * 60
    return (-off if z == 45 else off), OK


@kernel
def text_time(buf, a, b):
    """(seconds, zoned, date_only, status) of a calendar timestamp in buf[a:b]. ``seconds`` is UTC when
    ``zoned``, otherwise the local wall time counted as if it were UTC."""
    y, i = _digits(buf, a, b, 4)
    if i != a + 4:
        return np.nan, False, False, BAD
    i = _date_sep(buf, i, b)
    if i < 0:
        return np.nan, False, False, BAD
    mo, i = _digits(buf, i, b, 2)
    i = _date_sep(buf, i, b) if mo >= 0 else -1
    if i < 0:
        return np.nan, False, False, BAD
    d, i = _digits(buf, i, b, 2)
    if d < 0:
        return np.nan, False, False, BAD
    if i + 2 < b and buf[i] == 0xE6 and buf[i + 1] == 0x97 and buf[i + 2] == 0xA5:   # 日
        i += 3
    days = _days(y, mo, d)
    if days < 0:
        return np.nan, False, False, BAD
    if i == b:
        return days * 86400.0, False, True, OK
    if buf[i] != 84 and buf[i] != 116 and buf[i] != 32:  # T t space
        return np.nan, False, False, BAD
    i += 1
    while i < b and buf[i] == 32:
        i += 1
    secs, i = _clock(buf, i, b)
    if secs < 0:
        return np.nan, False, False, BAD
    while i < b and buf[i] == 32:
        i += 1
    if i == b:
        return days * 86400.0 + secs, False, False, OK
    off, st = _zone(buf, i, b)
    if st != OK:
        return np.nan, False, False, BAD
    return days * 86400.0 + secs - off, True, False, OK


@kernel
def compact_time(buf, a, b):
    """(local seconds, date_only, status) of ``YYYYMMDD``, ``YYYYMMDDhhmm`` or ``YYYYMMDDhhmmss``."""
    n = b - a
    if n != 8 and n != 12 and n != 14:
        return np.nan, False, BAD
    y, _ = _digits(buf, a, b, 4)
    mo, _ = _digits(buf, a + 4, b, 2)
    d, _ = _digits(buf, a + 6, b, 2)
    days = _days(y, mo, d)
    if days < 0:
        return np.nan, False, BAD
    secs = 0
    if n >= 12:
        hh, _ = _digits(buf, a + 8, b, 2)
        mi, _ = _digits(buf, a + 10, b, 2)
        ss = 0
        if n == 14:
            ss, _ = _digits(buf, a + 12, b, 2)
        if hh < 0 or hh > 23 or mi < 0 or mi > 59 or ss < 0 or ss > 60:
            return np.nan, False, BAD
        secs = hh * 3600 + mi * 60 + ss
    return days * 86400.0 + secs, n == 8, OK


@kernel
def offset_at(tz_utc, tz_off, utc):
    """UTC offset (s) at a UTC instant: tz_off[k] holds from tz_utc[k-1] (k = 0: before every transition)."""
    return tz_off[np.searchsorted(tz_utc, utc, side="right")]


@kernel
def localize(tz_utc, tz_off, local):
    """(UTC seconds, status) of a local wall time; AMBIGUOUS or NONEXISTENT around DST transitions."""
    if tz_utc.shape[0] == 0:
        return local - tz_off[0], OK
    lo_off = tz_off.min()
    hi_off = tz_off.max()
    oa = offset_at(tz_utc, tz_off, local - hi_off)
    ob = offset_at(tz_utc, tz_off, local - lo_off)
    va = offset_at(tz_utc, tz_off, local - oa) == oa
    vb = offset_at(tz_utc, tz_off, local - ob) == ob
    if oa == ob or (va and not vb):
        return (local - oa, OK) if va else (np.nan, NONEXISTENT)
    if vb and not va:
        return local - ob, OK
    if va and vb:
        return np.nan, AMBIGUOUS
    return np.nan, NONEXISTENT


@kernel
def timestamp(buf, a, b, mode, tz_utc, tz_off, day_shift):
    """(UTC seconds, status) of the timestamp field buf[a:b] in time ``mode``. A local time goes through the
    zone table; a date alone is local midnight plus ``day_shift`` seconds."""
    if mode in (TIME_EPOCH_S, TIME_EPOCH_MS, TIME_EXCEL):
        v, st = number(buf, a, b, 0)
        if st != OK:
            return np.nan, st
        if mode == TIME_EXCEL:
            return localize(tz_utc, tz_off, (v - 25569.0) * 86400.0)
        lo, hi = _EPOCH_S_RANGE if mode == TIME_EPOCH_S else _EPOCH_MS_RANGE
        if not lo <= v < hi:
            return np.nan, BAD
        return (v if mode == TIME_EPOCH_S else v / 1000.0), OK
    if mode == TIME_COMPACT:
        local, date_only, st = compact_time(buf, a, b)
    else:
        secs, zoned, date_only, st = text_time(buf, a, b)
        if st == BAD:                      # a text column may still hold epoch seconds on some rows
            v, vst = number(buf, a, b, 0)
            if vst == OK and _EPOCH_S_RANGE[0] <= v < _EPOCH_S_RANGE[1]:
                return v, OK
            if vst == SLOW:
                return np.nan, SLOW
        if st == OK and zoned:
            return secs, OK
        local = secs
    if st != OK:
        return np.nan, st
    if date_only:
        local += day_shift
    return localize(tz_utc, tz_off, local)
