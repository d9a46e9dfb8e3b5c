"""Scenarios turned into per-step arrays for one day: what the physics, the meters and the bus see.

Factors on the metering side are multipliers on what each measuring element registers, per element
(element 0 of a single-phase meter is its one phase): ``k_p`` on power/energy, ``k_i`` on the phase
current reading, ``k_u`` on the voltage reading, ``k_in`` on the neutral current reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.sim.catalogue import CATALOGUE
from edge.sim.config import ScenarioSpec, SimConfig
from edge.sim.network import Network

__all__ = ["DayEffects", "day_effects", "step_window"]

F64 = npt.NDArray[Any]
B = npt.NDArray[Any]

_THEFT_OFF = ("bypass_full", "relay_bypass")


@dataclass(kw_only=True, eq=False)
class DayEffects:
    demand: F64               # (T, N) demand multiplier
    temp_offset_c: F64        # (T,)
    overload: list[tuple[B, float]]
    emf_on: B                 # (T, 3)
    live: B                   # (T, N) connected to this network and energised
    foreign: B                # (T, N) fed by another transformer
    k_p: F64                  # (T, N, 3)
    k_i: F64                  # (T, N, 3)
    k_u: F64                  # (T, N, 3)
    k_in: F64                 # (T, N)
    jokar: list[tuple[int, str, B, dict[str, float]]]
    relay_open: B             # (T, N)
    cover_open: B             # (T, N)
    terminal_open: B          # (T, N)
    cover_events: F64         # (T, N) increments
    terminal_events: F64      # (T, N)
    silent: B                 # (T, N) not answering although powered
    master_silent: B          # (T,)
    gap_rate: F64             # (T, N)
    ct_recorded: F64          # (T, N) the ratio the records hold


def step_window(spec: ScenarioSpec, *, start: float, day_start: float, steps: int, step_s: int) -> B:
    """Steps of the day that fall in ``[start_h, end_h)`` of ``spec``."""
    t = day_start + step_s * np.arange(steps)
    return (t >= start + spec.start_h * 3600.0) & (t < start + spec.end_h * 3600.0)


def _terminal_opened(fx: DayEffects, step: int, meter: int, step_s: int) -> None:
    """The terminal cover is opened to fit the jumper: one event and SW7 b10 for 10 minutes."""
    fx.terminal_events[step, meter] += 1
    fx.terminal_open[step:step + max(1, 600 // step_s), meter] = True


def _fresh(net: Network, steps: int) -> DayEffects:
    n = net.n
    ones = np.ones((steps, n))
    return DayEffects(
        demand=ones.copy(), temp_offset_c=np.zeros(steps), overload=[], emf_on=np.ones((steps, 3), bool),
        live=np.ones((steps, n), bool), foreign=np.zeros((steps, n), bool),
        k_p=np.ones((steps, n, 3)), k_i=np.ones((steps, n, 3)), k_u=np.ones((steps, n, 3)),
        k_in=ones.copy(), jokar=[], relay_open=np.zeros((steps, n), bool),
        cover_open=np.zeros((steps, n), bool), terminal_open=np.zeros((steps, n), bool),
        cover_events=np.zeros((steps, n)), terminal_events=np.zeros((steps, n)),
        silent=np.zeros((steps, n), bool), master_silent=np.zeros(steps, bool),
        gap_rate=np.zeros((steps, n)), ct_recorded=np.broadcast_to(net.ct_ratio, (steps, n)).copy(),
    )


@dataclass(frozen=True, kw_only=True)
class _On:
    """One scenario on one day: its steps, subject index (-1: not a meter), element and first day."""

    sc: ScenarioSpec
    w: B                      # (T,) steps of the day inside the window
    t: F64                    # (T,) step start times
    i: int
    el: int
    first: bool               # the window starts on this day
    cfg: SimConfig


def _load(fx: DayEffects, on: _On) -> None:
    k, p, w = on.sc.kind, on.sc.params, on.w
    if k == "overload":
        fx.overload.append((w, float(p["peak_load_rate"])))
    elif k == "heat_wave":
        fx.temp_offset_c[w] += p["delta_c"]
    elif k == "vacant":
        fx.demand[w, on.i] = 0.0
    elif k == "load_growth":
        sc = on.sc
        frac = (on.t - on.cfg.start - sc.start_h * 3600.0) / ((sc.end_h - sc.start_h) * 3600.0)
        fx.demand[w] *= (1.0 + p["growth"] * np.clip(frac, 0.0, 1.0))[w, None]


def _scale_meter(fx: DayEffects, w: B, i: int, factor: float) -> None:
    """The meter registers ``factor`` of the power and current it should (every element and the neutral)."""
    fx.k_p[w, i, :] *= factor
    fx.k_i[w, i, :] *= factor
    fx.k_in[w, i] *= factor


def _theft(fx: DayEffects, on: _On) -> None:
    k, p, w, i, el = on.sc.kind, on.sc.params, on.w, on.i, on.el
    step_s = on.cfg.step_s
    if k.startswith("jokar"):
        fx.jokar.append((i, k, w, {kk: float(v) for kk, v in p.items()}))
    elif k in _THEFT_OFF:
        fx.k_p[w, i, :] = 0.0
        fx.k_i[w, i, :] = 0.0
        fx.k_in[w, i] = 0.0
        if k == "relay_bypass":
            fx.relay_open[w, i] = True
        elif p["terminal_open"] and on.first:
            _terminal_opened(fx, int(np.argmax(w)), i, step_s)
    elif k == "bypass_partial":
        _scale_meter(fx, w, i, 1.0 - p["fraction"])
        if p["terminal_open"] and on.first:
            _terminal_opened(fx, int(np.argmax(w)), i, step_s)
    elif k == "neutral_return":
        fx.k_in[w, i] *= 1.0 - p["fraction"]
        fx.k_p[w, i, 0] *= 1.0 - p["fraction"]
    elif k == "voltage_link_open":
        fx.k_u[w, i, el] = 0.0
        fx.k_p[w, i, el] = 0.0
    elif k == "shorted_ct":
        fx.k_i[w, i, el] = 0.0
        fx.k_p[w, i, el] = 0.0
    elif k == "reversed_ct":
        fx.k_p[w, i, el] *= -1.0
    elif k == "cover_open_drop":
        a = int(np.argmax(w))
        open_steps = max(1, round(p["open_minutes"] * 60.0 / step_s))
        if on.first:
            fx.cover_events[a, i] += 1
            fx.cover_open[a:a + open_steps, i] = True
        _scale_meter(fx, w, i, 1.0 - p["fraction"])


def _fault(fx: DayEffects, on: _On, net: Network) -> None:
    k, w, i, subject = on.sc.kind, on.w, on.i, on.sc.subject
    if k == "comm_loss":
        fx.silent[w, i] = True
    elif k == "branch_outage":
        fx.live[w[:, None] & (net.branch == net.branch_names.index(subject))[None, :]] = False
    elif k == "phase_loss":
        fx.emf_on[w, "ABC".index(subject)] = False
    elif k == "area_outage":
        fx.emf_on[w, :] = False
    elif k == "master_offline":
        fx.master_silent[w] = True


def _record_or_data(fx: DayEffects, on: _On) -> None:
    k, p, w, i = on.sc.kind, on.sc.params, on.w, on.i
    if k == "misregistered":
        fx.foreign[w, i] = True
        fx.live[w, i] = False
    elif k == "wrong_ct_ratio":
        fx.ct_recorded[w, i] = p["recorded_ratio"]
    elif k == "collection_gaps":
        cols = slice(None) if on.sc.subject == "area" else i
        fx.gap_rate[w, cols] = np.maximum(fx.gap_rate[w, cols], p["rate"])


def day_effects(cfg: SimConfig, net: Network, day_start: float, steps: int) -> DayEffects:
    """Effect arrays of every scenario active on the day that starts at ``day_start`` (epoch s)."""
    fx = _fresh(net, steps)
    index = {mid: i for i, mid in enumerate(net.ids)}
    t = day_start + cfg.step_s * np.arange(steps)
    for sc in cfg.scenarios:
        w = step_window(sc, start=cfg.start, day_start=day_start, steps=steps, step_s=cfg.step_s)
        if not w.any():
            continue
        i = index.get(sc.subject, -1)
        el = "ABC".index(sc.params["phase"]) if "phase" in sc.params else 0
        if i >= 0 and not net.three[i]:
            el = 0                               # a single-phase meter has one element
        first = bool(t[0] <= cfg.start + sc.start_h * 3600.0 < t[-1] + cfg.step_s)
        on = _On(sc=sc, w=w, t=t, i=i, el=el, first=first, cfg=cfg)
        family = CATALOGUE[sc.kind].truth
        if family == "load":
            _load(fx, on)
        elif family == "theft":
            _theft(fx, on)
        elif family == "fault":
            _fault(fx, on, net)
        else:
            _record_or_data(fx, on)
    return fx
