"""Vectorised power flow of a radial LV area: currents, voltages and I²R losses for a whole day at once.

Model (per phase, phasors, 50 Hz fundamental only):

- the transformer is an EMF ``E_φ`` behind its short-circuit impedance ``Z_tr``; the master meter sits
  at the LV bus after it, so transformer losses are not part of the area's loss (detection.md §0);
- each branch is a feeder of equal resistive segments, phase conductor ``R`` and neutral ``R_N``;
  the voltage a customer sees is ``V_bus − Σ R·I_φ − Σ R_N·I_N`` along its path minus the drop of its
  own service cable (phase and neutral conductor, resistance per customer) from the current really
  flowing in it, metered or not; unbalanced load therefore shifts the neutral and the phase voltages;
- loads are constant power: ``I = conj(S / V)``, solved by fixed-point iteration. The last step
  recomputes the voltages from the final currents, so the solution is a consistent circuit state and
  by Tellegen's theorem the power through the master equals the customers' power plus the I²R losses
  to rounding error — the energy balance is exact by construction, not by bookkeeping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.sim.network import Network

__all__ = ["Flow", "phase_shares", "solve"]

F64 = npt.NDArray[Any]
C128 = npt.NDArray[Any]

ROT = np.exp(-2j * math.pi / 3 * np.arange(3))     # phase angles of A, B, C


@dataclass(frozen=True, kw_only=True, eq=False)
class Flow:
    v_bus: C128          # (T, 3) LV bus (master meter) voltages
    i_tr: C128           # (T, 3) transformer phase currents
    v_c: C128            # (T, N, 3) customer terminal voltages (meaningless where share == 0)
    i_c: C128            # (T, N, 3) customer phase currents
    loss_line_w: F64     # (T,) phase conductors of the feeders
    loss_neutral_w: F64  # (T,) neutral conductors of the feeders
    loss_service_w: F64  # (T,) service drops, phase and neutral

    @property
    def p_master_w(self) -> F64:
        """Active power through the master per phase, (T, 3)."""
        return (self.v_bus * np.conj(self.i_tr)).real

    @property
    def p_cust_w(self) -> F64:
        """Active power at each customer's terminals per phase, (T, N, 3)."""
        return (self.v_c * np.conj(self.i_c)).real

    @property
    def loss_w(self) -> F64:
        return self.loss_line_w + self.loss_neutral_w + self.loss_service_w


def phase_shares(net: Network) -> F64:
    """(N, 3): the share of a customer's power on each phase (one-hot, or 1/3 for three-phase)."""
    share = np.zeros((net.n, 3))
    single = ~net.three
    share[np.flatnonzero(single), net.phase[single].astype(np.intp)] = 1.0
    share[net.three] = 1.0 / 3.0
    return share


def solve(net: Network, *, s_kva: C128, emf_v: C128, live: npt.NDArray[np.bool_],
          iterations: int = 3) -> Flow:
    """Solve one block of steps.

    ``s_kva`` (T, N): complex power each customer draws (negative real part = PV export);
    ``emf_v`` (T, 3): transformer EMF per phase (0 on a lost phase or during an outage);
    ``live`` (T, N): customer connected to this network and its branch energised.
    """
    spec = net.spec
    r = spec.segment_r_ohm
    r_n = r * spec.neutral_r_factor
    r_s = net.service_r[None, :, None]
    z_base = spec.lv_voltage ** 2 / (spec.rated_kva * 1000.0)
    z_tr = 0.04 * z_base * (1.0 + 2.0j) / math.sqrt(5.0)          # u_k = 4 %, X/R = 2
    share = phase_shares(net)
    s_el = s_kva[:, :, None] * 1000.0 * share[None, :, :]          # (T, N, 3) VA
    powered = live[:, :, None] & (share[None] > 0) & (np.abs(emf_v)[:, None, :] > 1.0)
    b, k = spec.branches, spec.nodes_per_branch
    steps = s_el.shape[0]
    order = np.argsort(net.node, kind="stable")
    nodes, starts = np.unique(net.node[order], return_index=True)
    v_c = np.broadcast_to(emf_v[:, None, :], s_el.shape).astype(np.complex128)
    for _ in range(iterations):
        safe = np.where(powered, v_c, 1.0)
        i_c = np.where(powered, np.conj(s_el / safe), 0.0)
        # Node injections (T, S, 3); a segment carries everything at or beyond it on its branch
        # (reverse cumulative sum along the feeder); the neutral carries the phasor sum back.
        inj = np.zeros((steps, b * k, 3), dtype=np.complex128)
        inj[:, nodes, :] = np.add.reduceat(i_c[:, order, :], starts, axis=1)
        inj4 = inj.reshape(steps, b, k, 3)
        i_seg = np.flip(np.cumsum(np.flip(inj4, axis=2), axis=2), axis=2)
        i_seg_n = i_seg.sum(axis=3)
        drop = np.cumsum(r * i_seg + r_n * i_seg_n[..., None], axis=2).reshape(steps, b * k, 3)
        i_tr = inj.sum(axis=1)
        v_bus = emf_v - z_tr * i_tr
        v_node = v_bus[:, None, :] - drop
        v_c = v_node[:, net.node, :] - r_s * i_c - r_s * i_c.sum(axis=2)[:, :, None]
        v_c = np.where(powered, v_c, 0.0)
    loss_line = r * (np.abs(i_seg) ** 2).sum(axis=(1, 2, 3))
    loss_neutral = r_n * (np.abs(i_seg_n) ** 2).sum(axis=(1, 2))
    loss_service = (net.service_r[None, :] * ((np.abs(i_c) ** 2).sum(axis=2) + np.abs(i_c.sum(axis=2)) ** 2)).sum(axis=1)
    return Flow(v_bus=v_bus, i_tr=i_tr, v_c=v_c, i_c=i_c, loss_line_w=loss_line,
                loss_neutral_w=loss_neutral, loss_service_w=loss_service)
