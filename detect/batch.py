"""Columnar reading batches: what ``Engine.ingest`` takes.

A batch is four parallel arrays: device index (meters ``0..N-1``, master ``N``, see ``detect.area``),
quantity code (index in ``detect.quantities.QUANTITIES``), value (engineering units, NaN = not read)
and event time (epoch seconds UTC). detect never imports edge: producers hand plain sequences to
``ReadingBatch.from_records``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from detect.area import Area
from detect.quantities import QUANTITIES, QUANTITY_CODE

__all__ = ["ReadingBatch"]


@dataclass(frozen=True, kw_only=True, eq=False)
class ReadingBatch:
    device: npt.NDArray[np.int32]
    quantity: npt.NDArray[np.int16]
    value: npt.NDArray[np.float64]
    ts: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.device.shape[0])

    @classmethod
    def from_columns(cls, device: npt.ArrayLike, quantity: npt.ArrayLike, value: npt.ArrayLike,
                     ts: npt.ArrayLike, *, n_devices: int | None = None) -> ReadingBatch:
        """Build a batch from four equally long array-likes; checks lengths, codes and timestamps."""
        d = np.ascontiguousarray(device, dtype=np.int32)
        q = np.ascontiguousarray(quantity, dtype=np.int16)
        v = np.ascontiguousarray(value, dtype=np.float64)
        t = np.ascontiguousarray(ts, dtype=np.float64)
        n = d.shape[0]
        for name, arr in (("quantity", q), ("value", v), ("ts", t)):
            if arr.ndim != 1 or arr.shape[0] != n:
                raise ValueError(f"reading batch: column {name} has shape {arr.shape}, expected ({n},)")
        if n:
            if q.min() < 0 or q.max() >= len(QUANTITIES):
                bad = int(q[(q < 0) | (q >= len(QUANTITIES))][0])
                raise ValueError(f"reading batch: quantity code {bad} outside 0..{len(QUANTITIES) - 1}")
            if d.min() < 0 or (n_devices is not None and d.max() >= n_devices):
                bad = int(d[(d < 0) | (d >= (n_devices or 2**31))][0])
                raise ValueError(f"reading batch: device index {bad} outside 0..{(n_devices or 0) - 1}")
            if not np.isfinite(t).all():
                raise ValueError("reading batch: timestamps must be finite epoch seconds")
        return cls(device=d, quantity=q, value=v, ts=t)

    @classmethod
    def from_records(cls, device_names: Sequence[str], quantity_names: Sequence[str],
                     values: Sequence[float], ts: Sequence[float], area: Area) -> ReadingBatch:
        """Build a batch from names (``"master"`` or meter ids, quantity names); unknown names raise
        ``KeyError`` naming the area and the device or quantity."""
        index = [area.device_index(name) for name in device_names]
        codes = []
        for name in quantity_names:
            try:
                codes.append(QUANTITY_CODE[name])
            except KeyError:
                raise KeyError(f"area {area.id}: unknown quantity {name!r}") from None
        return cls.from_columns(index, codes, values, ts, n_devices=area.n_meters + 1)

    @classmethod
    def empty(cls) -> ReadingBatch:
        return cls.from_columns([], [], [], [])

    @classmethod
    def concat(cls, batches: Sequence[ReadingBatch]) -> ReadingBatch:
        if not batches:
            return cls.empty()
        return cls(device=np.concatenate([b.device for b in batches]),
                   quantity=np.concatenate([b.quantity for b in batches]),
                   value=np.concatenate([b.value for b in batches]),
                   ts=np.concatenate([b.ts for b in batches]))

    def take(self, mask_or_index: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> ReadingBatch:
        return ReadingBatch(device=self.device[mask_or_index], quantity=self.quantity[mask_or_index],
                            value=self.value[mask_or_index], ts=self.ts[mask_or_index])
