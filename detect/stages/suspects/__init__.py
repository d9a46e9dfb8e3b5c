"""The daily suspect list (docs/lineloss.md §4): once a phase (or the area) has unexplained loss, every meter's
evidence, a score in 0–1, the estimated stolen energy per day and since when; ``theft_suspect`` alerts.

Evidence (each a strength in 0–1; the score is 1 − Π(1 − strength), so independent evidence adds up):

- **drop** (``detect.kernels.evidence.drop_match``): since the change point of a rising channel, the meter's
  daily energy on that channel against its baseline share of the channel's true consumption (metered +
  unexplained). The baseline is the days before the change point, so the evidence does not fade while the
  theft goes on. The channel's strongest drop that alone explains the rise is listed below the drop's
  listing level (``_drop_alone``, fourteenth round). On a flagged phase without a change point, drops are also
  measured from a step in what its listed shares leave of its NTL (``_behind_share``, twenty-eighth round: a
  second theft beside one present from the start).
- **voltage** (``evidence.voltage_excess``): for meters that register (almost) nothing, the voltage drop
  beyond what their branch-and-phase peers' drops explain — or, fitted beside it, beyond what those and the
  branch's other phases' drops explain (the neutral's drop moves every phase's voltage: ``other_phases``),
  whichever shows more — against their phase's unexplained current — a bypassed meter's
  cable still carries the current, whether the theft began before monitoring or not. Once seen it is held
  (``SuspectState.v_hold``) for as long as the meter goes on registering nothing and its phase stays
  flagged: a second theft on the same phase, or a week whose unexplained current is mostly noise, makes
  the correlation fade although nothing about the bypass changed. Held evidence the plain fit contradicts
  goes — on the second day in a row when it was seen on several days (``VOLTAGE_AGAINST_DAYS``); evidence a
  listed share's current explains goes too, unless it was seen on ``VOLTAGE_SURE_DAYS`` days before. A
  three-phase meter's evidence is its strongest phase's, and keeps the share off each of its phases.
- **share** (``evidence.joint_share``): the phase's hourly NTL regressed on all its meters' hourly energies
  at once, coefficients ≥ 0 — a shunt makes the NTL a fixed share of its own meter's series, present from
  day 0 or not, and the evidence lasts as long as the theft. Once listed by it, a meter keeps that strength
  (``SuspectState.s_hold``) while its fit stays above half the listing level, ``SHARE_HOLD`` (hysteresis: a
  small shunt's t wanders about the threshold from day to day), and while a change point on its phase (a
  second theft beginning) stops the fit, as long as the phase stays flagged (looked-at seed 5019: a shunt
  present from day 0 left the list for good when a bypass began on its phase on day 9.9) — also when that
  theft is a bypass, which excludes the phase from the fit. A bypass whose meter registered nothing on
  every day kept carries nothing: a share found before it was seen may be its own load (seed 5006). Such a
  meter's voltage evidence seen first days after a share of its phase was listed does not stop the fit
  (``_after_share``: a bypass present from the start draws its current from the first day). A phase whose
  voltage suspects are only such meters, none at full strength, is fitted all the same, and its one
  overwhelming share listed (``_overwhelms``: an empty house picks up a shunt's feeder drop as readily as a
  bypass shows its own).
  The phase's clear leader (``_clear_leader``) is listed below the share's listing level. In an area with
  CT-connected meters the phase's strongest share takes its coefficient and t from the fit across the phases
  without a change point (``_across_fit``), on the contrasts between their NTL, which a CT register's coarse
  step — common to every phase — does not blur. On a rising phase
  the same fit over the hours since its change point (``_onset_share``, eleventh round), believed only for
  a meter whose own daily drop since then agrees with it — fitted again without the meters whose drop does
  not (``_onset_refit``) — and held while that drop bears it out (``ONSET_HOLD_Z``).
- **correlation**: the meter's power changes interval by interval against its phase's NTL changes (a
  shunt makes the NTL a fixed share of its load).
- **zero** (``_zero``): on a flagged phase whose loss nothing above places, its meters that registered
  nothing all along (零电量户; at most ``zero_max``) — beside those listed when they place less than
  ``ZERO_BESIDE`` of the phase's excess, and on a rising phase for the excess it stood at before its change
  point (fifteenth round).
- **physical**: a physical-check alert active on the meter (``theft``).
- **shape**: while ``ntl_swing`` is raised, the within-day shape the meter lost to the NTL, or its
  time-reversed day matching the NTL (Jokar h5/h6, from ``theft.swing``).

Only meters on a flagged phase (``ntl_rise`` / ``ntl_phase``; all three with only an area ``ntl_rise`` or
``ntl_level``; three-phase meters always) are ranked; equal scores first those today's evidence lists on its
own (not only evidence held from earlier days), then by how long each has been listed, then the deeper voltage
sag today (``_order``).
"""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime, timezone
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.area import PHASE_ABC, PHASES
from detect.context import AreaContext
from detect.observe import AlarmSpec, AlarmView, Condition, Seen
from detect.stages.loss import LossDay, LossInterval, LossState
from detect.stages.ntl import NtlDay
from detect.stages.suspects import correlation, drop, onset, share, voltage, zero
from detect.stages.suspects.base import F64, I64, Evidence, Fit, SuspectState, _flagged, _rows, _store_day
from detect.stages.suspects.share import ACROSS
from detect.stages.theft import CHECKS, Swing

__all__ = ["SuspectState", "alarms", "close_day", "interval"]


RELIST_DAYS = 3              # a suspect listed again within this many days keeps its "since"


def alarms(ctx: AreaContext) -> list[AlarmSpec]:
    return [AlarmSpec(key="theft_suspect@meter", subjects=ctx.n_meters)]


def interval(ctx: AreaContext, st: SuspectState, li: LossInterval, k: int) -> SuspectState:
    """Interval ``k`` closed: keep its power-based energies, drops and NTL for the day's ranking."""
    r = k % len(st.v_k)
    st.v_k[r], st.v_du[r], st.v_ntl[r] = k, li.du, li.ntl_phase_kwh
    c = k % len(st.c_k)
    st.c_k[c], st.c_p[c] = k, li.p_kwh
    st.c_ntl[c] = np.append(li.ntl_phase_kwh, li.ntl_kwh)
    st.c_ntl_read[c] = li.ntl_phase_read_kwh
    return st


def close_day(ctx: AreaContext, st: SuspectState, nd: NtlDay, swing: Swing, ld: LossDay, ls: LossState,
              end: float, alarms: AlarmView) -> tuple[SuspectState, Seen]:
    """The day's suspects (``fields["suspects"]``) and the ``theft_suspect`` conditions."""
    tp, area, n = ctx.params.theft, ctx.area, ctx.n_meters
    _store_day(st, nd.day, ld)
    # a phase stays flagged while its ntl_phase alarm is on (it clears below half the margin), not only on
    # the days it meets the raise condition: a theft present from day 0 goes on while its phase's excess
    # wanders about the margin, and so does its listing
    nd = dataclasses.replace(nd, excess=nd.excess | alarms["ntl_phase@phase"],
                             level=bool(nd.level or alarms["ntl_level@area"][0]))
    signal = bool(nd.rising.any() or nd.excess.any() or nd.level or alarms["ntl_swing@area"][0]
                  or alarms["line_loss_high@area"][0])
    ev = Evidence.empty(n, ("drop", "voltage", "share", "correlation", "zero", "physical", "shape"))
    k_end = int(end // ctx.params.interval_s)
    if not signal:
        st.v_hold, st.s_hold, st.s_b, st.d_hold = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
        st.v_against, st.v_seen, st.o_hold = np.zeros(n), np.zeros(n), np.zeros(n)
    if signal:
        drops = drop._drop(ctx, st, nd, ev)
        fits: dict[int, Fit | None] = {}          # each phase's joint share, fitted at most once a day
        across = share._across_phases(ctx, st, nd)
        if across.any():
            fits[ACROSS] = share._across_steady(share._across_fit(ctx, st, ls, k_end, across),
                                                share._across_fit(ctx, st, ls, k_end - ctx.per_day, across),
                                                tp.share_z)
        voltage._voltage(ctx, st, ls, nd, k_end, ev, ld.meter_fwd_kwh, ld.ch_sup[:3], fits)
        share._share(ctx, st, ls, nd, k_end, ev, fits)
        onset._onset_share(ctx, st, ls, nd, k_end, ev, drops)
        correlation._correlation(ctx, st, nd, k_end, ev)
        zero._zero(ctx, st, nd, ev, ld.meter_fwd_kwh, ld.ch_sup[:3])
        _within_loss(ctx, st, nd, ev)
    for check in CHECKS:
        ev.strength["physical"] = np.maximum(ev.strength["physical"],
                                             tp.weight_physical * alarms[f"{check}@meter"].astype(np.float64))
    if alarms["ntl_swing@area"][0] and swing.shape is not None and swing.reversal is not None:
        ev.strength["shape"] = np.clip(tp.weight_shape * (swing.shape + swing.reversal), 0.0, 1.0)
        ev.put("shape", np.arange(n), swing.shape)
        ev.put("reversal", np.arange(n), swing.reversal)
    score = ev.score()
    if _flagged(nd).any() and not alarms["ntl_swing@area"][0]:
        on_flagged = _flagged(nd)[np.minimum(area.meter_phase, 2)] | (area.meter_phase == PHASE_ABC)
        score = np.where(on_flagged | (ev.strength["physical"] > 0), score, 0.0)
    # equal scores (strong evidence saturates at 1) rank by how long each has been listed: an inspector's
    # list keeps its order from day to day, and a suspect found later does not push one found earlier out
    # of the top (looked-at 14011: a 0.96 % shunt, fourth of four at score 1 by meter number behind an
    # innocent listed a day after it, out of the top 3 on all 8 days of its theft) — after those whose
    # evidence seen today lists them (``_order``)
    fresh = np.isnan(st.since) | ~(end - st.last_listed <= (RELIST_DAYS + 1) * 86400.0)
    order = _order(ev, score, np.where(fresh, np.inf, st.since), tp.min_score)
    top = order[:tp.top_k]
    top = top[score[top] >= tp.min_score] if signal else top[:0]
    listed = np.zeros(n, np.bool_)
    listed[top] = True
    st.since = np.where(listed, np.where(fresh, end, st.since), st.since)
    st.last_listed = np.where(listed, end, st.last_listed)
    return st, _seen(ctx, st, ev, score, top, end)


def _within_loss(ctx: AreaContext, st: SuspectState, nd: NtlDay, ev: Evidence) -> None:
    """Each estimated stolen energy at most the most its channel (a single-phase meter's phase, a three-phase
    meter's area) lost unexplained on a day of the week the estimates are drawn from (``d_ntl``, kWh): more
    cannot be true. A share's estimate is its coefficient × the meter's daily energy, and a coefficient a
    bypass's load gives to the meter whose hours are like it can be several times that meter's own energy (b 3:
    84 kWh a day on a phase that lost 7). Each estimate is what that meter takes if it is the thief: the
    estimates listed on a phase are alternatives and need not add up to its loss. After every evidence, so it
    orders nothing (``_zero`` reads the estimates as they are)."""
    rows = _rows(st, nd.day - 6, nd.day)
    ntl = st.d_ntl[rows]
    if not np.isfinite(ntl).any():
        return
    most = np.max(np.where(np.isfinite(ntl), ntl, -np.inf), axis=0)
    ch = np.minimum(ctx.area.meter_phase, 3)          # PHASE_ABC → the area's channel
    cap = np.where(np.isfinite(most[ch]), np.maximum(most[ch], 0.0), np.inf)
    np.minimum(ev.stolen, cap, out=ev.stolen, where=np.isfinite(ev.stolen))


def _order(ev: Evidence, score: F64, since: F64, min_score: float) -> I64:
    """The meters by score; equal scores (strong evidence saturates at 1) first those whose evidence seen today
    alone — without what is only held from earlier days (``share_held``, ``voltage_held``, ``drop_held``) —
    reaches ``min_score``, then by how long each has been listed (``since``, the time its listing began; inf
    for none). Held evidence keeps a suspect listed where today's fit wanders; it does not rank a suspect
    above one that today's evidence names as strongly (looked-at 23019: a 94 % shunt, 4.33 % of the supply,
    listed from its first whole day at score 1 by its drop at z 14–42, fourth on all 8 days of its theft
    behind three listed before it — among them an innocent held by a share at b 0.26 and a thief held by
    its share). Listed equally long, the stronger voltage evidence today first (``voltage_z``): listed together
    by the zero evidence on their first day, a bypass and an empty house of its phase both came to score 1 by
    their voltage, and the meter number put the empty house at z 5.1–5.7 above the 2.30 % bypass at z 9.6–10.2
    (looked-at 26014); an inspector goes first where the sag is deepest."""
    vz = ev.detail.get("voltage_z")
    deeper = np.zeros(ev.n) if vz is None else -np.nan_to_num(vz, nan=0.0)
    return np.lexsort((deeper, since, ev.score(today=True) < min_score, -score))


def _since(ctx: AreaContext, ev: Evidence, st: SuspectState, i: int) -> str:
    """The local date the meter's theft began as far as the evidence says: the change point's day, else the
    first day it was listed."""
    day = int(ev.onset[i]) if ev.onset[i] >= 0 else ctx.day_of(float(st.since[i]) - 1.0)
    return datetime.fromtimestamp(day * 86400.0, tz=timezone.utc).strftime("%Y-%m-%d")


def _seen(ctx: AreaContext, st: SuspectState, ev: Evidence, score: F64, top: npt.NDArray[np.intp],
          end: float) -> Seen:
    names, n = ctx.area.meter_ids, ctx.n_meters
    rank_of = np.zeros(n, np.int64)
    rank_of[top] = np.arange(1, len(top) + 1)

    def evidence(i: int) -> dict[str, Any]:
        out: dict[str, Any] = {f"{k}_strength": round(float(v[i]), 3) for k, v in ev.strength.items() if v[i] > 0}
        out |= {k: round(float(v[i]), 4) for k, v in ev.detail.items() if math.isfinite(v[i])}
        ph = int(ctx.area.meter_phase[i])
        out["phase"] = PHASES[ph] if ph < 3 else "ABC"
        return out

    def entry(j: int, i: int) -> dict[str, Any]:
        stolen = float(ev.stolen[i])
        return {"meter": names[i], "rank": j + 1, "score": round(float(score[i]), 4),
                "stolen_kwh_per_day": round(stolen, 3) if math.isfinite(stolen) else None,
                "since": _since(ctx, ev, st, i), "evidence": evidence(i)}

    on = np.zeros(n, np.bool_)
    on[top] = True
    cond = Condition(key="theft_suspect@meter", subj=np.arange(n), ts=np.full(n, end), on=on, off=~on,
                     valid=np.ones(n, np.bool_), values=score, threshold=ctx.params.theft.min_score, unit="",
                     updates=False, severity=lambda _x: "warning",
                     evidence=lambda i: {"rank": int(rank_of[i]), "score": float(score[i]), **evidence(i)},
                     describe=lambda s, i, x: (f"meter {names[i]} theft suspect rank {rank_of[i]} (score {x:.2f})"
                                               if s != "cleared" else f"meter {names[i]} no longer a theft suspect"))
    return Seen(conditions=(cond,), fields={"suspects": [entry(j, int(i)) for j, i in enumerate(top.tolist())]})
