"""Zero evidence (零电量户): the meters that registered nothing on a phase whose loss nothing else places
(docs/lineloss.md §4, zero row)."""

from __future__ import annotations

import math

import numpy as np

from detect.context import AreaContext
from detect.stages.ntl import NtlDay
from detect.stages.suspects.base import (
    F64,
    B,
    Evidence,
    SuspectState,
    _phase_excess_kwh,
    _phase_onsets,
    _registered,
    _rows,
)

ZERO_BESIDE = 0.5            # zero: a phase's meters that registered nothing are listed beside those listed on it
                             # (by more than their share) when their stolen energy accounts for less than this
                             # share of the phase's excess


def _zero(ctx: AreaContext, st: SuspectState, nd: NtlDay, ev: Evidence, fwd_kwh: F64, phase_sup: F64) -> None:
    """The meters that registered nothing on a phase whose unexplained loss no evidence places.

    A bypass present from the start registers nothing from the first day, as an empty house does; its voltage
    sags with its current, but a small one's sag is lost in the meters' 0.1 V steps for weeks (looked-at
    seed 11022: a 1.1 % bypass, voltage z below 1.5 for 18 days while its phase stood 3 % above the others
    from day 1). The loss is someone's on that phase, and a meter that has registered nothing all along is
    where an inspector looks first (零电量户): on a phase in ``ntl_phase`` without a change point where no
    one is listed, its meters that registered less than ``low_energy_kwh`` on every stored day — read at
    least on the day — are listed at the listing score, when there are at most ``zero_max`` of them (more:
    vacant flats, nothing to tell them apart by). Their voltage does not order them: against the phase's
    unexplained current an empty house's drop beyond its peers' follows the peers' own load, the same
    daily shape, and its z came out as often below a bypass's as above. For the same reason a meter that
    registered nothing all along and is listed only by its voltage evidence does not place the loss: the
    phase's other such meters are listed beside it — evidence held from an earlier day (looked-at 13006: an
    empty house at z 2.3 on the third day, held, and the 0.58 % bypass on its phase, z under 1.5, unlisted
    until day 17), and since the twenty-seventh round evidence seen today (looked-at 30006: an empty house at
    z 3.3–4.5 took the zero evidence's place from a 0.62 % bypass from day 0 at z 1.6–3.0, off the list on 9
    of its 21 days; 30007's 0.49 % day-0 bypass out of the top 3 on 8). The zero evidence adds nothing to a
    meter its own voltage lists: with it, looked-at 30014's empty house tied its phase's 1.95 % bypass at
    score 1 and ranked first on 11 days more.
    A rise has its own change point: a meter registering nothing before it as well did not begin it — but
    where the phase stood above the reference before the change point as far as ``ntl_phase`` asks (its
    frozen baseline), that standing excess is still someone's, and its meters that registered nothing stay
    listed for it whoever the rise lists (looked-at 16011: a 0.66 % bypass from day 0 on phase A, listed from
    day 1, off the list on the 9 days after a 4.9 % bypass began on the same phase on day 14).

    Beside those listed on the phase by their joint share alone, and beside the others when what they are
    estimated to take accounts for less than ``ZERO_BESIDE`` of the phase's excess (the loss is still mostly
    no one's): a bypass's load goes to the meters whose hours are like it, at a tenth of a customer's energy
    (looked-at 16006: a 0.61 % bypass from day 0, off the list on 12 of its 21 days behind innocents listed by
    shares with b 0.06–0.5) or at all of the phase's excess (looked-at 27006, 27014, 26006, 26022: day-0
    bypasses of 0.43–1.9 %, off the list on 2–7 of their 21 days behind innocents listed by shares at t 3–21
    that placed it all). Below a shunt present from the start, listed by its share, its phase's empty houses
    stay listed too: mostly they were listed before the share could be fitted, and an inspector who finds
    no shunt there looks at them next."""
    tp, area = ctx.params.theft, ctx.area
    if tp.zero_max <= 0:
        return
    e = st.d_e[_rows(st, nd.day - len(st.d_day) + 1, nd.day)]
    never = ~_registered(st, tp.low_energy_kwh, nd.day) & np.isfinite(fwd_kwh) & (fwd_kwh < tp.low_energy_kwh)
    volt_only = never & (ev.strength["voltage"] > 0.0) & (ev.score(without="voltage") < tp.min_score)
    # nor does a meter listed by its share alone, whatever the share places: a bypass's load goes to the meter
    # whose hours are most like it, and what the zero evidence lists stays listed below it (looked-at 14011:
    # an innocent led at t 1.9, b 1.9, on days 2–4 beside a full bypass; 27006: a 0.43 % bypass off the list
    # on 7 of its 21 days behind an innocent at t 3.2–4.6, b 0.2–0.3, that placed all of its phase's excess)
    share_only = (ev.strength["share"] > 0.0) & (ev.score(without="share") < tp.min_score)
    listed = (ev.score() >= tp.min_score) & ~volt_only & ~share_only
    onset = _phase_onsets(nd)
    # a rising phase that stood above the reference before its change point as far as ``ntl_phase`` asks
    standing = np.where(nd.rising[:3], nd.baseline_pct[:3] - (nd.pct[:3] - nd.phase_excess_pp), np.nan)
    carried = (onset >= 0) & (standing >= ctx.params.tech_loss.phase_excess_pp)
    for p in np.flatnonzero(((nd.rising[:3] | nd.excess) & (onset < 0)) | carried):
        on = area.meter_phase == p
        here = np.flatnonzero(on & never)
        if not 0 < len(here) <= tp.zero_max:
            continue
        if carried[p]:               # the rise's own evidence names its thief; the standing excess is apart
            excess = float(standing[p]) / 100.0 * float(phase_sup[p])
        else:
            excess = _phase_excess_kwh(nd, phase_sup, int(p))
            if listed[on].any() and not _placed_below(ev, on & listed, excess):
                continue
        # nothing added to a meter its own voltage lists: the zero evidence lists what nothing else does
        own = here[ev.strength["voltage"][here] < tp.min_score]
        ev.strength["zero"][own] = np.maximum(ev.strength["zero"][own], tp.min_score)
        ev.put("zero_days", here, np.isfinite(e[:, here]).sum(axis=0).astype(np.float64))
        take = here[~np.isfinite(ev.stolen[here])]
        if math.isfinite(excess) and excess > 0:
            ev.stolen[take] = excess / len(here)


def _placed_below(ev: Evidence, listed: B, excess: float) -> bool:
    """Whether the ``listed`` meters' estimated stolen energy accounts for less than ``ZERO_BESIDE`` of a
    phase's ``excess`` (kWh) — not when any of theirs is unknown, nor without an excess to place."""
    took = ev.stolen[listed]
    return math.isfinite(excess) and excess > 0 and bool(np.isfinite(took).all()) \
        and float(took.sum()) < ZERO_BESIDE * excess
