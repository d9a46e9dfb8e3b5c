"""An ambient temperature series for replay (``meterwatch replay --ambient weather.csv``): what a weather
service exports for areas whose devices have no sensor.

Format: a header ``ts,t_amb`` then one sample per line; ``ts`` is epoch seconds or RFC 3339 with a zone,
``t_amb`` in °C. Lines may come in any order; two samples at one time, a value that is not a number or
outside -60 … 60 °C, or a timestamp without a zone is an error naming the file and line (the whole file
is refused: a weather series with holes in it is better fixed than half used).
"""

from __future__ import annotations

import csv
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from detect.context import AmbientSeries
from edge.errors import MeterwatchError

__all__ = ["AmbientFileError", "load_ambient"]

HEADER = ("ts", "t_amb")


class AmbientFileError(MeterwatchError):
    """The ambient file cannot be used; the message names the file and every bad line (up to 20)."""


def _ts(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        if dt.tzinfo is None:
            raise ValueError("no zone") from None
        return dt.astimezone(timezone.utc).timestamp()


def load_ambient(path: str | Path) -> AmbientSeries:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise AmbientFileError(f"{p}: cannot read the ambient series: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise AmbientFileError(f"{p}: not UTF-8 (byte {exc.start})") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or tuple(c.strip() for c in rows[0]) != HEADER:
        raise AmbientFileError(f"{p}: line 1 must be the header {','.join(HEADER)}")
    ts, val, bad = [], [], []
    for n, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        try:
            if len(row) != 2:
                raise ValueError(f"expected 2 columns, got {len(row)}")
            t, v = _ts(row[0].strip()), float(row[1])
            if not (math.isfinite(t) and math.isfinite(v) and -60.0 <= v <= 60.0):
                raise ValueError(f"{row[1].strip()!r} °C is not a plausible ambient (-60 … 60)")
        except ValueError as exc:
            bad.append(f"{p}:{n}: {exc}: {','.join(row)[:80]!r}")
            continue
        ts.append(t)
        val.append(v)
    order = np.argsort(ts, kind="stable")
    t_arr, v_arr = np.asarray(ts, np.float64)[order], np.asarray(val, np.float64)[order]
    dup = np.flatnonzero(np.diff(t_arr) == 0)
    bad += [f"{p}: two samples at {t_arr[i]:.0f}" for i in dup[:5]]
    if bad:
        raise AmbientFileError("\n".join([f"{p}: {len(bad)} bad line(s)", *bad[:20]]))
    if not len(t_arr):
        raise AmbientFileError(f"{p}: no samples")
    return AmbientSeries(t_arr, v_arr)
