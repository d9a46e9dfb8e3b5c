"""What every meter registers, given the physical state of the day and the scenario effects.

Element convention: a three-phase meter has elements A, B, C; a single-phase meter has one element
(element 0, whatever phase it is connected to) and registers it as ``u_a``/``i_a``. Registers at step
``k`` are the values at the start of the step; energy registers are cumulative up to that instant, so
the energy of ``[t_a, t_b)`` is ``E(t_b) − E(t_a)`` and equals the sum of the steps in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.sim.effects import DayEffects
from edge.sim.loads import CLASS_RESIDENTIAL
from edge.sim.network import Network
from edge.sim.physics import Flow

__all__ = ["METER_QUANTITIES_SINGLE", "METER_QUANTITIES_THREE", "Metered", "apply_jokar", "element_view",
           "metering", "status_words"]

F64 = npt.NDArray[Any]

METER_QUANTITIES_SINGLE = ("u_a", "i_a", "i_n", "p", "q", "pf", "e_fwd", "e_rev")
METER_QUANTITIES_THREE = ("u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p", "q", "pf", "e_fwd", "e_rev")
U_NOMINAL_V = 220.0


def element_view(net: Network, flow: Flow) -> tuple[npt.NDArray[np.complex128], npt.NDArray[np.complex128]]:
    """Voltages and currents per metering element, (T, N, 3); unused elements are 0."""
    idx = np.where(net.three[:, None], np.arange(3)[None, :], net.phase[:, None].astype(np.intp))
    used = net.three[:, None] | (np.arange(3)[None, :] == 0)
    v = np.take_along_axis(flow.v_c, idx[None, :, :], axis=2) * used[None]
    i = np.take_along_axis(flow.i_c, idx[None, :, :], axis=2) * used[None]
    return v, i


@dataclass(frozen=True, kw_only=True, eq=False)
class Metered:
    """What the meters register (primary side, before the records' CT ratio), (T, N, 3) per element or
    (T, N) per meter, and the true active power at the terminals (T, N) for the truth."""

    p_el: F64
    q_el: F64
    u: F64
    i: F64
    i_n: F64                  # (T, N)
    p_true: F64               # (T, N) kW

    @property
    def p(self) -> F64:
        return np.asarray(self.p_el.sum(axis=2))

    @property
    def q(self) -> F64:
        return np.asarray(self.q_el.sum(axis=2))


def metering(net: Network, fx: DayEffects, *, v_el: npt.NDArray[np.complex128], i_el: npt.NDArray[np.complex128],
             powered: npt.NDArray[np.bool_], rng: np.random.Generator, noise: np.random.Generator,
             slot_steps: int, step_s: int) -> Metered:
    """Apply the metering-side effects (factors per element, then the Jokar attacks in scenario order) to the
    true terminal voltages and currents ``v_el``/``i_el`` (T, N, 3). Voltage readings carry each element's
    gain error and, like current readings, a random error per reading (from ``noise``); power and energy
    are exact (the balance truth stays exact). Under a Jokar attack the current reading follows the metered
    power at the true power factor."""
    spec = net.spec
    s_true = v_el * np.conj(i_el) / 1000.0
    p_true_el, q_true_el = s_true.real, s_true.imag
    p_el = p_true_el * fx.k_p
    q_el = q_true_el * fx.k_p
    u_read = np.abs(v_el) * fx.k_u * net.u_gain[None] * (1.0 + noise.normal(0.0, spec.u_noise_pct / 100.0, v_el.shape))
    i_err = 1.0 + noise.normal(0.0, spec.i_noise_pct / 100.0, i_el.shape)
    i_read = np.abs(i_el) * np.abs(fx.k_i) * i_err
    i_n_true = np.where(net.three[None, :], np.abs(i_el.sum(axis=2)), np.abs(i_el[:, :, 0]))
    i_n_read = i_n_true * fx.k_in * (1.0 + noise.normal(0.0, spec.i_noise_pct / 100.0, i_n_true.shape))
    for i, kind, w, prm in fx.jokar:
        old = p_el[:, i, 0].copy()
        new = apply_jokar(old, w, kind, prm, rng, slot_steps, step_s)
        ratio = np.divide(new, old, out=np.ones_like(new), where=np.abs(old) > 1e-9)
        q_el[:, i, 0] *= ratio
        p_el[:, i, 0] = new * powered[:, i]
        pf_i = np.abs(p_true_el[:, i, 0]) / np.maximum(np.abs(s_true[:, i, 0]), 1e-9)
        pf_i = np.where(np.abs(s_true[:, i, 0]) > 1e-9, pf_i, net.pf[i])
        cur = np.abs(p_el[:, i, 0]) * 1000.0 / np.maximum(u_read[:, i, 0], 1.0) / pf_i
        i_read[:, i, 0] = cur * i_err[:, i, 0]
        i_n_read[:, i] = cur * fx.k_in[:, i]
    return Metered(p_el=p_el, q_el=q_el, u=u_read, i=i_read, i_n=i_n_read, p_true=p_true_el.sum(axis=2))


def apply_jokar(p_kw: F64, w: npt.NDArray[np.bool_], kind: str, prm: dict[str, float],
                rng: np.random.Generator, slot_steps: int, step_s: int) -> F64:
    """Jokar et al. (2016) attack ``kind`` on one customer's metered power over the steps ``w``."""
    out = p_kw.copy()
    x = p_kw[w]
    if x.size == 0:
        return out
    slots = np.arange(x.size) // slot_steps
    gam = rng.uniform(prm.get("lo", 0.1), prm.get("hi", 0.8), size=int(slots[-1]) + 1)[slots]
    if kind == "jokar_h1":
        y = x * rng.uniform(prm["lo"], prm["hi"])
    elif kind == "jokar_h2":
        n_off = min(x.size, round(prm["off_hours"] * 3600.0 / step_s))
        a = int(rng.integers(0, x.size - n_off + 1))
        y = x.copy()
        y[a:a + n_off] = 0.0
    elif kind == "jokar_h3":
        y = x * gam
    elif kind == "jokar_h4":
        y = gam * x.mean()
    elif kind == "jokar_h5":
        y = np.full_like(x, x.mean())
    else:
        y = x[::-1].copy()
    out[w] = y
    return out


def status_words(net: Network, fx: DayEffects, *, u: F64, i: F64, p_el: F64, p: F64,
                 powered: npt.NDArray[np.bool_]) -> dict[str, F64]:
    """SW1..SW7 per DL/T 645-2007 (dlt645.md §3.3) from the registered values, (T, N) each."""
    ib = net.ib_a[None, :, None]
    three = net.three[None, :]
    used = (net.three[:, None] | (np.arange(3)[None, :] == 0))[None]
    rev = (p_el < -1e-6) & used
    sw1 = np.where(p < -1e-6, 1 << 4, 0)
    sw2 = (rev * (1 << np.arange(3))).sum(axis=2)
    prepaid = np.where(net.klass == CLASS_RESIDENTIAL, 1 << 8, 0)[None, :]
    sw3 = prepaid | np.where(fx.relay_open, 1 << 4, 0)
    i_max = i.max(axis=2, keepdims=True)
    vloss = (u < 0.78 * U_NOMINAL_V) & (i > 0.005 * ib) & three[..., None]
    under = (u < 198.0) & (u >= 0.78 * U_NOMINAL_V)
    over = u > 235.4
    iloss = (i < 0.005 * ib) & (i_max > 0.05 * ib) & (u > 0.7 * U_NOMINAL_V) & three[..., None]
    brk = (u < 0.6 * U_NOMINAL_V) & (i < 0.005 * ib) & three[..., None] & powered[..., None]
    bits = (vloss * 1 | under * 2 | over * 4 | iloss * 8 | rev * 64 | brk * 128) * used
    i_min = i.min(axis=2)
    unbal = three & (i_max[..., 0] > 0.05 * net.ib_a[None, :]) & (
        (i_max[..., 0] - i_min) / np.maximum(i_max[..., 0], 1e-9) > 0.3)
    sw7 = np.where(unbal, 1 << 3, 0) | np.where(fx.cover_open, 1 << 9, 0) | np.where(fx.terminal_open, 1 << 10, 0)
    return {"sw1": sw1.astype(np.float64), "sw2": sw2.astype(np.float64), "sw3": sw3.astype(np.float64),
            "sw4": bits[..., 0].astype(np.float64), "sw5": bits[..., 1].astype(np.float64),
            "sw6": bits[..., 2].astype(np.float64), "sw7": sw7.astype(np.float64)}
