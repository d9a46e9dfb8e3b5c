"""Meter physical checks per interval (each an alert through the lifecycle, suppressed where an outage
explains it) and the daily suspect ranking (``theft_suspect``, ``ntl_swing``, the daily ``suspects`` list).
Kernels: ``detect.kernels.theft`` and ``detect.kernels.suspects`` (docs/lineloss.md)."""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from detect._emit import run_alarm
from detect.kernels.suspects import rank_suspects
from detect.kernels.theft import C_EP, CHECKS, FIELDS, run_physical_checks
from detect.params import TheftParams
from detect.quantities import QUANTITY_CODE

if TYPE_CHECKING:
    from detect.engine import Engine

__all__ = ["CHECKS", "daily", "interval_checks", "persist_of"]

F64 = npt.NDArray[np.float64]
Q = QUANTITY_CODE
MEAS = ("u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p")
WORDS = ("sw1", "sw3", "sw4", "sw5", "sw6", "sw7")
COL = {name: i for i, name in enumerate(FIELDS)}
EVENT_CHECKS = ("cover_open", "terminal_cover_open")
UNITS = {"cover_open": "events", "terminal_cover_open": "events", "neutral_mismatch": "", "voltage_loss": "V",
         "current_loss": "A", "reverse_energy": "kWh", "relay_bypass": "A", "zero_energy_with_current": "kWh",
         "energy_power_mismatch": ""}
SEVERITY = {"cover_open": "warning", "terminal_cover_open": "major", "relay_bypass": "major",
            "neutral_mismatch": "major", "reverse_energy": "major"}


def persist_of(check: str, tp: TheftParams) -> float:
    """Events (cover openings) raise at once; measured conditions must hold ``physical_persist_s``; energy
    vs power is judged per day (sampled power) and must hold two consecutive days."""
    if check == "energy_power_mismatch":
        return 86400.0
    return 0.0 if check in EVENT_CHECKS else tp.physical_persist_s


def _fresh(eng: Engine, names: tuple[str, ...], now: float, max_age_s: float) -> F64:
    st, n = eng.state, eng.area.n_meters
    cols = [Q[q] for q in names]
    v = st.last_value[:n][:, cols]
    age = now - st.last_ts[:n][:, cols]
    return np.where(age <= max_age_s, v, np.nan)


def interval_checks(eng: Engine, k: int, de_fwd: F64, de_rev: F64, ntl: float) -> None:
    """Run the physical checks on interval k's per-meter values and feed their alarms."""
    ls, prm, area = eng.loss, eng.params, eng.area
    n = area.n_meters
    interval = prm.interval_s
    end = float((k + 1) * interval)
    now = end + prm.lateness_s
    tp = prm.theft
    meas = np.full((n, len(FIELDS)), np.nan)
    # measurements: the latest read within one cadence of the bound; status words and event counters: the
    # latest tamper read within its sweep (hourly by default)
    m = _fresh(eng, MEAS, now, interval + prm.lateness_s)
    meas[:, COL["u_a"]:COL["i_n"] + 1] = m[:, :7]
    meas[:, COL["p_kw"]] = m[:, 7]
    meas[:, COL["de_fwd_kwh"]] = de_fwd
    meas[:, COL["de_rev_kwh"]] = de_rev
    slot = k % len(ls.slot_k)
    if ls.slot_k[slot] == k:
        with np.errstate(invalid="ignore", divide="ignore"):
            pint = np.where(ls.p_n[slot] > 0, ls.p_sum[slot] / np.maximum(ls.p_n[slot], 1), np.nan) * interval / 3600
        meas[:, COL["p_int_kwh"]] = pint
    w = _fresh(eng, WORDS, now, tp.tamper_max_age_s)
    for j, name in enumerate(WORDS):
        meas[:, COL[name]] = w[:, j]
    ev = _fresh(eng, ("evt_cover_open", "evt_terminal_open"), now, tp.tamper_max_age_s).T
    with np.errstate(invalid="ignore"):
        inc = ev - ls.evt_prev
    meas[:, COL["d_cover"]] = inc[0]
    meas[:, COL["d_terminal"]] = inc[1]
    ls.evt_prev = np.where(np.isnan(ev), ls.evt_prev, ev)
    meas[:, COL["expected_kwh"]] = ls.e_typ
    cond, val = run_physical_checks(meas, area.meter_kind, area.meter_pv, tp, nominal_v=prm.voltage.nominal_v,
                                    area_ntl_kwh=ntl, backend=eng.kernel_backend)
    # energy vs power is judged on whole days (one power sample per interval is far from ∫P dt)
    both = np.isfinite(de_fwd) & np.isfinite(meas[:, COL["p_int_kwh"]])
    ls.day_de[0, both] += de_fwd[both]
    ls.day_de[1, both] += meas[both, COL["p_int_kwh"]]
    # A register counts in 0.01 kWh on the meter's secondary: with a CT the step is 0.01 × ratio, so a
    # standing register says nothing until ∫P dt is well above that step.
    step_kwh = 0.01 * np.maximum(area.meter_ct_ratio, 1.0)
    z = CHECKS.index("zero_energy_with_current")
    cond[:, z] &= meas[:, COL["p_int_kwh"]] >= 2.0 * step_kwh
    # A reversed element of a three-phase meter leaves the total positive: the per-element status bits
    # (SW2 b0–b2, SW4–6 b6) say it
    sw2 = _fresh(eng, ("sw2",), now, tp.tamper_max_age_s)[:, 0]
    rev_bits = (np.nan_to_num(sw2).astype(np.int64) & 0b111) > 0
    for j in range(3):
        rev_bits |= (np.nan_to_num(w[:, 2 + j]).astype(np.int64) >> 6) & 1 > 0
    r = CHECKS.index("reverse_energy")
    extra = rev_bits & ~area.meter_pv & ~cond[:, r]
    cond[extra, r] = True
    val[extra, r] = 0.0
    seen = ~np.isnan(meas[:, :COL["sw1"]]).all(axis=1) | ~np.isnan(w).all(axis=1)
    valid = seen & ~eng.explained_meters()
    idx = np.arange(n)
    ts = np.full(n, end)
    # Neutral vs phase current can only be judged with enough current (a mismatch below the minimum
    # difference is invisible): at low load the alarm is held, not cleared.
    i_l, i_n = np.abs(meas[:, COL["i_a"]]), np.abs(meas[:, COL["i_n"]])
    with np.errstate(invalid="ignore"):
        judged = np.fmax(i_l, i_n) * tp.neutral_mismatch_ratio > tp.neutral_mismatch_min_a
    for c, check in enumerate(CHECKS):
        if c == C_EP:
            continue
        ok = valid & judged if check == "neutral_mismatch" else valid
        _feed(eng, check, idx, ts, cond[:, c], ok | cond[:, c] & valid, val[:, c], meas)


def _feed(eng: Engine, check: str, idx: npt.NDArray[np.int64], ts: F64, cond: npt.NDArray[np.bool_],
          valid: npt.NDArray[np.bool_], val: F64, meas: F64) -> None:
    names = eng.area.meter_ids
    pretty = check.replace("_", " ")
    run_alarm(eng, f"{check}@meter", subj=idx, ts=ts, on=cond, off=~cond, valid=valid, values=val,
              threshold=math.nan, unit=UNITS[check],
              severity=lambda _x: SEVERITY.get(check, "warning"), updates=False,
              evidence=lambda i: {"check_value": float(val[i]), **{f: float(meas[i, j]) for j, f in enumerate(FIELDS)
                                                                   if math.isfinite(meas[i, j])}},
              describe=lambda s, i, x: (f"meter {names[i]}: {pretty}" + (f" ({x:.3g} {UNITS[check]})".rstrip()
                                                                        if math.isfinite(x) else "")
                                        if s != "cleared" else f"meter {names[i]}: {pretty} no longer seen"))


def daily(eng: Engine, end: float, fields: dict[str, Any], day_fwd: F64) -> None:
    """Energy vs power over the day, then the suspect ranking over the window and its alerts."""
    ls, prm, area = eng.loss, eng.params, eng.area
    n = area.n_meters
    tp = prm.theft
    de, pint = ls.day_de[0], ls.day_de[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.abs(de - pint) / pint
    cond = (pint >= tp.energy_power_min_kwh) & (rel > tp.energy_power_tolerance)
    valid = (pint > 0) & ~eng.explained_meters()
    _feed(eng, "energy_power_mismatch", np.arange(n), np.full(n, end), cond, valid, rel,
          np.full((n, len(FIELDS)), np.nan))
    _rank(eng, end, fields)


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


def _rank(eng: Engine, end: float, fields: dict[str, Any]) -> None:
    ls, prm, area = eng.loss, eng.params, eng.area
    n = area.n_meters
    tp = prm.theft
    pd = 86400 // prm.interval_s
    k_end = int(end // prm.interval_s)
    days = tp.window_days
    while days > tp.baseline_days + 1:
        ks = np.arange(k_end - days * pd, k_end)
        if (ls.ring_k[ks % len(ls.ring_k)] == ks).all():
            break
        days -= 1
    else:
        return
    ks = np.arange(k_end - days * pd, k_end)
    rows = ks % len(ls.ring_k)
    x = ls.ring_fwd[rows].T.astype(np.float64)
    ntl = ls.ring_ntl[rows].copy()
    if np.isnan(ntl).mean() > 0.5:
        return
    ntl = np.where(np.isnan(ntl), 0.0, ntl)         # unknown residual: no evidence either way
    phys = np.zeros(n)
    for check in CHECKS:
        phys = np.maximum(phys, eng.trackers[f"{check}@meter"].active().astype(np.float64))
    r = rank_suspects(x, ntl, tp, intervals_per_day=pd, physical=phys, backend=eng.kernel_backend)
    # the area signal: an NTL step (CUSUM) or a swinging NTL (flattened / shifted profiles, h5/h6)
    swing_on = math.isfinite(r.ntl_swing_ratio) and r.ntl_swing_ratio >= tp.swing_ratio
    ls.swing_days[0] = ls.swing_days[0] + 1 if swing_on else 0
    sw = bool(ls.swing_days[0] >= tp.swing_days)
    run_alarm(eng, "ntl_swing@area", subj=[0], ts=[end], on=[sw], off=[not swing_on], valid=[True],
              values=[r.ntl_swing_ratio], threshold=tp.swing_ratio, unit="", severity=lambda _x: "warning",
              updates=False, evidence=lambda _k: {"swing_ratio": r.ntl_swing_ratio, "days": int(ls.swing_days[0])},
              describe=lambda s, _i, x: (f"area NTL swings within the day {x:.1f}× its baseline (altered load "
                                         "profile?)" if s != "cleared" else "area NTL swing back to baseline"))
    rise = bool(eng.trackers["ntl_rise@area"].active()[0])
    swinging = bool(eng.trackers["ntl_swing@area"].active()[0])
    signal = rise or swinging or bool(eng.trackers["line_loss_high@area"].active()[0])
    score = r.score
    rev = np.zeros(n)
    if swinging and ls.swing_days[0] >= 1:
        # A swing without a step (h5/h6): the ranking's correlation runs over the whole window, where the
        # days before the swing dilute it. Use the correlation over the swinging days instead, and add how
        # well a customer's time-reversed day explains the NTL (h6).
        recent = min(int(ls.swing_days[0]) + 1, days) * pd
        corr = r.corr
        if not rise:
            corr = np.empty(n)
            eng.ops["suspects"].diff_corr(np.ascontiguousarray(x[:, -recent:]),
                                          np.ascontiguousarray(ntl[-recent:]), pd, corr)
        rev = _reversal_match(x[:, -recent:], ntl[-recent:], pd)
        score = score + tp.weight_corr * (np.clip(np.abs(np.nan_to_num(corr)), 0, 1)
                                          - np.clip(np.abs(np.nan_to_num(r.corr)), 0, 1)) \
            + tp.weight_shape * rev
        r = dataclasses.replace(r, corr=corr, score=score, order=np.argsort(-score, kind="stable"))
    top = r.order[:tp.top_k]
    top = top[r.score[top] >= tp.min_score]
    names = area.meter_ids

    def evidence(i: int) -> dict[str, Any]:
        return {"corr": float(r.corr[i]), "coincident_drop": float(r.cusum[i]), "k_balance": float(r.k_balance[i]),
                "shape": float(r.shape[i]), "physical": float(r.physical[i]), "drop_kwh": float(r.drop_kwh[i]),
                "reversal": float(rev[i]),
                "window_days": days}

    rank_of = np.zeros(n, np.int64)
    rank_of[top] = np.arange(1, len(top) + 1)
    fields["suspects"] = ([{"meter": names[i], "rank": int(j + 1), "score": float(r.score[i]),
                            "evidence": evidence(int(i))} for j, i in enumerate(top.tolist())] if signal else [])
    fields["ntl_swing_ratio"] = float(r.ntl_swing_ratio) if math.isfinite(r.ntl_swing_ratio) else None
    on = np.zeros(n, np.bool_)
    if signal:
        on[top] = True
    run_alarm(eng, "theft_suspect@meter", subj=np.arange(n), ts=np.full(n, end), on=on, off=~on,
              valid=np.ones(n, np.bool_), values=r.score, threshold=tp.min_score, unit="", updates=False,
              severity=lambda _x: "warning",
              evidence=lambda i: {"rank": int(rank_of[i]), "score": float(r.score[i]), **evidence(i)},
              describe=lambda s, i, x: (f"meter {names[i]} theft suspect rank {rank_of[i]} (score {x:.2f})"
                                        if s != "cleared" else f"meter {names[i]} no longer a theft suspect"))
