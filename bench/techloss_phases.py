"""Technical loss by physics per phase against the simulator's phasors: how far the engine's magnitude-only
method (``detect.kernels.lineloss.physics_loss``: each metering element's drop below the master's phase
voltage times its current, over |pf|) puts each phase's loss from the truth, on the clean twins of a theft
seed set, every simulator step (1 min), before any sampling, rounding or missed read.

    .venv/bin/python bench/techloss_phases.py [--set fresh15] [--areas 6] [--days 2]

The truth of a phase is its power through the master less its customers' power at their terminals (Tellegen:
the power flow is a consistent circuit, so the three phases' truths sum to the area's I²R loss). The neutral's
drop along a feeder lies along the imbalance current, not along any one phase's current, and magnitudes
cannot tell the direction: its loss goes partly to the wrong phases, with opposite signs. ``ntl_phase``
raises a phase that loses ``phase_excess_pp`` (0.6 pp) more than the least-losing one, so the spread of the
method's errors between the phases is printed beside that margin (``..._ratio_to_margin``).

Prints one ``name: value`` per line: per area-day the phases' errors (estimate − truth, pp of the phase's
supply), and over all area-days the median and largest spread (most over-estimated phase less most
under-estimated) and the area total's error.
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
from detect.kernels.lineloss import physics_loss  # noqa: E402
from detect.params import TechLossParams  # noqa: E402
from edge.sim.area import AreaSimulator  # noqa: E402
from edge.sim.config import parse_sim_config  # noqa: E402
from edge.sim.physics import Flow  # noqa: E402


def phase_errors(flow: Flow) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Over the flow's steps: each phase's supply (Wh per step), true loss and the method's estimate (both
    summed over the steps, in the supply's unit), and the largest relative Tellegen residual of the truth
    against the flow's own loss terms."""
    p_bus = (flow.v_bus * np.conj(flow.i_tr)).real                        # (T, 3) W
    p_c = (flow.v_c * np.conj(flow.i_c)).real                             # (T, N, 3) W
    true = p_bus - p_c.sum(axis=1)
    loss = flow.loss_line_w + flow.loss_neutral_w + flow.loss_service_w
    residual = float(np.max(np.abs(true.sum(axis=1) - loss) / np.maximum(np.abs(p_bus.sum(axis=1)), 1.0)))
    on = np.abs(flow.i_c) > 0                                             # the customer's metering elements
    u, i = np.abs(flow.v_c), np.abs(flow.i_c)
    s_meter = (u * i).sum(axis=2)
    p_meter = p_c.sum(axis=2)
    pf = np.where(s_meter > 1.0, p_meter / np.maximum(s_meter, 1.0), 1.0)  # (T, N), as a meter reports it
    ph = np.broadcast_to(np.arange(3), on.shape[1:])
    est = np.zeros_like(true)
    for k in range(true.shape[0]):
        sel = on[k]
        if not sel.any():
            continue
        du = np.abs(flow.v_bus[k])[ph[sel]] - u[k][sel]
        pf_el = np.broadcast_to(pf[k][:, None], sel.shape)[sel]
        _, kw, _ = physics_loss(du, i[k][sel], pf_el, ph[sel])
        est[k] = kw * 1000.0
    return p_bus.sum(axis=0), true.sum(axis=0), est.sum(axis=0), residual


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="fresh15", choices=sorted(THEFT_SEED_SETS), help="theft seed set")
    ap.add_argument("--areas", type=int, default=6, help="the set's first N areas (clean twins)")
    ap.add_argument("--days", type=int, default=2, help="days simulated per area")
    a = ap.parse_args()
    seeds = THEFT_SEED_SETS[a.set][:a.areas]
    margin = TechLossParams().phase_excess_pp
    spreads, totals, residuals = [], [], []
    for j, seed in enumerate(seeds):
        cfg = parse_sim_config(theft_area(seed, j).clean.toml, f"clean-s{seed}")
        sim = AreaSimulator(cfg)
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
            sup, true, est, res = phase_errors(seen["flow"])
            err = 100.0 * (est - true) / np.maximum(sup, 1e-9)
            spread = float(err.max() - err.min())
            total = float(100.0 * (est.sum() - true.sum()) / sup.sum())
            spreads.append(spread)
            totals.append(abs(total))
            residuals.append(res)
            print(f"techloss_phase_err_pp_s{seed}_d{d}: " + " ".join(f"{e:+.3f}" for e in err)
                  + f" (true loss % {' '.join(f'{x:.2f}' for x in 100.0 * true / sup)}; area {total:+.3f})",
                  flush=True)
    print(f"techloss_area_days: {len(spreads)}")
    print(f"techloss_phase_spread_pp_median: {statistics.median(spreads):.3f}")
    print(f"techloss_phase_spread_pp_max: {max(spreads):.3f}")
    print(f"techloss_phase_spread_ratio_to_margin_median: {statistics.median(spreads) / margin:.2f}")
    print(f"techloss_phase_spread_ratio_to_margin_max: {max(spreads) / margin:.2f}")
    print(f"techloss_area_err_pp_median: {statistics.median(totals):.3f}")
    print(f"techloss_tellegen_residual_rel_max: {max(residuals):.2e}")


if __name__ == "__main__":
    main()
