"""Meter physical checks per interval (each an alert through the lifecycle, held where an outage explains
it), energy vs power per day, and the within-day NTL swing (``ntl_swing``) with its shape evidence. The
suspect list is ``suspects``. Kernels: ``detect.kernels.theft`` and ``detect.kernels.suspects``
(docs/lineloss.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.columns import Columns
from detect.context import AreaContext
from detect.kernels.suspects import swing as swing_ratio
from detect.kernels.theft import C_EP, CHECKS, FIELDS, run_physical_checks
from detect.observe import AlarmSpec, AlarmView, Condition, Seen
from detect.params import TheftParams
from detect.quantities import QUANTITY_CODE
from detect.stages.loss import LossState
from detect.stages.readings import ReadingsState

__all__ = ["CHECKS", "Swing", "TheftState", "alarms", "clip_estimated", "energy_power", "interval", "new_day",
           "swing"]

B = npt.NDArray[np.bool_]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Q = QUANTITY_CODE
MEAS = ("u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p")
WORDS = ("sw1", "sw3", "sw4", "sw5", "sw6", "sw7")
COL = {name: i for i, name in enumerate(FIELDS)}
EVENT_CHECKS = ("cover_open", "terminal_cover_open")
UNITS = {"cover_open": "events", "terminal_cover_open": "events", "neutral_mismatch": "", "voltage_loss": "V",
         "current_loss": "A", "reverse_energy": "kWh", "relay_bypass": "A", "zero_energy_with_current": "kWh",
         "energy_power_mismatch": ""}
SWING_BASELINE_DAYS = 7   # the swing ratio compares the window's last days with its first ones
SEVERITY = {"cover_open": "warning", "terminal_cover_open": "major", "relay_bypass": "major",
            "neutral_mismatch": "major", "reverse_energy": "major"}


@dataclass(eq=False)
class TheftState(Columns):
    PREFIX = "l."
    IN_EVERY_SNAPSHOT = False
    WHAT = "line-loss state"
    OPTIONAL = frozenset({"day_pabs"})     # added by issue 19

    evt_prev: F64          # (2, N) cover / terminal event counters at the previous check
    day_de: F64            # (2, N) Σ ΔE and Σ ∫P dt of intervals having both (energy vs power, daily)
    swing_days: I64        # (1,) consecutive days with the NTL swing ratio above its limit
    day_pabs: F64          # (N,) Σ |∫P dt| of the same intervals (a PV customer's gross exchange)

    @classmethod
    def fresh(cls, ctx: AreaContext) -> TheftState:
        n = ctx.n_meters
        return cls(evt_prev=np.full((2, n), np.nan), day_de=np.zeros((2, n)), swing_days=np.zeros(1, np.int64),
                   day_pabs=np.zeros(n))


def alarms(ctx: AreaContext) -> list[AlarmSpec]:
    n, tp = ctx.n_meters, ctx.params.theft
    return [AlarmSpec(key="ntl_swing@area", subjects=1),
            *(AlarmSpec(key=f"{c}@meter", subjects=n, persist_on_s=persist_of(c, tp), persist_off_s=tp.physical_clear_s)
              for c in CHECKS)]


def persist_of(check: str, tp: TheftParams) -> float:
    """Events (cover openings) raise at once; measured conditions must hold ``physical_persist_s``; energy
    vs power is judged per day (sampled power) and must hold two consecutive days."""
    if check == "energy_power_mismatch":
        return 86400.0
    return 0.0 if check in EVENT_CHECKS else tp.physical_persist_s


def _fresh(rd: ReadingsState, n: int, names: tuple[str, ...], now: float, max_age_s: float) -> F64:
    """The latest reading of each meter's ``names`` not older than ``max_age_s`` at ``now``, else NaN."""
    st = rd
    cols = [Q[q] for q in names]
    v = st.last_value[:n][:, cols]
    age = now - st.last_ts[:n][:, cols]
    return np.where(age <= max_age_s, v, np.nan)


def interval(ctx: AreaContext, st: TheftState, rd: ReadingsState, ls: LossState, k: int, de_fwd: F64, de_rev: F64,
             ntl: float, explained: B) -> tuple[TheftState, Seen]:
    """The physical checks on interval k's per-meter values (``explained``: meters an outage explains,
    held)."""
    prm, area = ctx.params, ctx.area
    n = area.n_meters
    end = float((k + 1) * prm.interval_s)
    now = end + prm.lateness_s
    tp = prm.theft
    meas, w = _measurements(ctx, st, rd, ls, k, de_fwd, de_rev)
    cond, val = run_physical_checks(meas, area.meter_kind, area.meter_pv, tp, nominal_v=prm.voltage.nominal_v,
                                    area_ntl_kwh=ntl, backend=ctx.backend)
    # energy vs power is judged on whole days (one power sample per interval is far from ∫P dt); a PV
    # customer's power is net of its export, so its energy is too (forward − reverse)
    de = np.where(area.meter_pv, de_fwd - de_rev, de_fwd)
    both = np.isfinite(de) & np.isfinite(meas[:, COL["p_int_kwh"]])
    st.day_de[0, both] += de[both]
    st.day_de[1, both] += meas[both, COL["p_int_kwh"]]
    st.day_pabs[both] += np.abs(meas[both, COL["p_int_kwh"]])
    # A register counts in 0.01 kWh on the meter's secondary: with a CT the step is 0.01 × ratio, so a
    # standing register says nothing until ∫P dt is well above that step.
    step_kwh = 0.01 * np.maximum(area.meter_ct_ratio, 1.0)
    z = CHECKS.index("zero_energy_with_current")
    cond[:, z] &= meas[:, COL["p_int_kwh"]] >= 2.0 * step_kwh
    # A reversed element of a three-phase meter leaves the total positive: the per-element status bits
    # (SW2 b0–b2, SW4–6 b6) say it
    sw2 = _fresh(rd, n, ("sw2",), now, tp.tamper_max_age_s)[:, 0]
    rev_bits = (np.nan_to_num(sw2).astype(np.int64) & 0b111) > 0
    for j in range(3):
        rev_bits |= (np.nan_to_num(w[:, 2 + j]).astype(np.int64) >> 6) & 1 > 0
    r = CHECKS.index("reverse_energy")
    extra = rev_bits & ~area.meter_pv & ~cond[:, r]
    cond[extra, r] = True
    val[extra, r] = 0.0
    seen = ~np.isnan(meas[:, :COL["sw1"]]).all(axis=1) | ~np.isnan(w).all(axis=1)
    valid = seen & ~explained
    idx = np.arange(n)
    ts = np.full(n, end)
    # Neutral vs phase current can only be judged with enough current (a mismatch below the minimum
    # difference is invisible): at low load the alarm is held, not cleared.
    i_l, i_n = np.abs(meas[:, COL["i_a"]]), np.abs(meas[:, COL["i_n"]])
    with np.errstate(invalid="ignore"):
        judged = np.fmax(i_l, i_n) * tp.neutral_mismatch_ratio > tp.neutral_mismatch_min_a
    conditions = []
    for c, check in enumerate(CHECKS):
        if c == C_EP:
            continue
        ok = valid & judged if check == "neutral_mismatch" else valid
        conditions.append(_condition(ctx, check, idx, ts, cond[:, c], ok | cond[:, c] & valid, val[:, c], meas))
    return st, Seen(conditions=tuple(conditions))


def _measurements(ctx: AreaContext, st: TheftState, rd: ReadingsState, ls: LossState, k: int, de_fwd: F64,
                  de_rev: F64) -> tuple[F64, F64]:
    """The per-meter values the physical checks judge (``FIELDS``), and the status words: measurements are
    the latest read within one cadence of the bound; status words and event counters the latest tamper
    read within its sweep (hourly by default)."""
    prm, n = ctx.params, ctx.n_meters
    interval_s = prm.interval_s
    now = float((k + 1) * interval_s) + prm.lateness_s
    tp = prm.theft
    meas = np.full((n, len(FIELDS)), np.nan)
    m = _fresh(rd, n, MEAS, now, interval_s + prm.lateness_s)
    meas[:, COL["u_a"]:COL["i_n"] + 1] = m[:, :7]
    meas[:, COL["p_kw"]] = m[:, 7]
    meas[:, COL["de_fwd_kwh"]] = de_fwd
    meas[:, COL["de_rev_kwh"]] = de_rev
    slot = k % len(ls.slot_k)
    if ls.slot_k[slot] == k:
        with np.errstate(invalid="ignore", divide="ignore"):
            pint = np.where(ls.p_n[slot] > 0, ls.p_sum[slot] / np.maximum(ls.p_n[slot], 1), np.nan) * interval_s / 3600
        meas[:, COL["p_int_kwh"]] = pint
    w = _fresh(rd, n, WORDS, now, tp.tamper_max_age_s)
    for j, name in enumerate(WORDS):
        meas[:, COL[name]] = w[:, j]
    ev = _fresh(rd, n, ("evt_cover_open", "evt_terminal_open"), now, tp.tamper_max_age_s).T
    with np.errstate(invalid="ignore"):
        inc = ev - st.evt_prev
    meas[:, COL["d_cover"]] = inc[0]
    meas[:, COL["d_terminal"]] = inc[1]
    st.evt_prev = np.where(np.isnan(ev), st.evt_prev, ev)
    meas[:, COL["expected_kwh"]] = ls.e_typ
    return meas, w


def _condition(ctx: AreaContext, check: str, idx: npt.NDArray[np.int64], ts: F64, cond: B, valid: B, val: F64,
               meas: F64) -> Condition:
    names = ctx.area.meter_ids
    pretty = check.replace("_", " ")
    return Condition(
        key=f"{check}@meter", subj=idx, ts=ts, on=cond, off=~cond, valid=valid, values=val, threshold=math.nan,
        unit=UNITS[check], severity=lambda _x: SEVERITY.get(check, "warning"), updates=False,
        evidence=lambda i: {"check_value": float(val[i]), **{f: float(meas[i, j]) for j, f in enumerate(FIELDS)
                                                             if math.isfinite(meas[i, j])}},
        describe=lambda s, i, x: (f"meter {names[i]}: {pretty}" + (f" ({x:.3g} {UNITS[check]})".rstrip()
                                                                  if math.isfinite(x) else "")
                                  if s != "cleared" else f"meter {names[i]}: {pretty} no longer seen"))


def energy_power(ctx: AreaContext, st: TheftState, end: float, explained: B) -> Seen:
    """Energy vs power over the day (``energy_power_mismatch``)."""
    n = ctx.n_meters
    tp = ctx.params.theft
    de, pint, gross = st.day_de[0], st.day_de[1], st.day_pabs
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.abs(de - pint) / gross            # = |ΔE − ∫P dt| / ∫P dt for a meter that never exports
    cond = (gross >= tp.energy_power_min_kwh) & (rel > tp.energy_power_tolerance)
    valid = (gross > 0) & ~explained
    return Seen(conditions=(_condition(ctx, "energy_power_mismatch", np.arange(n), np.full(n, end), cond, valid, rel,
                                       np.full((n, len(FIELDS)), np.nan)),))


def _reversal_match(x: F64, ntl: F64, per_day: int) -> F64:
    """How well each customer's time-reversed day explains the NTL (Jokar h6: metered_t = true_(T−t), so
    NTL_t = metered_(T−t) − metered_t): Pearson correlation of the NTL with reverse(x_i) − x_i per day,
    clipped to [0, 1]. Honest customers' reversals do not follow the NTL."""
    n, t = x.shape
    days = t // per_day
    if days < 1:
        return np.zeros(n)
    xd = x[:, -days * per_day:].reshape(n, days, per_day)
    d = (xd[:, :, ::-1] - xd).reshape(n, -1)
    y = ntl[-days * per_day:]
    ok = np.isfinite(y)[None, :] & np.isfinite(d)
    dz = np.where(ok, d, 0.0)
    yz = np.where(ok, y[None, :], 0.0)
    cnt = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = dz.sum(axis=1) / cnt
        my = yz.sum(axis=1) / cnt
        dc = np.where(ok, dz - mx[:, None], 0.0)
        yc = np.where(ok, yz - my[:, None], 0.0)
        c = (dc * yc).sum(axis=1) / np.sqrt((dc * dc).sum(axis=1) * (yc * yc).sum(axis=1))
    return np.clip(np.nan_to_num(np.where(cnt >= per_day, c, 0.0)), 0.0, 1.0)


@dataclass(frozen=True, eq=False)
class Swing:
    """The day's within-day NTL swing: its ``ntl_swing`` condition and, while it swings, each customer's
    flattened-shape match and time-reversal match (None: not enough history yet)."""

    shape: F64 | None = None
    reversal: F64 | None = None
    conditions: tuple[Condition, ...] = ()
    fields: dict[str, Any] = field(default_factory=dict)


def clip_estimated(ntl: F64, estimated: B, per_day: int) -> F64:
    """The NTL of an interval that rests on a gap estimate (a meter unread, its energy from the same interval
    of earlier days) may not widen its day's range: it is clipped to the range of the day's fully read
    intervals (kept as it is on a day with fewer than two of those). A busy customer unread for half an
    hour leaves a ±3 kWh pair of intervals in a clean area's NTL, and one such pair doubles the day's
    within-day variance (held-out seed 5022: a clean area's ``ntl_swing``); a flattened or reversed profile
    shows in the fully read intervals too, so the swing it makes is kept."""
    d, e = ntl.reshape(-1, per_day), estimated.reshape(-1, per_day)
    read = np.where(e, np.nan, d)
    enough = ((~e).sum(axis=1) >= 2)[:, None]
    with np.errstate(invalid="ignore"):
        lo = np.where(enough, np.nanmin(np.where(enough, read, 0.0), axis=1, keepdims=True), -np.inf)
        hi = np.where(enough, np.nanmax(np.where(enough, read, 0.0), axis=1, keepdims=True), np.inf)
    return np.where(e, np.clip(d, lo, hi), d).reshape(ntl.shape)


def swing(ctx: AreaContext, st: TheftState, ls: LossState, end: float, alarms: AlarmView) -> tuple[TheftState, Swing]:
    """``ntl_swing``: the NTL's within-day variance over the energy window against its first
    ``swing_baseline_days`` (a flattened or time-shifted profile keeps the daily energy: no daily balance
    sees it); with it the evidence of who lost that shape (Jokar h5) or reversed its day (h6)."""
    prm, n = ctx.params, ctx.n_meters
    tp = prm.theft
    pd = ctx.per_day
    k_end = int(end // prm.interval_s)
    base = SWING_BASELINE_DAYS
    days = tp.window_days
    while days > base + 1:
        ks = np.arange(k_end - days * pd, k_end)
        if (ls.ring_k[ks % len(ls.ring_k)] == ks).all():
            break
        days -= 1
    else:
        return st, Swing()
    rows = np.arange(k_end - days * pd, k_end) % len(ls.ring_k)
    x = ls.ring_fwd[rows].T.astype(np.float64)
    ntl = ls.ring_ntl[rows].copy()
    if np.isnan(ntl).mean() > 0.5:
        return st, Swing()
    ntl = np.where(np.isnan(ntl), 0.0, ntl)         # unknown residual: no evidence either way
    ntl = clip_estimated(ntl, np.asarray(np.isnan(x).any(axis=0), dtype=np.bool_), pd)
    ratio, shape = swing_ratio(x, ntl, intervals_per_day=pd, baseline_days=base, backend=ctx.backend)
    swing_on = math.isfinite(ratio) and ratio >= tp.swing_ratio
    st.swing_days[0] = st.swing_days[0] + 1 if swing_on else 0
    sw = bool(st.swing_days[0] >= tp.swing_days)
    evidence = {"swing_ratio": ratio, "days": int(st.swing_days[0])}
    cond = Condition(key="ntl_swing@area", subj=[0], ts=[end], on=[sw], off=[not swing_on], valid=[True],
                     values=[ratio], threshold=tp.swing_ratio, unit="", severity=lambda _x: "warning",
                     updates=False, evidence=lambda _k: dict(evidence),
                     describe=lambda s, _i, x: (f"area NTL swings within the day {x:.1f}× its baseline (altered "
                                                "load profile?)" if s != "cleared" else "area NTL swing back to baseline"))
    recent = min(int(st.swing_days[0]) + 1, days) * pd
    rev = _reversal_match(x[:, -recent:], ntl[-recent:], pd) if st.swing_days[0] >= 1 else np.zeros(n)
    return st, Swing(shape=shape, reversal=rev, conditions=(cond,),
                     fields={"ntl_swing_ratio": float(ratio) if math.isfinite(ratio) else None})


def new_day(st: TheftState) -> TheftState:
    st.day_de[...] = 0
    st.day_pabs[...] = 0
    return st
