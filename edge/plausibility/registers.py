"""Energy registers (``e_fwd``, ``e_rev``) against their baseline: steps bounded by physics, no running
backwards, and a way back for a replaced meter.

Per device and register the baseline is the last accepted reading. A new reading is accepted when,
for the elapsed time ``dt`` since the baseline, ``-0.011 kWh ≤ step ≤ rate × dt + 0.02 kWh`` (the
rate from ``Limits.energy_kw``; the tolerance below zero is the last digit's rounding, as the engine's).
A register that wraps at the rollover (from ≥ 90 % of it to ≤ 10 %) within the bound is a step like
any other: the engine counts it as rollover. A reading older than the baseline must lie between the
baseline minus the bound and the baseline (it is accepted, the baseline stays).

A rejected reading becomes a *candidate*. When ``rebaseline_after`` rejected readings in a row are
consistent with each other (each a plausible step from the previous candidate), the register has a new
baseline — a replaced meter, a register cleared or reprogrammed — and the last of them is accepted
(the engine counts the advance after a reset as estimated). The checker raises ``implausible_reading``
for it. A lone spike is rejected and forgotten at the next plausible reading.

Fast path: all of a register's readings in a batch are plausible steps from one to the next and it has
no candidate: accepted in one vectorised pass. Only registers with something to decide go through the
sequential rules, so the result does not depend on how readings are batched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.plausibility.limits import Limits, R

__all__ = ["Rebaseline", "RegisterTracker"]

BACKSTEP_TOL_KWH = 0.011
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Rebaseline:
    device: int
    register: int          # 0 e_fwd, 1 e_rev
    ts: float
    old: float
    new: float


@dataclass(eq=False)
class RegisterTracker:
    limits: Limits
    n_devices: int
    base_v: F64 = field(init=False)
    base_t: F64 = field(init=False)
    cand_v: F64 = field(init=False)
    cand_t: F64 = field(init=False)
    cand_n: npt.NDArray[np.int64] = field(init=False)

    def __post_init__(self) -> None:
        n = 2 * self.n_devices
        self.base_v, self.base_t = np.full(n, np.nan), np.full(n, np.nan)
        self.cand_v, self.cand_t = np.full(n, np.nan), np.full(n, np.nan)
        self.cand_n = np.zeros(n, np.int64)

    def arrays(self) -> dict[str, list[Any]]:
        return {k: getattr(self, k).tolist() for k in ("base_v", "base_t", "cand_v", "cand_t", "cand_n")}

    def load(self, arrays: dict[str, list[Any]]) -> None:
        for k in ("base_v", "base_t", "cand_v", "cand_t", "cand_n"):
            arr = np.asarray([math.nan if x is None else x for x in arrays[k]], dtype=getattr(self, k).dtype)
            if arr.shape != getattr(self, k).shape:
                raise ValueError(f"register state {k} has {arr.shape[0]} entries, expected {2 * self.n_devices}")
            setattr(self, k, arr)

    def _plausible(self, dev: npt.NDArray[np.intp], b: F64, bt: F64, v: F64, t: F64) -> npt.NDArray[np.bool_]:
        lim = self.limits
        dt = t - bt
        bound = lim.step_bound_kwh(dev, dt)
        d = v - b
        meter = dev < self.n_devices - 1
        with np.errstate(invalid="ignore"):
            ahead = (d >= -BACKSTEP_TOL_KWH) & (d <= bound)
            wrap = meter & (b >= 0.9 * lim.rollover_kwh) & (v <= 0.1 * lim.rollover_kwh) & \
                (v + lim.rollover_kwh - b <= bound)
            behind = (d <= BACKSTEP_TOL_KWH) & (d >= -bound)
            return np.isnan(b) | np.where(dt >= 0, ahead | wrap, behind)

    def check(self, dev: npt.NDArray[np.intp], reg: npt.NDArray[np.intp], val: F64,
              ts: F64) -> tuple[npt.NDArray[np.int8], list[Rebaseline]]:
        """Reason code per reading (-1 = accepted) and the registers re-baselined, in input order."""
        n = len(dev)
        reason = np.full(n, -1, np.int8)
        if not n:
            return reason, []
        key = dev * 2 + reg
        if n == 1 or (n < 64 and len(set(key.tolist())) == n):
            order = np.arange(n)          # every register once (the daemon's per-read batches): no sort
            first = np.ones(n, np.bool_)
        else:
            order = np.lexsort((ts, key))
            first = np.ones(n, np.bool_)
            first[1:] = key[order][1:] != key[order][:-1]
        k, v, t, d = key[order], val[order], ts[order], dev[order]
        prev_v, prev_t = self.base_v[k], self.base_t[k]
        if not first.all():
            prev_v[1:] = np.where(first[1:], prev_v[1:], v[:-1])
            prev_t[1:] = np.where(first[1:], prev_t[1:], t[:-1])
        ok = self._plausible(d, prev_v, prev_t, v, t)
        with np.errstate(invalid="ignore"):
            odd = ~ok | (self.cand_n[k] > 0) | (t < self.base_t[k])
        last = np.append(first[1:], True)
        if not odd.any():
            self.base_v[k[last]] = v[last]
            self.base_t[k[last]] = t[last]
            return reason, []
        slow_keys = np.unique(k[odd])
        fast = ~np.isin(k, slow_keys)
        self.base_v[k[last & fast]] = v[last & fast]
        self.base_t[k[last & fast]] = t[last & fast]
        events: list[Rebaseline] = []
        for key_ in slow_keys.tolist():
            rows = np.flatnonzero(k == key_)
            codes = np.full(len(rows), -1, np.int8)
            self._sequential(key_, rows, v, t, d, codes, events)
            reason[order[rows]] = codes
        return reason, events

    def _sequential(self, key: int, rows: npt.NDArray[np.intp], v: F64, t: F64, d: npt.NDArray[np.intp],
                    out: npt.NDArray[np.int8], events: list[Rebaseline]) -> None:
        dev = d[rows[:1]]
        for j, i in enumerate(rows.tolist()):
            b, bt = self.base_v[key], self.base_t[key]
            vi, ti = v[i : i + 1], t[i : i + 1]
            if self._plausible(dev, np.array([b]), np.array([bt]), vi, ti)[0]:
                if math.isnan(b) or ti[0] >= bt:
                    self.base_v[key], self.base_t[key] = vi[0], ti[0]
                self.cand_n[key] = 0
                continue
            consistent = self.cand_n[key] > 0 and self._plausible(
                dev, self.cand_v[key : key + 1], self.cand_t[key : key + 1], vi, ti)[0]
            self.cand_n[key] = self.cand_n[key] + 1 if consistent else 1
            self.cand_v[key], self.cand_t[key] = vi[0], ti[0]
            if self.cand_n[key] >= self.limits.cfg.rebaseline_after:
                events.append(Rebaseline(device=int(dev[0]), register=key % 2, ts=float(ti[0]), old=float(b),
                                         new=float(vi[0])))
                self.base_v[key], self.base_t[key] = vi[0], ti[0]
                self.cand_n[key] = 0
                continue
            backwards = ti[0] >= bt and vi[0] < b - BACKSTEP_TOL_KWH
            out[j] = R["energy_backwards" if backwards else "energy_step"]
