"""Stream the long readings CSV of DESIGN §6 into time-ordered columnar batches for ``Engine.ingest``.

Input: a header ``ts,device,quantity,value`` then one reading per line; ``ts`` is RFC 3339 with a zone
(``2026-01-01T00:15:00Z``, ``...+08:00``) or epoch seconds; ``device`` is ``master`` or a meter id of the
area; ``quantity`` a name of ``detect.quantities``. Rows may be out of order by up to ``reorder_s``.

Bad rows (wrong column count, unknown device or quantity, unparsable or non-finite value, a timestamp without
zone) are counted by reason and reported with their line number; they never stop the replay. Rows older than
an already emitted batch are still emitted (in the next batch) and counted as ``late``.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from detect.area import Area
from detect.quantities import QUANTITY_CODE
from edge import _csvscan as cs
from edge.errors import MeterwatchError

__all__ = ["HEADER", "ReadingBatch", "ReplayError", "ReplayStats", "read_batches"]

HEADER = "ts,device,quantity,value"

_REASON = {
    cs.BAD_COLUMNS: "bad_columns", cs.UNKNOWN_DEVICE: "unknown_device", cs.UNKNOWN_QUANTITY: "unknown_quantity",
    cs.BAD_VALUE: "bad_value", cs.BAD_TS: "bad_ts",
}


class ReplayError(MeterwatchError):
    """The file as a whole cannot be replayed (missing, or not the readings CSV)."""


@dataclass(frozen=True, kw_only=True)
class ReadingBatch:
    """Readings of one time window ``[t_start, t_end)`` sorted by ts (late rows may be older)."""

    device: npt.NDArray[np.int32]     # Area.device_index: meters 0..N-1, master N
    quantity: npt.NDArray[np.int16]   # detect.quantities code
    value: npt.NDArray[np.float64]
    ts: npt.NDArray[np.float64]       # epoch s UTC
    t_start: float
    t_end: float

    def __len__(self) -> int:
        return int(self.ts.size)


@dataclass(kw_only=True)
class ReplayStats:
    """What the reader saw. ``messages`` holds the first ``max_messages`` error lines."""

    rows: int = 0
    accepted: int = 0
    late: int = 0
    batches: int = 0
    bytes_read: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    messages: list[str] = field(default_factory=list)
    max_messages: int = 100

    @property
    def rejected(self) -> int:
        return sum(self.errors.values())

    def error(self, reason: str, message: str) -> None:
        self.errors[reason] += 1
        if len(self.messages) < self.max_messages:
            self.messages.append(message)


class _Progress:
    """A one-line progress bar on a stream (stderr), redrawn at most 5 times a second."""

    def __init__(self, total_bytes: int, stream: IO[str] | None) -> None:
        self.total = max(total_bytes, 1)
        self.stream = stream
        self.t0 = time.monotonic()
        self.last = 0.0

    def update(self, done_bytes: int, rows: int, *, final: bool = False) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        if not final and now - self.last < 0.2:
            return
        self.last = now
        frac = min(done_bytes / self.total, 1.0)
        bar = "#" * int(frac * 30)
        rate = rows / max(now - self.t0, 1e-9)
        self.stream.write(f"\rreplay [{bar:<30}] {frac * 100:5.1f} % {rows:,} rows {rate:,.0f} rows/s")
        if final:
            self.stream.write("\n")
        self.stream.flush()


def _slow_row(text: str) -> tuple[float, float] | str:
    """(ts, value) of a line the compiled scanner left to Python, or the reason it is bad."""
    parts = [p.strip().strip('"') for p in text.split(",")]
    try:
        ts = float(parts[0])
    except ValueError:
        try:
            dt = datetime.fromisoformat(parts[0].replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return "bad_ts"
        if dt.tzinfo is None:
            return "bad_ts"
        ts = dt.astimezone(timezone.utc).timestamp()
    try:
        value = float(parts[3])
    except ValueError:
        return "bad_value"
    if not (np.isfinite(value) and np.isfinite(ts)):
        return "bad_value" if not np.isfinite(value) else "bad_ts"
    return ts, value


_WHY = {
    "bad_columns": "expected 4 columns ts,device,quantity,value",
    "unknown_device": "unknown device {device!r} (not 'master' nor a meter of area {area})",
    "unknown_quantity": "unknown quantity {quantity!r}",
    "bad_value": "value {value!r} is not a finite number",
    "bad_ts": "timestamp {ts!r} is neither epoch seconds nor RFC 3339 with a zone",
}


def _message(reason: str, line_no: int, text: str, area: str) -> str:
    parts = ([*text.split(","), "", "", "", ""])[:4]
    why = _WHY[reason].format(ts=parts[0], device=parts[1].strip(), quantity=parts[2].strip(),
                              value=parts[3].strip(), area=area)
    return f"line {line_no}: {why}: {text[:120]!r}"


class _Batcher:
    """Holds parsed rows until the time window they belong to can no longer receive in-order rows."""

    def __init__(self, batch_s: float, reorder_s: float, stats: ReplayStats) -> None:
        self.batch_s = batch_s
        self.reorder_s = reorder_s
        self.stats = stats
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.emitted_until: float | None = None
        self.watermark = -np.inf

    def add(self, dev: np.ndarray, q: np.ndarray, val: np.ndarray, ts: np.ndarray) -> Iterator[ReadingBatch]:
        if ts.size == 0:
            return
        if self.emitted_until is not None:
            self.stats.late += int(np.count_nonzero(ts < self.emitted_until))
        self.parts.append((dev, q, val, ts))
        self.watermark = max(self.watermark, float(ts.max()))
        yield from self._emit(self.watermark - self.reorder_s)

    def finish(self) -> Iterator[ReadingBatch]:
        yield from self._emit(np.inf)

    def _emit(self, safe_until: float) -> Iterator[ReadingBatch]:
        if not self.parts:
            return
        dev, q, val, ts = (np.concatenate(c) for c in zip(*self.parts, strict=True))
        order = np.argsort(ts, kind="stable")
        dev, q, val, ts = dev[order], q[order], val[order], ts[order]
        start = 0
        while start < ts.size:
            w0 = np.floor(ts[start] / self.batch_s) * self.batch_s
            if self.emitted_until is not None and w0 < self.emitted_until:
                w0 = self.emitted_until - self.batch_s  # late rows join the next window
            w1 = max(w0 + self.batch_s, (self.emitted_until or -np.inf) + self.batch_s)
            if w1 > safe_until:
                break
            stop = int(np.searchsorted(ts, w1, side="left"))
            self.emitted_until = w1
            self.stats.batches += 1
            yield ReadingBatch(device=dev[start:stop], quantity=q[start:stop], value=val[start:stop],
                               ts=ts[start:stop], t_start=w1 - self.batch_s, t_end=w1)
            start = stop
        self.parts = [(dev[start:], q[start:], val[start:], ts[start:])] if start < ts.size else []


def read_batches(path: str | Path, area: Area, *, batch_s: float = 900.0, reorder_s: float = 300.0,
                 chunk_bytes: int = 8 << 20, stats: ReplayStats | None = None,
                 progress: IO[str] | None = None) -> Iterator[ReadingBatch]:
    """Yield the readings of ``path`` in time windows of ``batch_s`` seconds (aligned to the epoch).

    A window is emitted once a reading ``reorder_s`` later than its end has been seen (or at the end of the
    file). ``stats`` (optional) collects counts and error lines; ``progress`` (e.g. ``sys.stderr``) shows a
    progress bar. Raises ``ReplayError`` only for a missing file or a wrong header.
    """
    if batch_s <= 0 or reorder_s < 0:
        raise ValueError(f"batch_s must be > 0 and reorder_s >= 0, got {batch_s}, {reorder_s}")
    st = stats if stats is not None else ReplayStats()
    names = {mid: i for i, mid in enumerate(area.meter_ids)}
    names[area.master_id] = area.master_index
    dev_h, dev_i = cs.name_table(names)
    q_h, q_i = cs.name_table(QUANTITY_CODE)
    p = Path(path)
    try:
        fh = p.open("rb")
    except OSError as exc:
        raise ReplayError(f"{path}: cannot open readings: {exc.strerror}") from None
    with fh:
        total = p.stat().st_size
        header = fh.readline()
        head = header.decode("utf-8", "replace").lstrip("\ufeff").strip().replace(" ", "")
        if head != HEADER:
            raise ReplayError(f"{path}: line 1 must be the header {HEADER!r}, found {head[:80]!r}")
        bar = _Progress(total, progress)
        batcher = _Batcher(batch_s, reorder_s, st)
        done = len(header)
        line = 2
        rest = b""
        while True:
            block = fh.read(chunk_bytes)
            data = rest + block
            if block:
                cut = data.rfind(b"\n") + 1
                data, rest = data[:cut], data[cut:]
                if not data:
                    continue
            elif not data:
                break
            yield from batcher.add(*_parse(data, line, dev_h, dev_i, q_h, q_i, st, area.id))
            line += data.count(b"\n")
            done += len(data)
            st.bytes_read = done
            bar.update(done, st.rows)
            if not block:
                break
        yield from batcher.finish()
        bar.update(done, st.rows, final=True)


def _parse(data: bytes, first_line: int, dev_h: np.ndarray, dev_i: np.ndarray, q_h: np.ndarray,
           q_i: np.ndarray, st: ReplayStats, area_id: str) -> tuple[np.ndarray, ...]:
    buf = np.frombuffer(data, dtype=np.uint8)
    cap = data.count(b"\n") + 1
    dev = np.empty(cap, np.int32)
    q = np.empty(cap, np.int16)
    val = np.empty(cap, np.float64)
    ts = np.empty(cap, np.float64)
    status = np.empty(cap, np.int8)
    line = np.empty(cap, np.int64)
    a = np.empty(cap, np.int64)
    b = np.empty(cap, np.int64)
    n = cs.scan(buf, first_line, dev_h, dev_i, q_h, q_i, dev, q, val, ts, status, line, a, b)
    dev, q, val, ts, status = dev[:n], q[:n], val[:n], ts[:n], status[:n]
    st.rows += n
    ok = status == cs.OK
    for r in np.flatnonzero(~ok):
        text = data[a[r]:b[r]].decode("utf-8", "replace")
        code = int(status[r])
        if code in (cs.SLOW_TS, cs.SLOW_VALUE):
            got = _slow_row(text)
            if isinstance(got, tuple):
                ts[r], val[r] = got
                ok[r] = True
                continue
            reason = got
        else:
            reason = _REASON[code]
        st.error(reason, _message(reason, int(line[r]), text, area_id))
    st.accepted += int(ok.sum())
    if ok.all():
        return dev, q, val, ts
    return dev[ok], q[ok], val[ok], ts[ok]


def _main() -> None:  # pragma: no cover - manual smoke run: python -m edge.replay FILE N_METERS
    area = Area.simple(id="A", rated_kva=400, meter_ids=[f"m{i}" for i in range(int(sys.argv[2]))])
    stats = ReplayStats()
    n = sum(len(b) for b in read_batches(sys.argv[1], area, stats=stats, progress=sys.stderr))
    print(n, stats.errors)


if __name__ == "__main__":  # pragma: no cover
    _main()
