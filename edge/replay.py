"""Stream an export of readings into time-ordered columnar batches for ``Engine.ingest``.

The rows come from the import layer (``edge.imports``): any supported layout (long ``ts,device,quantity,value``,
wide, daily frozen readings), encoding, time format and unit, with its mapping. Rows may be out of order by up
to ``reorder_s``. Bad rows are counted by reason and named by file, line and column; they never stop the
replay. Rows older than an already emitted batch are still emitted (in the next batch) and counted as ``late``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from detect.area import Area
from edge.imports import ExportError, ImportOptions, ImportStats, Readings

__all__ = ["HEADER", "ReadingBatch", "ReplayError", "ReplayStats", "read_batches"]

HEADER = "ts,device,quantity,value"

ReplayError = ExportError


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
class ReplayStats(ImportStats):
    """What the reader saw, plus the replay's own counts."""

    late: int = 0
    batches: int = 0


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
                 chunk_bytes: int = 8 << 20, stats: ReplayStats | None = None, progress: IO[str] | None = None,
                 options: ImportOptions | None = None, readings: Readings | None = None) -> Iterator[ReadingBatch]:
    """Yield the readings of ``path`` in time windows of ``batch_s`` seconds (aligned to the epoch).

    A window is emitted once a reading ``reorder_s`` later than its end has been seen (or at the end of the
    file). ``stats`` (optional) collects counts and error lines; ``progress`` (e.g. ``sys.stderr``) shows a
    progress bar; ``options`` carry the mapping and the time zone (``readings``: an export already opened with
    them). Raises ``ReplayError`` (``edge.imports.ExportError``) only when the file as a whole cannot be read.
    """
    if batch_s <= 0 or reorder_s < 0:
        raise ValueError(f"batch_s must be > 0 and reorder_s >= 0, got {batch_s}, {reorder_s}")
    st = stats if stats is not None else ReplayStats()
    if readings is None:
        opts = options or ImportOptions()
        opts.chunk_bytes = chunk_bytes
        readings = Readings(path, area, opts, st)
    elif readings.stats is not st:
        st.absorb(readings.stats)
        readings.stats = st
    bar = _Progress(readings.source.total_bytes, progress)
    batcher = _Batcher(batch_s, reorder_s, st)
    for dev, q, val, ts in readings.chunks():
        yield from batcher.add(dev, q, val, ts)
        bar.update(st.bytes_read, st.rows)
    yield from batcher.finish()
    bar.update(readings.source.total_bytes, st.rows, final=True)


def _main() -> None:  # pragma: no cover - manual smoke run: python -m edge.replay FILE N_METERS
    area = Area.simple(id="A", rated_kva=400, meter_ids=[f"m{i}" for i in range(int(sys.argv[2]))])
    stats = ReplayStats()
    n = sum(len(b) for b in read_batches(sys.argv[1], area, stats=stats, progress=sys.stderr))
    print(n, stats.errors)


if __name__ == "__main__":  # pragma: no cover
    _main()
