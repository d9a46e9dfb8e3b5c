"""The master meter / TTU between polls: per-interval and per-day statistics of its polls, the ring of
recent master power (the outage balance reads it) and the realtime summary of each poll."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.clock import EngineClock
from detect.columns import Columns
from detect.context import AreaContext
from detect.stages.balance import Balance
from detect.stages.load import Load
from detect.stages.polls import Polls
from detect.stages.thermal import Heat

__all__ = ["MASTER_RING", "REALTIME", "MasterState", "accumulate", "new_day", "realtime"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
MASTER_RING = 1024


@dataclass(eq=False)
class MasterState(Columns):
    PREFIX = "s."

    m_load_max: F64                # (S,) per open interval
    m_load_sum: F64
    m_n: I64
    m_imb_sum: F64
    m_imb_n: I64
    m_neutral_max: F64
    m_hot_max: F64
    m_u_n: I64                     # (S, 3) phase voltage readings, and those within the limits
    m_u_ok: I64
    day_load_max: F64              # (1,)
    master_ring_ts: F64            # (R,) recent polls for the outage balance
    master_ring_p: F64
    master_ring_pos: I64           # (1,)
    last_sample_ts: F64            # (1,) last master poll processed

    @classmethod
    def fresh(cls, n_slots: int) -> MasterState:
        s, nan = n_slots, np.nan
        return cls(m_load_max=np.full(s, nan), m_load_sum=np.zeros(s), m_n=np.zeros(s, np.int64),
                   m_imb_sum=np.zeros(s), m_imb_n=np.zeros(s, np.int64), m_neutral_max=np.full(s, nan),
                   m_hot_max=np.full(s, nan), m_u_n=np.zeros((s, 3), np.int64), m_u_ok=np.zeros((s, 3), np.int64),
                   day_load_max=np.full(1, nan), master_ring_ts=np.full(MASTER_RING, nan),
                   master_ring_p=np.full(MASTER_RING, nan), master_ring_pos=np.zeros(1, np.int64),
                   last_sample_ts=np.full(1, -math.inf))

    def reset_slot(self, slot: int) -> None:
        for name in ("m_load_sum", "m_n", "m_imb_sum", "m_imb_n", "m_u_n", "m_u_ok"):
            getattr(self, name)[slot] = 0
        for name in ("m_load_max", "m_neutral_max", "m_hot_max"):
            getattr(self, name)[slot] = np.nan


def accumulate(ctx: AreaContext, st: MasterState, clock: EngineClock, polls: Polls, load: Load, bal: Balance,
               heat: Heat) -> MasterState:
    """Per-interval and per-day master statistics, the recent-power ring, the last poll processed."""
    prm = ctx.params
    ts, beta, imb = polls.ts, load.beta, bal.imbalance_pct
    slots = clock.slots_for(ts, prm.interval_s)
    ok = slots >= 0
    s = slots[ok]
    np.fmax.at(st.m_load_max, s, beta[ok])
    b_ok = ok & ~np.isnan(beta)
    np.add.at(st.m_load_sum, slots[b_ok], beta[b_ok])
    np.add.at(st.m_n, slots[b_ok], 1)
    i_ok = ok & ~np.isnan(imb)
    np.add.at(st.m_imb_sum, slots[i_ok], imb[i_ok])
    np.add.at(st.m_imb_n, slots[i_ok], 1)
    np.fmax.at(st.m_neutral_max, s, bal.neutral_pct[ok])
    np.fmax.at(st.m_hot_max, s, heat.hot[ok])
    nom = prm.voltage.nominal_v
    low, high = nom * (1 + prm.voltage.low_pct / 100), nom * (1 + prm.voltage.high_pct / 100)
    u = polls.u
    for ph in range(3):
        uu = u[ok, ph]
        live = ~np.isnan(uu)
        np.add.at(st.m_u_n[:, ph], s[live], 1)
        np.add.at(st.m_u_ok[:, ph], s[live], ((uu[live] >= low) & (uu[live] <= high)).astype(np.int64))
    if np.isfinite(beta).any():
        st.day_load_max[0] = np.fmax(st.day_load_max[0], np.nanmax(beta))
    r = len(st.master_ring_ts)
    pos = int(st.master_ring_pos[0])
    p_kw = polls.col("p")
    for j in range(len(ts)):
        st.master_ring_ts[(pos + j) % r] = ts[j]
        st.master_ring_p[(pos + j) % r] = p_kw[j]
    st.master_ring_pos[0] = (pos + len(ts)) % r
    st.last_sample_ts[0] = ts[-1]
    return st


REALTIME = ("load_pct", "load_s_pct", "s_kva", "p_kw", "q_kvar", "u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n",
            "imbalance_pct", "neutral_pct", "hotspot_c", "top_oil_c", "ageing_rate", "loss_of_life_h",
            "time_to_limit_min", "pf", "f_hz", "t_amb_c")


def realtime(polls: Polls, load: Load, bal: Balance, heat: Heat) -> list[tuple[float, dict[str, Any]]]:
    """(poll time, fields) of the realtime summary of every poll; NaN and infinity are None. ``t_amb_c``
    is the ambient the thermal model used and ``ambient_source`` where it came from (``thermal``)."""
    c = polls.col
    table = np.column_stack([
        load.beta, load.beta_s, load.s_kva, c("p"), c("q"), c("u_a"), c("u_b"), c("u_c"), c("i_a"), c("i_b"),
        c("i_c"), c("i_n"), bal.imbalance_pct, bal.neutral_pct, heat.hot, heat.top_oil, heat.ageing,
        heat.loss_of_life_h, heat.ttl, c("pf"), c("f"), heat.ambient]).astype(np.float64)
    cells = table.astype(object)
    cells[~np.isfinite(table)] = None
    return [(float(t), dict(zip(REALTIME, row, strict=True)) | {"ambient_source": src})
            for t, row, src in zip(polls.ts, cells.tolist(), heat.source_names(), strict=True)]


def new_day(st: MasterState) -> MasterState:
    st.day_load_max[0] = np.nan
    return st
