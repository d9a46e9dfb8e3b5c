"""Customer–transformer mapping check (docs/lineloss.md): each day, voltage correlation of every meter with
the master phases and its registered-phase neighbours over ``mapping.window_days`` of 15-min means;
``mapping_suspect`` per meter that does not follow this transformer."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from detect.clock import EngineClock
from detect.columns import Columns
from detect.context import AreaContext
from detect.kernels.mapping import check_mapping
from detect.observe import AlarmSpec, Condition, Seen
from detect.stages.loss import LossState
from detect.stages.meters import MeterState

__all__ = ["MappingState", "alarms", "close_day", "interval"]

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]


@dataclass(eq=False)
class MappingState(Columns):
    PREFIX = "l."
    IN_EVERY_SNAPSHOT = False
    WHAT = "line-loss state"

    ring_uk: npt.NDArray[np.int64]  # (V,) interval held by each voltage ring row
    ring_u: F32                     # (V, N) meter mean voltage per interval (mean of phases)
    ring_um: F32                    # (V, 3) master phase voltages per interval

    @classmethod
    def fresh(cls, ctx: AreaContext) -> MappingState:
        v, n = ctx.params.mapping.window_days * ctx.per_day, ctx.n_meters
        return cls(ring_uk=np.full(v, -1, np.int64), ring_u=np.full((v, n), np.nan, np.float32),
                   ring_um=np.full((v, 3), np.nan, np.float32))


def alarms(ctx: AreaContext) -> list[AlarmSpec]:
    return [AlarmSpec(key="mapping_suspect@meter", subjects=ctx.n_meters)]


def interval(ctx: AreaContext, st: MappingState, meters: MeterState, ls: LossState, clock: EngineClock,
             k: int) -> MappingState:
    """Keep interval ``k``'s mean voltages: of each meter (all its phases) and of the master phases."""
    slot = k % len(clock.slot_k)
    rv = k % len(st.ring_uk)
    st.ring_uk[rv] = k
    if clock.slot_k[slot] != k:
        st.ring_u[rv] = np.full(ctx.n_meters, np.nan)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            st.ring_u[rv] = np.where(meters.u_n[slot] > 0, meters.u_sum[slot] / np.maximum(meters.u_n[slot], 1),
                                     np.nan)
    lslot = k % len(ls.slot_k)
    if ls.slot_k[lslot] != k:
        st.ring_um[rv] = np.full(3, np.nan)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            st.ring_um[rv] = np.where(ls.um_n[lslot] > 0, ls.um_sum[lslot] / np.maximum(ls.um_n[lslot], 1), np.nan)
    return st


def close_day(ctx: AreaContext, st: MappingState, end: float, explained: npt.NDArray[np.bool_]) -> Seen:
    """The mapping check over the last ``window_days``: the ``mapping_suspect`` condition."""
    prm, area = ctx.params, ctx.area
    mp = prm.mapping
    interval_s = prm.interval_s
    t = mp.window_days * (86400 // interval_s)
    k_end = int(end // interval_s)           # first interval after the day
    ks = np.arange(k_end - t, k_end)
    rows = ks % len(st.ring_uk)
    have = st.ring_uk[rows] == ks
    if have.sum() < mp.min_samples:
        return Seen()
    v = np.where(have[None, :], st.ring_u[rows].T, np.nan).astype(np.float64)
    vm = np.where(have[None, :], st.ring_um[rows].T, np.nan).astype(np.float64)
    with warnings.catch_warnings():     # meters without a single voltage in the window: no verdict (NaN)
        warnings.simplefilter("ignore", RuntimeWarning)
        res = check_mapping(v, vm, area.meter_phase, mp, backend=ctx.backend)
    n = area.n_meters
    # Only the absolute score raises: a score far below the area median but still well correlated (the
    # kernel's robust-z flag) happens on healthy feeders ends and is kept as evidence.
    suspect = res.suspect & (res.score < mp.min_corr)
    verdict = np.isfinite(res.score)
    valid = verdict & ~explained
    names = area.meter_ids
    phases = ("A", "B", "C", "ABC")
    return Seen(conditions=(Condition(
        key="mapping_suspect@meter", subj=np.arange(n), ts=np.full(n, end), on=suspect, off=~suspect, valid=valid,
        values=res.score, threshold=mp.min_corr, unit="", severity=lambda _x: "warning", updates=False,
        evidence=lambda i: {"score": float(res.score[i]), "corr_master": float(res.corr_master[i]),
                            "corr_neighbours": float(res.corr_group[i]), "samples": int(res.samples[i]),
                            "registered_phase": phases[int(area.meter_phase[i])],
                            "best_phase": phases[int(res.best_phase[i])],
                            "phase_mismatch": bool(res.phase_mismatch[i]), "window_days": mp.window_days,
                            "robust_outlier": bool(res.suspect[i])},
        describe=lambda s, i, x: (f"meter {names[i]} voltage does not follow this transformer "
                                  f"(score {x:.2f} < {mp.min_corr:g}): check the customer–transformer record"
                                  if s != "cleared" and math.isfinite(x) else
                                  f"meter {names[i]} voltage follows this transformer again")),))
