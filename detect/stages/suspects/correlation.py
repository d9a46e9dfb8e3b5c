"""Correlation evidence: a meter's interval power changes against its phase's NTL changes (docs/lineloss.md
§4, correlation row)."""

from __future__ import annotations

import numpy as np

from detect.area import PHASE_ABC
from detect.context import AreaContext
from detect.stages.ntl import NtlDay
from detect.stages.suspects.base import Evidence, SuspectState, _flagged, _ramp

MIN_PAIRS = 96               # correlation evidence needs a day of interval changes


def _correlation(ctx: AreaContext, st: SuspectState, nd: NtlDay, k_end: int, ev: Evidence) -> None:
    tp, area = ctx.params.theft, ctx.area
    first = min((int(nd.onset[c]) for c in np.flatnonzero(nd.rising)), default=-1)
    w = len(st.c_k)
    k0 = max(k_end - w, ctx.first_interval(first)) if first >= 0 else k_end - w
    ks = np.arange(k0, k_end)
    rows = ks % w
    ok = st.c_k[rows] == ks
    x = np.where(ok[:, None], st.c_p[rows], np.nan).astype(np.float64).T
    ref = np.where(ok[:, None], st.c_ntl[rows], np.nan).astype(np.float64).T
    ref_row = np.where(area.meter_phase == PHASE_ABC, 3, area.meter_phase).astype(np.int64)
    corr, n = np.empty(area.n_meters), np.empty(area.n_meters, np.int64)
    ctx.ops["mapping"].pair_corr(np.ascontiguousarray(x), np.ascontiguousarray(ref), ref_row, True, corr, n)
    z = np.where(n >= MIN_PAIRS, corr * np.sqrt(n), np.nan)
    # not on phases flagged by the area's level alone: a standing NTL that is no one's theft (a load on no
    # meter, meters' own consumption) leaves the interval NTL's load-following errors, and every meter of
    # the crafted healthy area correlated with them at z 6–12; the joint share, a fixed share of one
    # meter's series, is what names a theft present from the start
    flag = _flagged(nd, level=False)
    s = _ramp(z, tp.corr_z) * flag[np.minimum(ref_row, 2)]
    s = np.where(area.meter_phase == PHASE_ABC, _ramp(z, tp.corr_z) * flag.any(), s)
    ev.strength["correlation"] = s
    ev.put("corr_z", np.arange(area.n_meters), z)
    # a shunt passing a share δ of the metered energy: the NTL changes by δ per unit of the meter's changes
    dx, dy = np.diff(x, axis=1), np.diff(ref[ref_row], axis=1)
    both = np.isfinite(dx) & np.isfinite(dy)
    cnt = np.maximum(both.sum(axis=1), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = [(np.where(both, v, 0.0) ** 2).sum(axis=1) / cnt - (np.where(both, v, 0.0).sum(axis=1) / cnt) ** 2
               for v in (dx, dy)]
        delta = corr * np.sqrt(var[1] / var[0])
        got = np.isfinite(x)
        daily = np.where(got, x, 0.0).sum(axis=1) / np.maximum(got.sum(axis=1), 1) * ctx.per_day
    take = (s > 0) & ~np.isfinite(ev.stolen)
    ev.stolen[take] = np.clip(delta * daily, 0.0, None)[take]
