"""The area simulator: day by day, demand → power flow → meter registers, with exact truth.

``AreaSimulator(cfg).day(d)`` returns a ``DayResult`` for day ``d`` (days must be asked in order; the
simulator carries the registers across days). ``AreaSource`` wraps it as an ``edge.sim.source
.ValueSource`` for the simulated meter bus and TTU. Randomness comes from ``(seed, day)`` streams, so a
given seed always gives the same area and the same days.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.sim.config import SimConfig
from edge.sim.effects import DayEffects, day_effects, step_window
from edge.sim.loads import ambient_c, day_demand
from edge.sim.meters import (
    METER_QUANTITIES_SINGLE,
    METER_QUANTITIES_THREE,
    element_view,
    metering,
    status_words,
)
from edge.sim.network import Network, build_network
from edge.sim.physics import ROT, Flow, solve

__all__ = ["MASTER_QUANTITIES", "AreaSimulator", "AreaSource", "DayResult"]

F64 = npt.NDArray[Any]
B = npt.NDArray[Any]
C128 = npt.NDArray[Any]
MASTER_QUANTITIES = ("u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p", "p_a", "p_b", "p_c", "q", "pf", "f",
                     "e_fwd", "e_rev", "t_amb")
EVENTS = ("evt_cover_open", "evt_terminal_open", "evt_power_down", "evt_event_clear", "evt_meter_clear")
BALANCE = ("supply_kwh", "sales_kwh", "technical_loss_kwh", "stolen_kwh", "record_error_kwh",
           "loss_line_kwh", "loss_neutral_kwh", "loss_service_kwh")


@dataclass(frozen=True, kw_only=True, eq=False)
class DayResult:
    day: int
    t: F64                          # (T,) epoch s of each step's start
    meter: dict[str, F64]           # quantity -> (T, N) as reported (records' CT ratio, register floors)
    meter_daily: F64                # (N,) reported e_fwd at the day's midnight freeze
    powered: B                      # (T, N)
    silent: B                       # (T, N) powered but not answering (comm loss)
    gap_rate: F64                   # (T, N)
    master: dict[str, F64]          # quantity -> (T,)
    master_silent: B                # (T,)
    balance: dict[str, F64]         # BALANCE name -> (T,) kWh per step
    stolen_by_meter_kwh: F64        # (T, N) true − metered, customers fed by this transformer
    three: B                        # (N,)


@dataclass(frozen=True, kw_only=True, eq=False)
class _Physical:
    """The day's physical state, before any meter registers it."""

    flow: Flow
    t_amb: F64                      # (T,) °C
    v_el: C128                      # (T, N, 3) terminal voltage per metering element (foreign customers too)
    i_el: C128                      # (T, N, 3) current per metering element
    powered: B                      # (T, N)


class AreaSimulator:
    """Runs the area one day at a time; state (registers, counters) carries over between days."""

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.net: Network = build_network(cfg.area, cfg.seed)
        self.steps = 86400 // cfg.step_s
        n = self.net.n
        self._e_fwd = self.net.e0_kwh.copy()          # physical (primary) registers, unfloored
        self._e_rev = np.zeros(n)
        self._rep_net: F64 | None = None              # last reported net energy (record ratio applied)
        self._events = {name: np.zeros(n) for name in EVENTS}
        self._powered = np.ones(n, bool)
        self._m_fwd = 250000.0
        self._m_rev = 0.0
        self.next_day = 0

    def day(self, d: int) -> DayResult:
        """Simulate day ``d`` (0-based from ``cfg.start``); days must be simulated in order."""
        if d != self.next_day:
            raise ValueError(f"day {d} asked but the simulator is at day {self.next_day} (days run in order)")
        cfg, net = self.cfg, self.net
        dt_h = cfg.step_s / 3600.0
        day_start = cfg.start + d * 86400.0
        t = day_start + cfg.step_s * np.arange(self.steps)
        rng = np.random.default_rng([cfg.seed, d + 1])
        noise = np.random.default_rng([cfg.seed, d + 1, 0x4E01])      # measurement errors, their own stream
        fx = day_effects(cfg, net, day_start, self.steps)
        phys = self._physics(t, rng, fx)
        m = metering(net, fx, v_el=phys.v_el, i_el=phys.i_el, powered=phys.powered, rng=rng, noise=noise,
                     slot_steps=max(1, 900 // cfg.step_s), step_s=cfg.step_s)
        fed = ~fx.foreign
        e_step = m.p * dt_h
        e_fwd, e_rev, rec, record_error, daily = self._energy_registers(e_step, fx, fed)
        events = self._count_events(fx, phys.powered)
        sw = status_words(net, fx, u=m.u, i=m.i, p_el=m.p_el, p=m.p, powered=phys.powered)
        meter = self._meter_registers(m.u, m.i * rec[..., None], m.i_n * rec, m.p * rec, m.q * rec,
                                      e_fwd, e_rev, rec)
        meter.update(sw)
        meter.update(events)
        master = self._master(phys.flow, phys.t_amb, dt_h, rng, noise)
        stolen = (m.p_true - m.p) * fed * dt_h
        flow = phys.flow
        balance = {
            "supply_kwh": flow.p_master_w.sum(axis=1) / 1000.0 * dt_h,
            "sales_kwh": (e_step * fed).sum(axis=1),
            "technical_loss_kwh": flow.loss_w / 1000.0 * dt_h,
            "stolen_kwh": stolen.sum(axis=1),
            "record_error_kwh": record_error,
            "loss_line_kwh": flow.loss_line_w / 1000.0 * dt_h,
            "loss_neutral_kwh": flow.loss_neutral_w / 1000.0 * dt_h,
            "loss_service_kwh": flow.loss_service_w / 1000.0 * dt_h,
        }
        self.next_day += 1
        return DayResult(day=d, t=t, meter=meter, meter_daily=daily, powered=phys.powered, silent=fx.silent,
                         gap_rate=fx.gap_rate, master=master, master_silent=fx.master_silent,
                         balance=balance, stolen_by_meter_kwh=stolen, three=net.three)

    def _physics(self, t: F64, rng: np.random.Generator, fx: DayEffects) -> _Physical:
        """Demand, the power flow (overload calibrated) and every customer's true terminal quantities."""
        cfg, net, steps = self.cfg, self.net, self.steps
        hour = (t % 86400.0) / 3600.0
        weekend = ((int(t[0] // 86400) + 3) % 7) >= 5          # 1970-01-01 was a Thursday
        t_amb = ambient_c(hour, mean_c=cfg.area.t_mean_c + rng.normal(0, 1.5), swing_c=cfg.area.t_swing_c,
                          offset_c=fx.temp_offset_c)
        dem = day_demand(hour=hour, weekend=weekend, klass=net.klass, base_kw=net.base_kw, ac_kw=net.ac_kw,
                         pf=net.pf, pv_kwp=net.pv_kwp, t_amb_c=t_amb, rng=rng,
                         slot_steps=max(1, 900 // cfg.step_s))
        walk = np.cumsum(rng.normal(0, 0.0015, size=(steps // 15 + 2, 2)), axis=0)
        walk = np.repeat(walk - walk.mean(axis=0), 15, axis=0)[:steps]
        emf = (cfg.area.source_voltage_v * (1.0 + np.clip(walk[:, 0], -0.02, 0.02)))[:, None] * ROT[None, :]
        emf = np.where(fx.emf_on, emf, 0.0)
        s = (dem.p_kw * fx.demand - dem.pv_kw) + 1j * dem.q_kvar * fx.demand
        flow, s = self._solve(s, emf, fx)
        v_el, i_el = element_view(net, flow)
        if fx.foreign.any():
            v_el, i_el = self._foreign(fx, s, walk[:, 1], hour, v_el, i_el)
        powered: B = np.asarray((np.abs(v_el) > 50.0).any(axis=2))
        return _Physical(flow=flow, t_amb=t_amb, v_el=v_el, i_el=i_el, powered=powered)

    def _solve(self, s: C128, emf: C128, fx: DayEffects) -> tuple[Flow, C128]:
        """The power flow; under an ``overload`` scenario the demand is scaled so that each window's peak β_max
        is its target (constant-power loads draw more current as the voltage sags: calibrated twice)."""
        cfg, net = self.cfg, self.net
        flow = solve(net, s_kva=s, emf_v=emf, live=fx.live)
        if not fx.overload:
            return flow, s
        scale = np.ones(self.steps)
        rated = cfg.area.rated_kva * 1000.0 / (math.sqrt(3.0) * cfg.area.lv_voltage)
        for _ in range(2):
            beta = np.abs(flow.i_tr).max(axis=1) / rated
            for w, target in fx.overload:
                peak = beta[w].max()
                if peak > 0:
                    scale[w] *= target / peak
            flow = solve(net, s_kva=s * scale[:, None], emf_v=emf, live=fx.live)
        return flow, s * scale[:, None]

    def _foreign(self, fx: DayEffects, s: C128, walk: F64, hour: F64, v_el: C128,
                 i_el: C128) -> tuple[C128, C128]:
        """Customers fed by the other transformer: its own voltage and their own service drop, outside this
        area's flow."""
        spec, net = self.cfg.area, self.net
        v_f = spec.foreign_source_v * (1.0 + np.clip(walk, -0.02, 0.02))
        v_f = v_f - 4.0 * np.clip(np.sin(math.pi * (hour - 6.0) / 16.0), 0, None)
        share = np.where(net.three, 1.0 / 3.0, 1.0)
        used = (net.three[:, None] | (np.arange(3)[None, :] == 0))
        s_el = s[:, :, None] * 1000.0 * share[None, :, None] * used[None]
        i_f = np.conj(s_el / v_f[:, None, None])
        vv = v_f[:, None, None] - 2.0 * net.service_r[None, :, None] * i_f
        f3 = fx.foreign[:, :, None] & used[None]
        return np.where(f3, vv, v_el), np.where(f3, i_f, i_el)

    def _energy_registers(self, e_step: F64, fx: DayEffects, fed: B) -> tuple[F64, F64, F64, F64, F64]:
        """Forward/reverse registers (physical, primary) at each step's start, carried to the next day; the
        records' ratio per step; the record error per step (what the records make of the energy minus what
        this master physically fed) and the reported midnight freeze."""
        n = self.net.n
        fwd_c = np.cumsum(np.clip(e_step, 0, None), axis=0)
        rev_c = np.cumsum(np.clip(-e_step, 0, None), axis=0)
        e_fwd = self._e_fwd + np.vstack([np.zeros((1, n)), fwd_c[:-1]])
        e_rev = self._e_rev + np.vstack([np.zeros((1, n)), rev_c[:-1]])
        rec = fx.ct_recorded / self.net.ct_ratio[None, :]
        net_end = self._e_fwd + fwd_c - (self._e_rev + rev_c)
        rep_net = net_end * rec
        if self._rep_net is None:
            self._rep_net = (self._e_fwd - self._e_rev) * rec[0]
        rep_step = np.diff(np.vstack([self._rep_net[None, :], rep_net]), axis=0)
        record_error = (rep_step - e_step * fed).sum(axis=1)
        daily = self._reported(self._e_fwd, rec[0])
        self._rep_net = rep_net[-1].copy()
        self._e_fwd = self._e_fwd + fwd_c[-1]
        self._e_rev = self._e_rev + rev_c[-1]
        return e_fwd, e_rev, rec, record_error, daily

    def _count_events(self, fx: DayEffects, powered: B) -> dict[str, F64]:
        """Event counters at each step (power-down, cover and terminal openings), carried to the next day."""
        steps, n = self.steps, self.net.n
        prev = np.vstack([self._powered[None, :], powered[:-1]])
        down = (prev & ~powered).astype(np.float64)
        ev_inc = {"evt_cover_open": fx.cover_events, "evt_terminal_open": fx.terminal_events,
                  "evt_power_down": down}
        events = {}
        for name in EVENTS:
            inc = ev_inc.get(name)
            if inc is None:
                events[name] = np.broadcast_to(self._events[name], (steps, n))
                continue
            c = np.cumsum(inc, axis=0)
            events[name] = self._events[name] + c
            self._events[name] = self._events[name] + c[-1]
        self._powered = powered[-1].copy()
        return events

    def _reported(self, e_kwh: F64, rec: F64) -> F64:
        """Register as the records read it: floored to 0.01 kWh on the secondary, times the record ratio."""
        return np.floor(e_kwh / self.net.ct_ratio * 100.0 + 1e-9) / 100.0 * self.net.ct_ratio * rec

    def _meter_registers(self, u: F64, i: F64, i_n: F64, p: F64, q: F64, e_fwd: F64, e_rev: F64,
                         rec: F64) -> dict[str, F64]:
        s = np.hypot(p, q)
        pf = np.divide(np.abs(p), s, out=np.ones_like(p), where=s > 1e-9) * np.where(p < 0, -1.0, 1.0)
        return {
            "u_a": u[..., 0], "u_b": u[..., 1], "u_c": u[..., 2],
            "i_a": i[..., 0], "i_b": i[..., 1], "i_c": i[..., 2], "i_n": i_n,
            "p": p, "q": q, "pf": pf,
            "e_fwd": self._reported(e_fwd, rec), "e_rev": self._reported(e_rev, rec),
        }

    def _master(self, flow: Flow, t_amb: F64, dt_h: float, rng: np.random.Generator,
                noise: np.random.Generator) -> dict[str, F64]:
        u = np.abs(flow.v_bus) * self.net.master_u_gain[None, :] * (
            1.0 + noise.normal(0.0, self.net.spec.u_noise_pct / 100.0, flow.v_bus.shape))
        s_ph = flow.v_bus * np.conj(flow.i_tr) / 1000.0
        p_ph, q_tot = s_ph.real, s_ph.imag.sum(axis=1)
        p_tot = p_ph.sum(axis=1)
        s_abs = np.hypot(p_tot, q_tot)
        e = p_tot * dt_h
        fwd = np.cumsum(np.clip(e, 0, None))
        rev = np.cumsum(np.clip(-e, 0, None))
        out = {
            "u_a": u[:, 0], "u_b": u[:, 1], "u_c": u[:, 2],
            "i_a": np.abs(flow.i_tr[:, 0]), "i_b": np.abs(flow.i_tr[:, 1]), "i_c": np.abs(flow.i_tr[:, 2]),
            "i_n": np.abs(flow.i_tr.sum(axis=1)),
            "p": p_tot, "p_a": p_ph[:, 0], "p_b": p_ph[:, 1], "p_c": p_ph[:, 2], "q": q_tot,
            "pf": np.divide(np.abs(p_tot), s_abs, out=np.ones_like(p_tot), where=s_abs > 1e-9)
            * np.where(p_tot < 0, -1.0, 1.0),
            "f": 50.0 + rng.normal(0, 0.01, size=p_tot.size),
            "e_fwd": self._m_fwd + np.concatenate([[0.0], fwd[:-1]]),
            "e_rev": self._m_rev + np.concatenate([[0.0], rev[:-1]]),
            "t_amb": t_amb,
        }
        self._m_fwd += fwd[-1]
        self._m_rev += rev[-1]
        return out


class AreaSource:
    """``ValueSource`` over the simulated area, for the simulated meter bus and TTU (serve mode).

    Values are those of the simulation step containing ``now``; the simulator advances day by day as
    ``now`` moves on. The current and the previous simulated day are kept, so ``prepare`` can simulate
    the next day ahead of time while requests are still answered from the current one; times before
    ``cfg.start`` or before the kept days are refused (``LookupError``).
    """

    def __init__(self, cfg: SimConfig) -> None:
        self.sim = AreaSimulator(cfg)
        self._index = {mid: i for i, mid in enumerate(self.sim.net.ids)}
        self._days: dict[int, DayResult] = {}
        self._lock = threading.Lock()       # the meter bus and the TTU ask from their own threads
        self._compute = threading.Lock()    # one simulated day at a time, outside ``_lock``

    def prepare(self, now: float) -> None:
        """Simulate up to the day containing ``now`` (a serve loop calls it ahead of the clock)."""
        d = int((now - self.sim.cfg.start) // 86400)
        with self._compute:
            while self.sim.next_day <= d:
                day = self.sim.day(self.sim.next_day)
                with self._lock:
                    self._days[day.day] = day
                    for old in [k for k in self._days if k < day.day - 1]:
                        del self._days[old]

    def _at(self, now: float) -> tuple[DayResult, int]:
        cfg = self.sim.cfg
        d = int((now - cfg.start) // 86400)
        if d < 0:
            raise LookupError(f"time {now} is before the simulation start {cfg.start}")
        with self._lock:
            day = self._days.get(d)
        if day is None:
            self.prepare(now)
            with self._lock:
                day = self._days.get(d)
        if day is None:
            raise LookupError(f"time {now} is in day {d}, before the simulated days {sorted(self._days)}")
        k = min(int((now - day.t[0]) // cfg.step_s), self.sim.steps - 1)
        return day, k

    def values(self, device: str, quantities: Sequence[str], now: float) -> dict[str, float]:
        """Registered values of ``device`` at ``now``; ``LookupError`` when it is silent or unpowered."""
        day, k = self._at(now)
        if device == "master":
            if day.master_silent[k]:
                raise LookupError("master: offline (scenario master_offline)")
            return {q: float(day.master[q][k]) for q in quantities if q in day.master}
        i = self._index.get(device)
        if i is None:
            raise LookupError(f"unknown device {device!r}")
        if not day.powered[k, i]:
            raise LookupError(f"meter {device}: no supply")
        if day.silent[k, i]:
            raise LookupError(f"meter {device}: not answering (scenario comm_loss)")
        have = set(METER_QUANTITIES_THREE if day.three[i] else METER_QUANTITIES_SINGLE)
        have.update(("sw1", "sw2", "sw3", "sw4", "sw5", "sw6", "sw7", *EVENTS))
        out = {q: float(day.meter[q][k, i]) for q in quantities if q in have}
        if "e_fwd_daily" in quantities:
            out["e_fwd_daily"] = float(day.meter_daily[i])
        return out


def scenario_windows(cfg: SimConfig, day: DayResult) -> list[npt.NDArray[np.bool_]]:
    """Per scenario, the steps of ``day`` inside its window (for truth magnitudes)."""
    return [step_window(sc, start=cfg.start, day_start=float(day.t[0]), steps=day.t.size, step_s=cfg.step_s)
            for sc in cfg.scenarios]

