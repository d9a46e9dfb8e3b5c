"""Suspect ranking against the Jokar attack models h1–h6 on synthetic areas (kernel-level, no engine).

    .venv/bin/python bench/suspects_attacks.py [--areas 20] [--homes 60]

Each area: ``--homes`` households for 14 days (shared evening-peaked shape + each home's own appliance
switching), one thief attacking from day 9, the area NTL = stolen energy + 0.02 kWh/interval noise
(technical-loss model error). Prints top-1 / top-3 hit rates and MAP@3 per attack. This is a sanity
figure for the ranking alone; bench/detection_eval.py measures the whole chain on simulated areas.
"""

from __future__ import annotations

import argparse

import numpy as np

from detect.kernels import suspects as ks
from detect.params import TheftParams

DAY = 96


def _loads(rng: np.random.Generator, n: int, days: int) -> np.ndarray:
    """Household interval energies (kWh), the model of tests/detect/kernels/test_suspects.py."""
    t = np.arange(days * DAY)
    shape = 0.08 + 0.06 * np.sin(2 * np.pi * (t % DAY) / DAY - 2.0) ** 2 + 0.1 * ((t % DAY) > 72)
    base = shape[None, :] * rng.uniform(0.5, 2.0, (n, 1))
    on = rng.random((n, t.size)) < 0.15
    blocks = np.zeros((n, t.size))
    for lag in range(4):
        blocks += np.roll(on, lag, axis=1)
    return base + 0.15 * np.minimum(blocks, 1.0) * rng.uniform(0.5, 1.5, (n, 1))


def attack(kind: str, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Jokar et al. 2016 attacks, applied day by day (detection.md §2.2)."""
    x = x.copy()
    k = np.arange(DAY)
    for d in range(x.size // DAY):
        s = slice(d * DAY, (d + 1) * DAY)
        v = x[s].copy()
        if kind == "h1":
            x[s] = rng.uniform(0.1, 0.8) * v
        elif kind == "h2":
            t0 = rng.integers(0, 60)
            x[s] = np.where((k >= t0) & (k < t0 + rng.integers(16, 36)), 0.0, v)
        elif kind == "h3":
            x[s] = rng.uniform(0.1, 0.8, DAY) * v
        elif kind == "h4":
            x[s] = rng.uniform(0.1, 0.8, DAY) * v.mean()
        elif kind == "h5":
            x[s] = v.mean()
        elif kind == "h6":
            x[s] = v[::-1]
        # "none": no attack (false-alarm baseline)
    return x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--areas", type=int, default=20)
    ap.add_argument("--homes", type=int, default=60)
    args = ap.parse_args()
    for kind in ("none", "h1", "h2", "h3", "h4", "h5", "h6"):
        top1 = top3 = 0
        maps = []
        share = []
        swing = []
        onset = 0
        for seed in range(args.areas):
            rng = np.random.default_rng(seed)
            true = _loads(rng, args.homes, 14)
            met = true.copy()
            thief = int(rng.integers(0, args.homes))
            met[thief, 9 * DAY:] = attack(kind, true[thief, 9 * DAY:], rng)
            stolen = (true - met).sum(axis=0)
            share.append(stolen[9 * DAY:].sum() / true[:, 9 * DAY:].sum() * 100)
            ntl = stolen + rng.normal(0, 0.02, true.shape[1])
            r = ks.rank_suspects(met, ntl, TheftParams())
            swing.append(r.ntl_swing_ratio)
            onset += int(r.ntl_onset_day >= 0)
            top1 += int(r.order[0] == thief)
            top3 += int(thief in r.order[:3])
            maps.append(ks.map_at_k(r.order, [thief], 3))
        print(f"{kind}_stolen_pct_of_supply: {np.median(share):.2f}")
        print(f"{kind}_ntl_daily_rise_found: {onset / args.areas:.2f}")
        print(f"{kind}_ntl_swing_ratio_median: {np.median(swing):.2f}")
        if kind == "none":
            continue
        print(f"{kind}_top1: {top1 / args.areas:.2f}")
        print(f"{kind}_top3: {top3 / args.areas:.2f}")
        print(f"{kind}_map_at_3: {np.mean(maps):.2f}")


if __name__ == "__main__":
    main()
