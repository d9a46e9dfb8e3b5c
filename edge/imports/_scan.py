"""The compiled scanner: UTF-8 bytes of delimited rows in, one reading per (row, value column) out.

One kernel serves every layout: *long* (a quantity column and one value column), *wide* and *daily* (one
value column per quantity). Each output row has a status (``OK`` or the first problem found), its 1-based
line, the column the problem is in and the byte range of the line, so every error can be reported by file,
line and column. Timestamps and devices repeated from the row before are not parsed again.
"""

from __future__ import annotations

import math

import numpy as np

from detect.kernels import kernel
from edge.imports import _parse as P

__all__ = ["BAD_COLUMNS", "BAD_TS", "BAD_VALUE", "OK", "SLOW_TS", "SLOW_VALUE", "SPEC", "TS_AMBIGUOUS",
           "TS_NONEXISTENT", "UNKNOWN_DEVICE", "UNKNOWN_QUANTITY", "scan"]

OK = 0
BAD_COLUMNS = 1
UNKNOWN_DEVICE = 2
UNKNOWN_QUANTITY = 3
BAD_VALUE = 4
BAD_TS = 5
SLOW_VALUE = 6
SLOW_TS = 7
TS_AMBIGUOUS = 8
TS_NONEXISTENT = 9

# spec vector layout
SPEC = ("delim", "thousands", "ts_col", "dev_col", "q_col", "max_col", "ncols", "time_mode", "empty_is_error")


@kernel
def split(buf, pos, end, delim, fs, fe):
    """Field bounds of the line buf[pos:end] into fs/fe (a quoted field may hold the delimiter). Returns the
    number of fields, or -1 when a field beyond fs.size is not empty (trailing empty columns are fine)."""
    nf = 0
    i = pos
    while True:
        start = i
        if i < end and buf[i] == 34:
            i += 1
            while i < end:
                if buf[i] == 34:
                    if i + 1 < end and buf[i + 1] == 34:
                        i += 2
                        continue
                    break
                i += 1
        while i < end and buf[i] != delim:
            i += 1
        if nf < fs.shape[0]:
            fs[nf] = start
            fe[nf] = i
        elif i > start and not _blank(buf, start, i):
            return -1
        nf += 1
        if i >= end:
            return nf
        i += 1


@kernel
def _blank(buf, a, b):
    """Only spaces, quotes and delimiters (commas, tabs, semicolons) between a and b."""
    for k in range(a, b):
        c = buf[k]
        if c != 32 and c != 34 and c != 44 and c != 9 and c != 59:
            return False
    return True


@kernel
def field(buf, a, b):
    """Strip surrounding spaces and one pair of double quotes (and spaces inside them)."""
    while a < b and buf[a] == 32:
        a += 1
    while b > a and buf[b - 1] == 32:
        b -= 1
    if b - a >= 2 and buf[a] == 34 and buf[b - 1] == 34:
        a += 1
        b -= 1
        while a < b and buf[a] == 32:
            a += 1
        while b > a and buf[b - 1] == 32:
            b -= 1
    return a, b


@kernel
def _same(buf, a, b, pa, pb):
    """buf[a:b] == buf[pa:pb] (exports repeat the timestamp and device of the row before)."""
    if b - a != pb - pa:
        return False
    for i in range(b - a):  # noqa: SIM110 - a generator does not compile in nopython mode
        if buf[a + i] != buf[pa + i]:
            return False
    return True


@kernel
def _ts_status(st):
    if st == P.OK:
        return OK
    if st == P.SLOW:
        return SLOW_TS
    if st == P.AMBIGUOUS:
        return TS_AMBIGUOUS
    if st == P.NONEXISTENT:
        return TS_NONEXISTENT
    return BAD_TS


@kernel
def _value(buf, a, b, thousands):
    """(value, status) of a value field: OK, BAD_VALUE or SLOW_VALUE; non-finite is BAD_VALUE."""
    v, st = P.number(buf, a, b, thousands)
    if st == P.SLOW:
        return v, SLOW_VALUE
    if st != P.OK or not math.isfinite(v):
        return v, BAD_VALUE
    return v, OK


@kernel
def scan(buf, first_line, spec, vcols, vq, dev_h, dev_i, q_h, q_i, tz_utc, tz_off, day_shift,
         out_dev, out_q, out_val, out_ts, out_status, out_line, out_col, out_start, out_end):
    """Parse every complete line of buf into the output columns; returns the number of outputs written.

    Blank lines write nothing; so do empty value cells of a wide row (a missed read). A row whose timestamp,
    device or column count is bad writes one output with that status (column = the bad one).
    """
    n = buf.shape[0]
    delim, thousands, c_ts, c_dev, c_q, max_col = spec[0], spec[1], spec[2], spec[3], spec[4], spec[5]
    ncols, mode, empty_err = spec[6], spec[7], spec[8]
    fs = np.empty(max(ncols, max_col), np.int64)
    fe = np.empty(max(ncols, max_col), np.int64)
    out = 0
    line = first_line
    pos = 0
    pta = ptb = pda = pdb = 0                    # previous ts and device fields
    pts = np.nan
    pts_status = BAD_TS
    pdev = -1
    while pos < n:
        end = pos
        while end < n and buf[end] != 10:
            end += 1
        nxt = end + 1
        if end > pos and buf[end - 1] == 13:
            end -= 1
        nf = split(buf, pos, end, delim, fs, fe) if end > pos else 0
        if nf != 0 and not (nf > c_ts and fe[c_ts] == fs[c_ts] and _blank(buf, pos, end)):   # blank, ",,,,"
            if nf < max_col:
                out = _emit(out, BAD_COLUMNS, -1, -1, np.nan, np.nan, line, nf, pos, end,
                            out_dev, out_q, out_val, out_ts, out_status, out_line, out_col, out_start, out_end)
            else:
                a, b = field(buf, fs[c_ts], fe[c_ts])
                if not _same(buf, a, b, pta, ptb):
                    ts, st = P.timestamp(buf, a, b, mode, tz_utc, tz_off, day_shift)
                    pts, pts_status = ts, _ts_status(st)
                    pta, ptb = a, b
                a, b = field(buf, fs[c_dev], fe[c_dev])
                if not _same(buf, a, b, pda, pdb):
                    pdev = P.lookup(dev_h, dev_i, P.fnv1a(buf, a, b, False))
                    pda, pdb = a, b
                if pts_status != OK and pts_status != SLOW_TS:
                    out = _emit(out, pts_status, pdev, -1, np.nan, pts, line, c_ts, pos, end,
                                out_dev, out_q, out_val, out_ts, out_status, out_line, out_col, out_start, out_end)
                elif pdev < 0:
                    out = _emit(out, UNKNOWN_DEVICE, -1, -1, np.nan, pts, line, c_dev, pos, end,
                                out_dev, out_q, out_val, out_ts, out_status, out_line, out_col, out_start, out_end)
                else:
                    out = _values(buf, fs, fe, vcols, vq, c_q, q_h, q_i, thousands, empty_err, pdev, pts,
                                  pts_status, line, pos, end, out, out_dev, out_q, out_val, out_ts, out_status,
                                  out_line, out_col, out_start, out_end)
        line += 1
        pos = nxt
    return out


@kernel
def _values(buf, fs, fe, vcols, vq, c_q, q_h, q_i, thousands, empty_err, dev, ts, ts_status, line, pos, end,
            out, out_dev, out_q, out_val, out_ts, out_status, out_line, out_col, out_start, out_end):
    """The readings of one row whose timestamp and device are known."""
    q_row = -1
    if c_q >= 0:
        a, b = field(buf, fs[c_q], fe[c_q])
        q_row = P.lookup(q_h, q_i, P.fnv1a(buf, a, b, True))
        if q_row < 0:
            return _emit(out, UNKNOWN_QUANTITY, dev, -1, np.nan, ts, line, c_q, pos, end,
                         out_dev, out_q, out_val, out_ts, out_status, out_line, out_col, out_start, out_end)
    for j in range(vcols.shape[0]):
        col = vcols[j]
        a, b = field(buf, fs[col], fe[col])
        if a >= b and not empty_err:
            continue
        v, st = _value(buf, a, b, thousands)
        if st == OK and ts_status == SLOW_TS:
            st = SLOW_TS
        q = q_row if q_row >= 0 else vq[j]
        out = _emit(out, st, dev, q, v, ts, line, col, pos, end,
                    out_dev, out_q, out_val, out_ts, out_status, out_line, out_col, out_start, out_end)
    return out


@kernel
def _emit(k, status, dev, q, val, ts, line, col, start, end,
          out_dev, out_q, out_val, out_ts, out_status, out_line, out_col, out_start, out_end):
    out_dev[k] = dev
    out_q[k] = q
    out_val[k] = val
    out_ts[k] = ts
    out_status[k] = status
    out_line[k] = line
    out_col[k] = col
    out_start[k] = start
    out_end[k] = end
    return k + 1

