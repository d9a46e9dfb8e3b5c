"""The suspect list's state, evidence table and the helpers every evidence kind shares (docs/lineloss.md §4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from detect.area import PHASE_ABC
from detect.columns import Columns
from detect.context import AreaContext
from detect.stages.loss import LossDay
from detect.stages.ntl import NtlDay
from detect.stages.physics import elements

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]
Fit = tuple[npt.NDArray[np.intp], F64, F64, F64]   # a phase's joint share: meters, coefficients, t, daily kWh


class ChannelDrop(NamedTuple):
    """A rising channel's drop evidence per meter from its change point (NaN: not on the channel)."""
    z: F64              # (N,) the drop's z in the meter's own daily scatter
    kwh: F64            # (N,) the drop, kWh/day
    share: F64          # (N,) the share of the channel's rise it explains


@dataclass(eq=False)
class SuspectState(Columns):
    PREFIX = "t."
    IN_EVERY_SNAPSHOT = False      # snapshots from before issue 19 have none: it starts fresh
    WHAT = "suspect-ranking state"
    OPTIONAL = frozenset({"last_listed", "v_hold", "s_hold", "s_b", "d_split", "c_ntl_read", "d_hold", "v_against", "v_seen", "o_hold", "o_day", "o_b"})

    d_day: I64             # (R,) local day number of each daily row (-1 free)
    d_e: F64               # (R, N) each meter's energy that day (kWh; NaN: unknown)
    d_split: F64           # (R, N, 3) each meter's share of that energy on each phase (NaN: not measured)
    d_ntl: F64             # (R, 4) NTL per channel that day (A, B, C, area; kWh)
    d_sup: F64             # (R, 4) supply per channel
    d_sales: F64           # (R, 4) metered consumption per channel
    v_k: I64               # (V,) interval of each voltage row (-1 free)
    v_du: F32              # (V, E) each element's drop below the master (V)
    v_ntl: F32             # (V, 3) each phase's NTL in the interval (kWh)
    c_k: I64               # (W,) interval of each correlation row
    c_p: F32               # (W, N) each meter's ∫P dt in the interval (kWh)
    c_ntl: F32             # (W, 4) NTL per channel in the interval (kWh)
    c_ntl_read: F32        # (W, 3) per phase with the registers not read counted as 0 (LossInterval)
    since: F64             # (N,) when the meter's current listing began (NaN: not listed)
    last_listed: F64       # (N,) the last day it was listed (a listing broken for ≤ RELIST_DAYS continues)
    v_hold: F64            # (N,) voltage evidence held while the meter registers nothing on a flagged phase
    v_against: F64         # (N,) days in a row the plain fit contradicted that held evidence (VOLTAGE_AGAINST_DAYS)
    v_seen: F64            # (N,) days that evidence was seen at its listing strength (not held) since it was first
    s_hold: F64            # (N,) joint-share evidence held while its fit stays above SHARE_HOLD of the limits
    s_b: F64               # (N,) ... and its coefficient, for the stolen energy while the fit is stopped
    d_hold: F64            # (N,) drop evidence held while its z stays at drop_z or more on a rising channel
    o_hold: F64            # (N,) share-since-the-change-point evidence held while the meter's drop bears it out
    o_day: F64             # (N,) ... the change point's day it was found from
    o_b: F64               # (N,) ... and its coefficient then

    @classmethod
    def fresh(cls, ctx: AreaContext) -> SuspectState:
        tp, n, pd = ctx.params.theft, ctx.n_meters, ctx.per_day
        r, e = tp.baseline_days + tp.window_days + 2, len(elements(ctx.area).meter)
        v, w = tp.voltage_days * pd, tp.window_days * pd
        nan = np.nan
        return cls(d_day=np.full(r, -1, np.int64), d_e=np.full((r, n), nan), d_split=np.full((r, n, 3), nan),
                   d_ntl=np.full((r, 4), nan), d_sup=np.full((r, 4), nan), d_sales=np.full((r, 4), nan),
                   v_k=np.full(v, -1, np.int64), v_du=np.full((v, e), nan, np.float32),
                   v_ntl=np.full((v, 3), nan, np.float32), c_k=np.full(w, -1, np.int64),
                   c_p=np.full((w, n), nan, np.float32), c_ntl=np.full((w, 4), nan, np.float32),
                   c_ntl_read=np.full((w, 3), nan, np.float32),
                   since=np.full(n, nan), last_listed=np.full(n, nan), v_hold=np.zeros(n), v_against=np.zeros(n), v_seen=np.zeros(n),
                   s_hold=np.zeros(n), s_b=np.zeros(n), d_hold=np.zeros(n),
                   o_hold=np.zeros(n), o_day=np.full(n, -1.0), o_b=np.zeros(n))


def _store_day(st: SuspectState, day: int, ld: LossDay) -> None:
    r = day % len(st.d_day)
    st.d_day[r] = day
    st.d_e[r], st.d_ntl[r], st.d_sup[r], st.d_sales[r] = ld.meter_kwh, ld.ch_ntl, ld.ch_sup, ld.ch_sales
    st.d_split[r] = np.nan if ld.meter_split is None else ld.meter_split


def _rows(st: SuspectState, first: int, last: int) -> I64:
    """Ring rows of the stored days ``first..last`` (days not stored are left out)."""
    days = np.arange(first, last + 1)
    rows = days % len(st.d_day)
    return rows[st.d_day[rows] == days]


@dataclass
class Evidence:
    """Per meter: each evidence's strength and the numbers behind it."""

    n: int
    strength: dict[str, F64]
    detail: dict[str, F64]
    stolen: F64
    onset: I64

    @classmethod
    def empty(cls, n: int, names: tuple[str, ...]) -> Evidence:
        return cls(n=n, strength={k: np.zeros(n) for k in names}, detail={}, stolen=np.full(n, np.nan),
                   onset=np.full(n, -1, np.int64))

    def put(self, name: str, i: npt.NDArray[np.intp], values: F64) -> None:
        col = self.detail.setdefault(name, np.full(self.n, np.nan))
        col[i] = values

    def score(self, without: str = "", today: bool = False) -> F64:
        """(N,) 1 − Π(1 − strength): independent evidence adds up, one strong piece is enough. ``without``: the
        score the other evidence gives; ``today``: the score of the evidence seen today, without what is only
        held from earlier days (an evidence's ``<name>_held`` detail)."""
        keep = np.ones(self.n)
        for name, s in self.strength.items():
            held = self.detail.get(f"{name}_held") if today else None
            if name != without:
                keep *= 1.0 - (s if held is None else np.where(np.isfinite(held), 0.0, s))
        return 1.0 - keep


def _phase_excess_kwh(nd: NtlDay, phase_sup: F64, p: int) -> float:
    """Phase ``p``'s loss today above the least-losing phase's (``ntl_phase``'s reference), in kWh."""
    return float(nd.phase_excess_pp[p]) / 100.0 * float(phase_sup[p])


def _ramp(z: F64, z0: float) -> F64:
    """0 below ``z0``, 1 from twice ``z0``, linear between."""
    return np.clip((np.nan_to_num(z, nan=0.0) - z0) / z0, 0.0, 1.0)


def _channel_energy(ctx: AreaContext, x: F64, c: int, split: F64 | None = None) -> F64:
    """A meter's energy on channel ``c``: its own on its phase; a three-phase meter's share on that phase as
    measured that day (``split``, (..., N, 3)), a third where none was measured."""
    ph = ctx.area.meter_phase
    if c == 3:
        return x
    third = np.full_like(x, 1.0 / 3.0) if split is None else np.nan_to_num(split[..., c], nan=1.0 / 3.0)
    return np.where(ph == c, x, np.where(ph == PHASE_ABC, x * third, np.nan))


def _flagged(nd: NtlDay, level: bool = True) -> B:
    """(3,) phases with unexplained loss; all three when only the area channel rose or (with ``level``) stands
    high (``ntl_level``: every phase alike, a three-phase customer's theft present from the start)."""
    ph = nd.rising[:3] | nd.excess
    return ph if ph.any() else np.full(3, bool(nd.rising[3] or (level and nd.level)))


def _phase_onsets(nd: NtlDay) -> I64:
    """(3,) the day of each phase's change point (its own, else the area channel's), −1 for none."""
    out = np.full(3, -1, np.int64)
    for p in range(3):
        c = p if nd.rising[p] else 3
        if nd.rising[c] and nd.onset[c] >= 0:
            out[p] = int(nd.onset[c])
    return out


def _registered(st: SuspectState, low_kwh: float, last: int) -> B:
    """(N,) whether each meter registered at least ``low_kwh`` on a stored day up to ``last``."""
    rows = _rows(st, last - len(st.d_day) + 1, last)
    if not len(rows):
        return np.zeros(st.d_e.shape[1], np.bool_)
    return np.nan_to_num(st.d_e[rows], nan=0.0).max(axis=0) >= low_kwh
