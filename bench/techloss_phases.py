"""Technical loss by physics per phase against the simulator's phasors, two methods side by side: the
magnitude method (``detect.kernels.lineloss.physics_loss``: each metering element's drop below the master's
phase voltage times its current, over |pf|) and the drop fit (``detect.kernels.drops``: each element's drop
fitted on its own, its branch-phase's and its branch's current phasors, which gives the drop's quadrature and
so places the neutral's loss; the engine's method since the nineteenth round). On the clean twins of a theft
seed set, every simulator step (1 min), before any sampling, rounding or missed read; the fits are updated
every 15 steps (the engine's interval) and carried from day to day, as in the engine.

    .venv/bin/python bench/techloss_phases.py [--set fresh15] [--areas 6] [--days 2]

The truth of a phase is its power through the master less its customers' power at their terminals (Tellegen:
the power flow is a consistent circuit, so the three phases' truths sum to the area's I²R loss). The neutral's
drop along a feeder lies along the imbalance current, not along any one phase's current, and magnitudes
cannot tell the direction: its loss goes partly to the wrong phases, with opposite signs. ``ntl_phase``
raises a phase that loses ``phase_excess_pp`` (0.6 pp) more than the least-losing one, so the spread of the
method's errors between the phases is printed beside that margin (``..._ratio_to_margin``).

Prints one ``name: value`` per line: per area-day and method the phases' errors (estimate − truth, pp of the
phase's supply), and over all area-days per method the median and largest spread (most over-estimated phase
less most under-estimated) and the area total's error, and the drop fit's spreads as ratios to the magnitude
method's (median of the per-area-day ratios, and of the largest).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)

from bench._sim_cases import THEFT_SEED_SETS, theft_area  # noqa: E402
from detect.kernels.drops import N_REG, interval_terms  # noqa: E402
from detect.kernels.lineloss import physics_loss  # noqa: E402
from detect.params import TechLossParams  # noqa: E402
from edge.sim.area import AreaSimulator  # noqa: E402
from edge.sim.config import parse_sim_config  # noqa: E402
from edge.sim.network import Network  # noqa: E402
from edge.sim.physics import Flow, phase_shares  # noqa: E402

FIT_EVERY = 15                  # steps of 1 min between fit updates: the engine's 15-min interval


class Fits:
    """The drop fits of an area's metering elements, carried from day to day."""

    def __init__(self, net: Network) -> None:
        self.meter, self.phase = np.nonzero(phase_shares(net) > 0)        # (E,) elements
        self.branch = net.branch[self.meter].astype(np.int64)
        e = len(self.meter)
        self.sxx, self.sxy, self.n = np.zeros((e, N_REG, N_REG)), np.zeros((e, N_REG)), np.zeros(e)
        self.y = np.zeros(e)
        prm = TechLossParams()
        self.lam = 1.0 - 900.0 / (prm.drop_fit_days * 86400.0)
        self.min_n = prm.drop_fit_min_intervals


def phase_errors(flow: Flow, fits: Fits) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Over the flow's steps: each phase's supply (Wh per step), true loss and the two methods' estimates
    (magnitude, drop fit; summed over the steps, in the supply's unit), and the largest relative Tellegen
    residual of the truth against the flow's own loss terms."""
    p_bus = (flow.v_bus * np.conj(flow.i_tr)).real                        # (T, 3) W
    p_c = (flow.v_c * np.conj(flow.i_c)).real                             # (T, N, 3) W
    true = p_bus - p_c.sum(axis=1)
    loss = flow.loss_line_w + flow.loss_neutral_w + flow.loss_service_w
    residual = float(np.max(np.abs(true.sum(axis=1) - loss) / np.maximum(np.abs(p_bus.sum(axis=1)), 1.0)))
    m, ph = fits.meter, fits.phase
    u, i = np.abs(flow.v_c[:, m, ph]), np.abs(flow.i_c[:, m, ph])        # (T, E) what the meters read
    s_meter = (flow.v_c * np.conj(flow.i_c)).sum(axis=2)                  # (T, N) complex power per meter
    s_abs = (np.abs(flow.v_c) * np.abs(flow.i_c)).sum(axis=2)
    pf = np.where(s_abs > 1.0, s_meter.real / np.maximum(s_abs, 1.0), 1.0)  # as a meter reports it
    mag = np.hypot(s_meter.real, s_meter.imag)
    cos = np.where(mag > 1e-3, s_meter.real / np.maximum(mag, 1e-3), 1.0)[:, m]
    sin = np.where(mag > 1e-3, s_meter.imag / np.maximum(mag, 1e-3), 0.0)[:, m]
    ub = np.abs(flow.v_bus)[:, ph]
    du = ub - u
    est_mag, est_fit = np.zeros_like(true), np.zeros_like(true)
    for k in range(true.shape[0]):
        live = i[k] > 0
        _, kw, _ = physics_loss(du[k][live], i[k][live], pf[k, m][live], ph[live])
        est_mag[k] = kw * 1000.0
        # the engine's interval: the fits learn from every 15th step; the steps between use them as they are
        learn = k % FIT_EVERY == 0
        state = (fits.sxx, fits.sxy, fits.n, fits.y) if learn else \
            (fits.sxx.copy(), fits.sxy.copy(), fits.n.copy(), fits.y.copy())
        term, _ = interval_terms(ub[k], np.where(live, u[k], np.nan), np.where(live, i[k], np.nan), cos[k], sin[k],
                                 ph, fits.branch, *state, 1.0 if not learn else fits.lam, fits.min_n)
        ok = np.isfinite(term)
        est_fit[k] = np.bincount(ph[ok], weights=term[ok], minlength=3) * 1000.0
    return p_bus.sum(axis=0), true.sum(axis=0), est_mag.sum(axis=0), est_fit.sum(axis=0), residual


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="fresh15", choices=sorted(THEFT_SEED_SETS), help="theft seed set")
    ap.add_argument("--areas", type=int, default=6, help="the set's first N areas (clean twins)")
    ap.add_argument("--days", type=int, default=2, help="days simulated per area")
    a = ap.parse_args()
    seeds = THEFT_SEED_SETS[a.set][:a.areas]
    margin = TechLossParams().phase_excess_pp
    spreads: dict[str, list[float]] = {"magnitude": [], "fit": []}
    totals: dict[str, list[float]] = {"magnitude": [], "fit": []}
    residuals: list[float] = []
    for j, seed in enumerate(seeds):
        cfg = parse_sim_config(theft_area(seed, j).clean.toml, f"clean-s{seed}")
        sim = AreaSimulator(cfg)
        fits = Fits(sim.net)
        seen: dict[str, Flow] = {}
        solve = sim._solve

        def keep(s: np.ndarray, emf: np.ndarray, fx: object, solve: object = solve,
                 seen: dict[str, Flow] = seen) -> tuple[Flow, np.ndarray]:
            flow, s2 = solve(s, emf, fx)  # type: ignore[operator]
            seen["flow"] = flow
            return flow, s2

        sim._solve = keep  # type: ignore[method-assign]
        for d in range(a.days):
            sim.day(d)
            sup, true, est_mag, est_fit, res = phase_errors(seen["flow"], fits)
            residuals.append(res)
            for name, est in (("magnitude", est_mag), ("fit", est_fit)):
                err = 100.0 * (est - true) / np.maximum(sup, 1e-9)
                total = float(100.0 * (est.sum() - true.sum()) / sup.sum())
                spreads[name].append(float(err.max() - err.min()))
                totals[name].append(abs(total))
                tag = "" if name == "magnitude" else "_fit"
                print(f"techloss_phase_err_pp{tag}_s{seed}_d{d}: " + " ".join(f"{e:+.3f}" for e in err)
                      + f" (true loss % {' '.join(f'{x:.2f}' for x in 100.0 * true / sup)}; area {total:+.3f})",
                      flush=True)
    print(f"techloss_area_days: {len(residuals)}")
    for name in ("magnitude", "fit"):
        tag = "" if name == "magnitude" else "_fit"
        sp = spreads[name]
        print(f"techloss_phase_spread_pp{tag}_median: {statistics.median(sp):.3f}")
        print(f"techloss_phase_spread_pp{tag}_max: {max(sp):.3f}")
        print(f"techloss_phase_spread{tag}_ratio_to_margin_median: {statistics.median(sp) / margin:.2f}")
        print(f"techloss_phase_spread{tag}_ratio_to_margin_max: {max(sp) / margin:.2f}")
        print(f"techloss_area_err_pp{tag}_median: {statistics.median(totals[name]):.3f}")
    ratios = [f / m for f, m in zip(spreads["fit"], spreads["magnitude"], strict=True) if m > 0]
    print(f"techloss_phase_spread_fit_to_magnitude_ratio_median: {statistics.median(ratios):.2f}")
    print(f"techloss_phase_spread_fit_to_magnitude_ratio_of_max: {max(spreads['fit']) / max(spreads['magnitude']):.2f}")
    print(f"techloss_tellegen_residual_rel_max: {max(residuals):.2e}")


if __name__ == "__main__":
    main()
