"""Reference of ``detect.kernels.cadence.learn``: the same rules, device by device, with the gaps of each
device's reads found with numpy first (same signature, state updated in place)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

MISS_FACTOR = 1.5
MISS_RUN = 3


def learn(dev: npt.NDArray[np.int64], ts: npt.NDArray[np.float64], group: npt.NDArray[np.float64],
          last: npt.NDArray[np.float64], est: npt.NDArray[np.float64], n: npt.NDArray[np.int64],
          ring: npt.NDArray[np.float64], miss: npt.NDArray[np.int64], default: npt.NDArray[np.float64]) -> None:
    w = ring.shape[1]
    for d in np.unique(dev).tolist():
        times = ts[dev == d]
        if np.isnan(last[d]):
            last[d], times = times[0], times[1:]
        reads = []
        ref = last[d]
        for t in times.tolist():          # a reading within ``group`` of the read before is part of it
            if t - ref > group[d]:
                reads.append(t - ref)
                ref = t
        last[d] = ref
        for gap in reads:
            late = n[d] > 0 and gap > MISS_FACTOR * est[d]
            miss[d] = miss[d] + 1 if late else 0
            ring[d, n[d] % w] = est[d] if late and miss[d] < MISS_RUN else gap
            n[d] += 1
            seen = ring[d, : min(n[d], w)].max()
            est[d] = seen if n[d] >= w else max(seen, default[d])
