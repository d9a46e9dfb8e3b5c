"""Suspect evidence against the Jokar attack models h1–h6 on synthetic areas (kernel-level, no engine).

    .venv/bin/python bench/suspects_attacks.py [--areas 20] [--homes 60]

Each area: ``--homes`` households for 14 days (shared evening-peaked shape + each home's own appliance
switching), one thief attacking from day 9, the area NTL = stolen energy + 0.02 kWh/interval noise (what is
left of the technical loss by physics). Per attack: the stolen share of the supply, then how the thief ranks
by each piece of interval/daily evidence the engine uses (``detect.kernels.evidence.drop_match`` since day
9, ``detect.kernels.suspects.diff_corr`` since day 9, the flattened-shape match of ``swing``) and by the
best of them: top-1 / top-3 rates and MAP@3. A sanity figure for the evidence alone; bench/detection_eval.py
measures the whole chain on simulated areas.
"""

from __future__ import annotations

import argparse

import numpy as np

from detect.kernels import evidence as ke
from detect.kernels import suspects as ks

DAY = 96
ONSET = 9
KINDS = ("none", "h1", "h2", "h3", "h4", "h5", "h6")


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
        # "none": no attack (false-evidence baseline)
    return x


def evidence(met: np.ndarray, ntl: np.ndarray) -> dict[str, np.ndarray]:
    """Per customer: drop z since the onset, interval correlation z since the onset, flattened-shape match."""
    n = met.shape[0]
    xd = met.reshape(n, -1, DAY).sum(axis=2).T
    total = xd.sum(axis=1) + ntl.reshape(-1, DAY).sum(axis=1)
    z, drop, explained = (np.empty(n) for _ in range(3))
    wd = np.zeros(len(total), np.int64)         # every day a working day
    ke.drop_match(xd[:ONSET], total[:ONSET], wd[:ONSET], xd[ONSET:], total[ONSET:], wd[ONSET:],
                  total[ONSET:] - xd[ONSET:].sum(axis=1), z, drop, explained)
    z = np.where(explained <= 1.5, z, 0.0)
    corr = np.empty(n)
    ks.diff_corr(met[:, ONSET * DAY:], ntl[ONSET * DAY:], DAY, corr)
    _, shape = ks.swing(met, ntl, intervals_per_day=DAY, baseline_days=ONSET)
    return {"drop": np.nan_to_num(z), "corr": np.nan_to_num(np.abs(corr)) * np.sqrt(met.shape[1] - ONSET * DAY),
            "shape": shape * 10.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--areas", type=int, default=20)
    ap.add_argument("--homes", type=int, default=60)
    args = ap.parse_args()
    for kind in KINDS:
        share, best_z = [], []
        hits = {e: [0, 0, []] for e in ("drop", "corr", "shape", "best")}
        for seed in range(args.areas):
            rng = np.random.default_rng(seed)
            true = _loads(rng, args.homes, 14)
            met = true.copy()
            thief = int(rng.integers(0, args.homes))
            met[thief, ONSET * DAY:] = attack(kind, true[thief, ONSET * DAY:], rng)
            stolen = (true - met).sum(axis=0)
            share.append(stolen[ONSET * DAY:].sum() / true[:, ONSET * DAY:].sum() * 100)
            ev = evidence(met, stolen + rng.normal(0, 0.02, true.shape[1]))
            ev["best"] = np.maximum.reduce([ev["drop"], ev["corr"], ev["shape"]])
            best_z.append(float(ev["best"].max()))
            for name, score in ev.items():
                order = np.argsort(-score)
                hits[name][0] += int(order[0] == thief)
                hits[name][1] += int(thief in order[:3])
                hits[name][2].append(ks.map_at_k(order, [thief], 3))
        print(f"{kind}_stolen_pct_of_supply: {np.median(share):.2f}")
        if kind == "none":
            print(f"none_best_evidence_z_median: {np.median(best_z):.1f}")
            continue
        for name, (top1, top3, maps) in hits.items():
            print(f"{kind}_{name}_top1: {top1 / args.areas:.2f}")
            print(f"{kind}_{name}_top3: {top3 / args.areas:.2f}")
            print(f"{kind}_{name}_map_at_3: {np.mean(maps):.2f}")


if __name__ == "__main__":
    main()
