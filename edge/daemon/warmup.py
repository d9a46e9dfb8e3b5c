"""Kernel warm-up before READY=1."""

from __future__ import annotations

import time

__all__ = ["warm_up"]


def warm_up() -> float:
    """Compile (or load from the numba cache) every kernel the engine runs before READY=1: a tiny
    engine gets every quantity from the master and from meters over a few intervals. (Feeding only
    some quantities left e.g. the meter-voltage kernel to compile on the first meter round, after
    READY, stalling that step.) Returns the seconds it took."""
    import numpy as np

    from detect import Engine, ReadingBatch
    from detect.area import Area
    from detect.params import Params
    from detect.quantities import QUANTITY_CODE

    t0 = time.perf_counter()
    # rated_kva a float as the config loader gives it: numba compiles a separate signature for an int.
    area = Area.simple(id="warmup", rated_kva=100.0, meter_ids=["a", "b", "c"])
    eng = Engine(area, Params())
    names = sorted(QUANTITY_CODE, key=QUANTITY_CODE.__getitem__)
    codes = np.array([QUANTITY_CODE[n] for n in names])
    devices = np.arange(area.n_meters + 1)
    base = 1_700_000_000.0
    for k in range(4):
        ts = base + 900.0 * k
        per_q = np.array([230.0 if n.startswith("u_") else 50.0 if n == "f" else 0.9 if n == "pf"
                          else 0.0 if n.startswith(("sw", "evt_")) else 10.0 + k for n in names])
        eng.ingest(ReadingBatch.from_columns(np.repeat(devices, len(codes)), np.tile(codes, len(devices)),
                                             np.tile(per_q, len(devices)), np.full(len(codes) * len(devices), ts),
                                             n_devices=area.n_meters + 1))
        eng.advance(ts + 1000.0)
    eng.snapshot()
    return time.perf_counter() - t0
