"""numba scanner for the long readings CSV ``ts,device,quantity,value`` (DESIGN §6), bytes in, columns out.

A Python loop costs about 1 µs per row; a 500-meter × 90-day export has tens of millions of rows, so the
scan runs compiled. Device and quantity names are matched by a 64-bit FNV-1a hash looked up in the sorted
hashes of the known names (the known names are checked to be collision-free; an unknown name that collides
with a known one has a probability of about n/2^64). Numbers are parsed exactly like ``float()`` when they
have at most 15 significant digits (integer mantissa / exact power of ten = one rounding); longer ones are
marked ``SLOW`` and parsed by Python.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from detect.kernels import kernel

__all__ = ["BAD_COLUMNS", "BAD_TS", "BAD_VALUE", "OK", "SLOW_TS", "SLOW_VALUE", "UNKNOWN_DEVICE",
           "UNKNOWN_QUANTITY", "fnv1a", "name_table", "scan"]

OK = 0
BAD_COLUMNS = 1
UNKNOWN_DEVICE = 2
UNKNOWN_QUANTITY = 3
BAD_VALUE = 4
BAD_TS = 5
SLOW_VALUE = 6
SLOW_TS = 7

_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)
_POW10 = np.array([10.0**k for k in range(23)])
_CUM_DAYS = np.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334], dtype=np.int64)


@kernel
def fnv1a(buf, a, b):
    """FNV-1a 64-bit hash of buf[a:b]."""
    h = _FNV_OFFSET
    for i in range(a, b):
        h = (h ^ np.uint64(buf[i])) * _FNV_PRIME
    return h


def name_table(names: dict[str, int]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32]]:
    """Sorted hashes of the known names and the index of each; ValueError on a hash collision."""
    hashes = np.array([fnv1a(np.frombuffer(n.encode(), dtype=np.uint8), 0, len(n.encode())) for n in names],
                      dtype=np.uint64)
    idx = np.array(list(names.values()), dtype=np.int32)
    order = np.argsort(hashes)
    hs = hashes[order]
    if hs.size > 1 and np.any(hs[1:] == hs[:-1]):
        raise ValueError("two device/quantity names hash alike; rename one")
    return np.ascontiguousarray(hs), np.ascontiguousarray(idx[order])


@kernel
def _lookup(hashes, idx, h):
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
def _number(buf, a, b):
    """(value, status) of buf[a:b] as a decimal number; status OK, BAD_VALUE or SLOW_VALUE."""
    if a >= b:
        return np.nan, BAD_VALUE
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
                    return np.nan, SLOW_VALUE
                mant = mant * 10 + (c - 48)
                if seen_dot:
                    frac += 1
        elif c == 46 and not seen_dot:
            seen_dot = True
        elif c == 101 or c == 69:  # e E
            break
        else:
            return np.nan, BAD_VALUE
        i += 1
    if not any_digit:
        return np.nan, BAD_VALUE
    exp = 0
    if i < b:  # exponent
        i += 1
        eneg = False
        if i < b and (buf[i] == 45 or buf[i] == 43):
            eneg = buf[i] == 45
            i += 1
        if i >= b:
            return np.nan, BAD_VALUE
        while i < b:
            c = buf[i]
            if not 48 <= c <= 57:
                return np.nan, BAD_VALUE
            exp = exp * 10 + (c - 48)
            if exp > 400:
                return np.nan, SLOW_VALUE
            i += 1
        if eneg:
            exp = -exp
    e10 = exp - frac
    v = float(mant)
    if mant == 0:
        v = 0.0
    elif 0 <= e10 <= 22:
        v = v * _POW10[e10]
    elif -22 <= e10 < 0:
        v = v / _POW10[-e10]
    else:
        return np.nan, SLOW_VALUE
    return (-v if neg else v), OK


@kernel
def _int(buf, a, n):
    v = 0
    for i in range(a, a + n):
        c = buf[i]
        if not 48 <= c <= 57:
            return -1
        v = v * 10 + (c - 48)
    return v


@kernel
def _rfc3339(buf, a, b):
    """Epoch seconds of ``YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)``; status OK or BAD_TS (no zone = BAD_TS)."""
    if b - a < 20 or buf[a + 4] != 45 or buf[a + 7] != 45 or buf[a + 13] != 58 or buf[a + 16] != 58:
        return np.nan, BAD_TS
    sep = buf[a + 10]
    if sep != 84 and sep != 116 and sep != 32:  # T t space
        return np.nan, BAD_TS
    y = _int(buf, a, 4)
    mo = _int(buf, a + 5, 2)
    d = _int(buf, a + 8, 2)
    hh = _int(buf, a + 11, 2)
    mi = _int(buf, a + 14, 2)
    ss = _int(buf, a + 17, 2)
    if y < 1970 or mo < 1 or mo > 12 or d < 1 or hh < 0 or hh > 23 or mi < 0 or mi > 59 or ss < 0 or ss > 60:
        return np.nan, BAD_TS
    leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
    mdays = 29 if (mo == 2 and leap) else (28 if mo == 2 else (30 if (mo == 4 or mo == 6 or mo == 9 or mo == 11) else 31))
    if d > mdays:
        return np.nan, BAD_TS
    i = a + 19
    frac = 0.0
    if i < b and buf[i] == 46:
        j = i + 1
        while j < b and 48 <= buf[j] <= 57:
            j += 1
        if j == i + 1:
            return np.nan, BAD_TS
        fv, st = _number(buf, i, j)
        if st != OK:
            return np.nan, BAD_TS
        frac = fv
        i = j
    if i >= b:
        return np.nan, BAD_TS
    off = 0
    z = buf[i]
    if (z == 90 or z == 122) and i + 1 == b:  # Z z
        off = 0
    elif (z == 43 or z == 45) and b - i == 6 and buf[i + 3] == 58:
        oh = _int(buf, i + 1, 2)
        om = _int(buf, i + 4, 2)
        if oh < 0 or om < 0 or oh > 23 or om > 59:
            return np.nan, BAD_TS
        off = (oh * 60 + om) * 60
        if z == 45:
            off = -off
    else:
        return np.nan, BAD_TS
    yy = y - 1970
    # days since 1970-01-01: whole years plus leap days before this year, then the month and day
    days = yy * 365 + (y - 1 - 1968) // 4 - (y - 1 - 1900) // 100 + (y - 1 - 1600) // 400
    days += _CUM_DAYS[mo - 1] + (1 if (mo > 2 and leap) else 0) + d - 1
    return float(days * 86400 + hh * 3600 + mi * 60 + ss - off) + frac, OK


@kernel
def _field(buf, a, b):
    """Strip surrounding spaces and one pair of double quotes."""
    while a < b and buf[a] == 32:
        a += 1
    while b > a and buf[b - 1] == 32:
        b -= 1
    if b - a >= 2 and buf[a] == 34 and buf[b - 1] == 34:
        a += 1
        b -= 1
    return a, b


@kernel
def _same(buf, a, b, pa, pb):
    """buf[a:b] == buf[pa:pb] (exports repeat the timestamp and device of the row before)."""
    if b - a != pb - pa:
        return False
    for i in range(b - a):  # noqa: SIM110 - a generator in all() does not compile in nopython mode
        if buf[a + i] != buf[pa + i]:
            return False
    return True


@kernel
def scan(buf, first_line, dev_hashes, dev_idx, q_hashes, q_idx,
         out_dev, out_q, out_val, out_ts, out_status, out_line, out_start, out_end):
    """Parse every complete line of buf (ending in \\n, or the last line) into the output columns.

    Returns the number of rows written (blank lines write none). Each row gets a status (OK or the first
    problem found), its 1-based line number and its byte range in buf, so errors can be reported by line.
    """
    n = buf.shape[0]
    row = 0
    line = first_line
    pos = 0
    # previous row's ts and device fields and what they parsed to
    pta = 0
    ptb = 0
    pts = np.nan
    pts_status = BAD_TS
    pda = 0
    pdb = 0
    pdev = -1
    while pos < n:
        end = pos
        while end < n and buf[end] != 10:
            end += 1
        nxt = end + 1
        if end > pos and buf[end - 1] == 13:
            end -= 1
        if end > pos:
            out_line[row] = line
            out_start[row] = pos
            out_end[row] = end
            out_dev[row] = -1
            out_q[row] = -1
            out_val[row] = np.nan
            out_ts[row] = np.nan
            c1 = -1
            c2 = -1
            c3 = -1
            ncomma = 0
            for i in range(pos, end):
                if buf[i] == 44:
                    ncomma += 1
                    if ncomma == 1:
                        c1 = i
                    elif ncomma == 2:
                        c2 = i
                    elif ncomma == 3:
                        c3 = i
            status = OK
            if ncomma != 3:
                status = BAD_COLUMNS
            else:
                a, b = _field(buf, pos, c1)
                if _same(buf, a, b, pta, ptb):
                    ts = pts
                    status = pts_status
                else:
                    is_epoch = b - a < 20 or buf[a + 4] != 45
                    if is_epoch:
                        ts, st = _number(buf, a, b)
                        status = SLOW_TS if st == SLOW_VALUE else (BAD_TS if st != OK else OK)
                    else:
                        ts, status = _rfc3339(buf, a, b)
                    pta = a
                    ptb = b
                    pts = ts
                    pts_status = status
                out_ts[row] = ts
                if status in (OK, SLOW_TS):
                    a, b = _field(buf, c1 + 1, c2)
                    if _same(buf, a, b, pda, pdb):
                        d = pdev
                    else:
                        d = _lookup(dev_hashes, dev_idx, fnv1a(buf, a, b))
                        pda = a
                        pdb = b
                        pdev = d
                    out_dev[row] = d
                    if d < 0:
                        status = UNKNOWN_DEVICE
                if status in (OK, SLOW_TS):
                    a, b = _field(buf, c2 + 1, c3)
                    q = _lookup(q_hashes, q_idx, fnv1a(buf, a, b))
                    out_q[row] = q
                    if q < 0:
                        status = UNKNOWN_QUANTITY
                if status in (OK, SLOW_TS):
                    a, b = _field(buf, c3 + 1, end)
                    v, st = _number(buf, a, b)
                    out_val[row] = v
                    if st == BAD_VALUE:
                        status = BAD_VALUE
                    elif st == SLOW_VALUE and status == OK:
                        status = SLOW_VALUE
                    elif st == OK and not math.isfinite(v):
                        status = BAD_VALUE
            out_status[row] = status
            row += 1
        line += 1
        pos = nxt
    return row
