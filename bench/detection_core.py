"""Detection core benchmark: engine cost for a 2000-meter area, start-up, and (``--eval``) detection rates
on seeded simulated areas.

Cost part (always): synthetic readings generated here for one transformer area —
master/TTU polled every 60 s (12 quantities), every meter read once per 15-min interval
(u_a, i_a, p, e_fwd; three-phase meters also u_b, u_c, i_b, i_c). Figures (medians):
  ingest_ms            one full 15-min batch into Engine.ingest
  advance_ms           Engine.advance over one 15-min interval with every detector (closes an interval)
  advance_cpu_ms       the same as process CPU time (what other jobs on the machine do not inflate)
  numpy_advance_ms     the same on the numpy reference kernels; ratio numpy/numba
  kernels_*_ms         the kernels' share of one tick alone (energy, voltage, persistence, thermal), both backends
  cold_start_s         first engine run in a fresh process with an empty numba cache (compile)
  warm_start_s         the same with the cache populated
  snapshot_ms / restore_ms / snapshot_kb   engine state to bytes and back (history of 192 intervals)
Goal: advance ≤ 20 ms per interval tick on this machine.

Detection part (``--eval``): seeded simulated areas exported by the area simulator and replayed through the
engine, graded against the simulator's truth (sets and grading rules: bench/_sim_cases.py and
bench/_detection_rates.py). Figures: overload episodes raised no later than one master cadence after their
persistence elapsed (fraction, worst lag), overload raises in a 30-day area whose peak stays at 92 %,
outage-vs-communication classification (per kind) and the worst ``outage_area`` latency.
``--eval`` (and ``--sim``) run only this part; add ``--cost`` for both. ``--sim DIR`` grades one existing export
(``meterwatch simulate -c sim.toml --export DIR``).

Against another version (``--baseline DIR``, e.g. a worktree of main: ``git worktree add --detach DIR main``):
the cost part of this tree's engine and of DIR's engine on the same synthetic area, alternately in fresh
processes (``--rounds`` each, numba caches warmed first), so machine load hits both alike. Figures: the
medians per version and ``advance_over_baseline`` (< 1: this tree is faster); ``advance_cpu_ms`` is the
process CPU time of the same ticks, steadier than wall time on a shared machine. Then ``paired_*``: both
engines in one process (DIR's detect/ imported as ``detect_base``), fed the same ticks alternately, the
median of the per-tick CPU-time ratios — the steadiest of the three on a loaded machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detect.area import PHASE_ABC, Area
from detect.batch import ReadingBatch
from detect.engine import Engine
from detect.quantities import QUANTITIES
from detect.quantities import QUANTITY_CODE as Q

INTERVAL = 900.0
T0 = 20000 * 86400.0 - 28800.0
MASTER_Q = ["u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p", "q", "pf", "f", "e_fwd"]


def make_area(n: int, seed: int = 0) -> Area:
    rng = np.random.default_rng(seed)
    phases = rng.choice([0, 1, 2, PHASE_ABC], n, p=[0.3, 0.3, 0.3, 0.1]).tolist()
    return Area.simple(id="BENCH", rated_kva=630.0, meter_ids=[f"m{i:05d}" for i in range(n)], phases=phases,
                       branches=(np.arange(n) % 8).tolist(), branch_names=tuple(f"b{j}" for j in range(8)))


class Synth:
    """Readings of one area interval by interval (deterministic)."""

    def __init__(self, area: Area, seed: int = 1) -> None:
        self.area = area
        self.rng = np.random.default_rng(seed)
        self.reg = self.rng.uniform(100, 5000, area.n_meters)
        self.kw = self.rng.gamma(2.0, 0.6, area.n_meters)
        self.master_e = 1e5

    def interval(self, k: int) -> ReadingBatch:
        area, rng, n = self.area, self.rng, self.area.n_meters
        start = T0 + k * INTERVAL
        dev, qs, vals, ts = [], [], [], []
        # master: one poll per minute
        total_kw = float(self.kw.sum())
        for m in range(15):
            t = start + m * 60.0 + 0.5
            i_ph = total_kw / 3 * 1000 / 230 * rng.uniform(0.9, 1.1, 3)
            p = total_kw * 1.04
            self.master_e += p / 60
            row = [230 + rng.normal(0, 1, 3), i_ph, [abs(i_ph[0] - i_ph[1])], [p], [0.2 * p], [0.98], [50.0],
                   [self.master_e]]
            values = np.concatenate([np.atleast_1d(np.asarray(x, float)) for x in row])
            dev += [n] * len(MASTER_Q)
            qs += [Q[x] for x in MASTER_Q]
            vals += values.tolist()
            ts += [t] * len(MASTER_Q)
        # meters: each once per interval, spread over it
        self.reg += self.kw * 0.25
        t_m = start + np.linspace(5, INTERVAL - 5, n)
        three = area.meter_phase == PHASE_ABC
        u = 225 + rng.normal(0, 4, n)
        i = self.kw * 1000 / u
        cols = [("u_a", u), ("i_a", i), ("p", self.kw), ("e_fwd", self.reg)]
        d_all, q_all, v_all, t_all = [np.array(dev)], [np.array(qs)], [np.array(vals)], [np.array(ts)]
        idx = np.arange(n)
        for name, v in cols:
            d_all.append(idx), q_all.append(np.full(n, Q[name])), v_all.append(v), t_all.append(t_m)
        for name, v in (("u_b", u), ("u_c", u), ("i_b", i / 3), ("i_c", i / 3)):
            d_all.append(idx[three]), q_all.append(np.full(three.sum(), Q[name])), v_all.append(v[three])
            t_all.append(t_m[three])
        return ReadingBatch.from_columns(np.concatenate(d_all), np.concatenate(q_all), np.concatenate(v_all),
                                         np.concatenate(t_all))


def cost(n_meters: int, backend: str, warm_intervals: int, measured: int) -> dict[str, float]:
    area = make_area(n_meters)
    synth = Synth(area)
    eng = Engine(area, backend_name=backend)
    batches = [synth.interval(k) for k in range(warm_intervals + measured)]
    ingest_ms, advance_ms, advance_cpu_ms = [], [], []
    # the daemon hands names to ReadingBatch.from_records: time the name-to-index mapping of one batch
    last = batches[-1]
    names = [area.meter_ids[d] if d < area.n_meters else area.master_id for d in last.device.tolist()]
    qnames = [QUANTITIES[q] for q in last.quantity.tolist()]
    rec_ms = []
    for _ in range(3):
        t = time.perf_counter()
        ReadingBatch.from_records(names, qnames, last.value.tolist(), last.ts.tolist(), area)
        rec_ms.append((time.perf_counter() - t) * 1e3)
    for k, b in enumerate(batches):
        t = time.perf_counter()
        eng.ingest(b)
        t1, c1 = time.perf_counter(), time.process_time()
        eng.advance(T0 + (k + 1) * INTERVAL)     # interval k processed, interval k-1 closed
        t2, c2 = time.perf_counter(), time.process_time()
        if k >= warm_intervals:
            ingest_ms.append((t1 - t) * 1e3)
            advance_ms.append((t2 - t1) * 1e3)
            advance_cpu_ms.append((c2 - c1) * 1e3)
    snap_ms, restore_ms = [], []
    blob = b""
    for _ in range(3):
        t = time.perf_counter()
        blob = eng.snapshot()
        t1 = time.perf_counter()
        Engine.restore(blob, backend_name=backend)
        snap_ms.append((t1 - t) * 1e3)
        restore_ms.append((time.perf_counter() - t1) * 1e3)
    return {"readings": float(len(batches[-1])), "ingest_ms": statistics.median(ingest_ms),
            "snapshot_ms": statistics.median(snap_ms), "restore_ms": statistics.median(restore_ms),
            "snapshot_kb": len(blob) / 1024,
            "from_records_ms": statistics.median(rec_ms),
            "advance_ms": statistics.median(advance_ms), "advance_max_ms": max(advance_ms),
            "advance_cpu_ms": statistics.median(advance_cpu_ms)}


def kernel_time(backend: str, n: int, repeats: int = 20) -> float:
    """Median ms of the kernel work of one interval tick on its own: interval energies and voltage
    statistics of every meter, a persistence step per meter, 15 thermal polls with time-to-limit."""
    from detect.backend import kernels

    en, vo, al, th = (kernels(t, backend) for t in ("energy", "voltage", "alarms", "thermal"))
    rng = np.random.default_rng(3)
    prev = rng.uniform(0, 1e4, n)
    last = prev + rng.uniform(0, 2, n)
    tsr = rng.uniform(0, 900, n)
    slot = np.zeros(n, np.int64)
    meter = np.arange(n, dtype=np.int64)
    u = rng.normal(225, 5, n)
    params = np.array([55, 23, 10800, 240, 5, 0.8, 1.6, 1, 1, 2, 60, 0.0])
    times = []
    for _ in range(repeats):
        acc = [np.full((1, n), np.nan), np.full((1, n), np.nan), np.zeros((1, n)), np.zeros((1, n), np.int64),
               np.zeros((1, n), np.int64), np.zeros((1, n), np.int64)]
        state = np.zeros(n, np.int8)
        onset, clear = np.full(n, np.nan), np.full(n, np.nan)
        ths = np.zeros(8)
        t = time.perf_counter()
        en.interval_energy(prev, tsr - 900, prev, last, tsr, 0.0, 900.0, 1e6)
        vo.accumulate_voltage(slot, meter, u, 198.0, 235.4, 22.0, *acc)
        al.persist_events(meter, tsr, u < 198, u >= 200, np.ones(n, np.bool_), 3600.0, 600.0, state, onset, clear)
        for j in range(15):
            th.thermal_run(np.array([j * 60.0]), np.array([0.8]), np.array([25.0]), ths, params)
            th.time_to_limit_min(ths[0], ths[1], ths[2], 0.8, 25.0, params, 120.0, 1440.0)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


STARTUP = """
import time; t = time.perf_counter()
import sys; sys.path.insert(0, {root!r})
from bench.detection_core import make_area, Synth, T0, INTERVAL
from detect.engine import Engine
area = make_area(50); s = Synth(area); e = Engine(area)
for k in range(3):
    e.ingest(s.interval(k)); e.advance(T0 + (k + 1) * INTERVAL)
print(time.perf_counter() - t)
"""


def startup() -> tuple[float, float]:
    """(cold, warm) seconds for import + first engine run, in fresh processes, with a private cache."""
    cache = tempfile.mkdtemp(prefix="mw-numba-cache-")
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    env.pop("METERWATCH_BACKEND", None)
    code = STARTUP.format(root=str(Path(__file__).resolve().parents[1]))
    try:
        times = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            times.append(float(out.stdout.strip().splitlines()[-1]))
        return times[0], times[1]
    finally:
        shutil.rmtree(cache, ignore_errors=True)


COMPARE = """
import importlib.util, json, sys
sys.path.insert(0, {tree!r})
import detect.engine
assert detect.engine.__file__.startswith({tree!r}), detect.engine.__file__
spec = importlib.util.spec_from_file_location("detection_core_bench", {script!r})
dc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dc)
print(json.dumps(dc.cost({meters}, "numba", {warm}, {intervals})))
"""


def compare(baseline: Path, meters: int, intervals: int, rounds: int) -> dict[str, float]:
    """This tree's and ``baseline``'s cost figures, measured in fresh processes in ABBA order (the order
    alternates each round, so a load that drifts hits both alike): medians per version, and the median of
    the per-round ratios."""
    here = Path(__file__).resolve().parents[1]
    if not (baseline / "detect" / "engine.py").is_file():
        raise SystemExit(f"--baseline {baseline}: no detect/engine.py there (a checkout of meterwatch?)")
    runs: dict[str, list[dict[str, float]]] = {"this": [], "baseline": []}
    for r in range(rounds + 1):                         # round 0 warms both numba caches, not counted
        order = (("this", here), ("baseline", baseline))
        for label, tree in order if r % 2 else order[::-1]:
            code = COMPARE.format(tree=str(tree.resolve()), script=str(Path(__file__).resolve()), meters=meters,
                                  warm=4, intervals=intervals if r else 1)
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
            if out.returncode:
                raise SystemExit(f"--baseline: the {label} run failed:\n{out.stderr[-2000:]}")
            if r:
                runs[label].append(json.loads(out.stdout.strip().splitlines()[-1]))
    res: dict[str, float] = {}
    for key in ("advance_ms", "advance_cpu_ms", "advance_max_ms", "snapshot_ms", "restore_ms", "snapshot_kb"):
        this = [x[key] for x in runs["this"]]
        base = [x[key] for x in runs["baseline"]]
        res[key], res[f"baseline_{key}"] = statistics.median(this), statistics.median(base)
        res[f"{key.removesuffix('_ms')}_over_baseline"] = statistics.median(a / b for a, b in zip(this, base, strict=True))
    return res


PAIRED = """
import dataclasses, importlib.util, json, re, statistics, sys, time
from pathlib import Path
pkg = Path({tmp!r}) / "detect_base"
for f in pkg.rglob("*.py"):                     # the baseline's detect/ as package detect_base
    text = re.sub(r"\\bdetect\\.", "detect_base.", f.read_text(encoding="utf-8"))
    f.write_text(re.sub(r"\\bfrom detect import", "from detect_base import", text), encoding="utf-8")
sys.path[:0] = [{here!r}, {tmp!r}]
import detect.engine as this
import detect_base.area as base_area, detect_base.batch as base_batch, detect_base.engine as base
assert this.__file__.startswith({here!r}), this.__file__
spec = importlib.util.spec_from_file_location("detection_core_bench", {script!r})
dc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dc)
area = dc.make_area({meters})
barea = base_area.Area(**{{f.name: getattr(area, f.name) for f in dataclasses.fields(base_area.Area) if f.init}})
synth = dc.Synth(area)
engines = {{"this": this.Engine(area), "baseline": base.Engine(barea)}}
cpu = {{"this": [], "baseline": []}}
for k in range({warm} + {intervals}):
    b = synth.interval(k)
    engines["this"].ingest(b)
    engines["baseline"].ingest(base_batch.ReadingBatch(device=b.device, quantity=b.quantity, value=b.value, ts=b.ts))
    for label in (("this", "baseline") if k % 2 else ("baseline", "this")):
        c = time.process_time()
        engines[label].advance(dc.T0 + (k + 1) * dc.INTERVAL)
        if k >= {warm}:
            cpu[label].append((time.process_time() - c) * 1e3)
print(json.dumps(cpu))
"""


def compare_paired(baseline: Path, meters: int, intervals: int) -> dict[str, float]:
    """Both engines in one process, fed the same ticks alternately (the baseline's detect/ imported as
    ``detect_base``): per-tick CPU time, immune to load that changes between processes."""
    here = Path(__file__).resolve().parents[1]
    tmp = Path(tempfile.mkdtemp(prefix="mw-paired-"))
    try:
        shutil.copytree(baseline / "detect", tmp / "detect_base", ignore=shutil.ignore_patterns("__pycache__"))
        code = PAIRED.format(tmp=str(tmp), here=str(here), script=str(Path(__file__).resolve()), meters=meters,
                             warm=8, intervals=intervals)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        if out.returncode:
            raise SystemExit(f"--baseline: the paired run failed:\n{out.stderr[-2000:]}")
        cpu = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ratios = [a / b for a, b in zip(cpu["this"], cpu["baseline"], strict=True)]
    return {"paired_advance_cpu_ms": statistics.median(cpu["this"]),
            "paired_baseline_advance_cpu_ms": statistics.median(cpu["baseline"]),
            "paired_advance_over_baseline": statistics.median(ratios)}


def print_compare(args: argparse.Namespace) -> None:
    res = compare(args.baseline, args.meters, args.intervals, args.rounds)
    res.update(compare_paired(args.baseline, args.meters, max(args.intervals * args.rounds, 20)))
    print(f"meters: {args.meters}")
    print(f"baseline: {args.baseline}")
    print(f"rounds: {args.rounds} per version, {args.intervals} measured intervals each")
    for key, value in res.items():
        print(f"{key}: {value:.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--meters", type=int, default=2000)
    ap.add_argument("--intervals", type=int, default=20, help="measured intervals (after 8 warm-up ones)")
    ap.add_argument("--eval", action="store_true", help="detection rates on seeded simulated areas (only)")
    ap.add_argument("--cost", action="store_true", help="with --eval / --sim: the cost part too")
    ap.add_argument("--eval-dir", type=Path, help="keep the --eval exports here (default: a temp dir, removed)")
    ap.add_argument("--quiet-days", type=int, default=30, help="days of the below-threshold area (default 30)")
    ap.add_argument("-v", "--verbose", action="store_true", help="--eval: per-case lines on stderr")
    ap.add_argument("--sim", type=Path, help="grade one exported simulator directory")
    ap.add_argument("--skip-startup", action="store_true", help="do not measure cold/warm start-up")
    ap.add_argument("--baseline", type=Path, metavar="DIR",
                    help="compare the engine cost with the checkout in DIR (only); see the module doc")
    ap.add_argument("--rounds", type=int, default=5, help="--baseline: measured runs per version (default 5)")
    args = ap.parse_args(argv)
    if args.baseline is not None:
        print_compare(args)
        return 0
    if (not args.eval and args.sim is None) or args.cost:
        print_cost(args)
    if args.eval:
        from bench._sim_cases import evaluate_sets

        root = args.eval_dir or Path(tempfile.mkdtemp(prefix="mw-eval-"))
        try:
            res = evaluate_sets(root, quiet_days=args.quiet_days,
                                log=(lambda m: print(m, file=sys.stderr)) if args.verbose else None)
        finally:
            if args.eval_dir is None:
                shutil.rmtree(root, ignore_errors=True)
        for name, value in res.items():
            print(f"{name}: {value}")
    if args.sim is not None:
        from bench._detection_rates import evaluate

        for name, value in evaluate(args.sim).items():
            print(f"{name}: {value}")
    return 0


def print_cost(args: argparse.Namespace) -> None:
    numba = cost(args.meters, "numba", 8, args.intervals)
    numpy_ = cost(args.meters, "numpy", 8, max(5, args.intervals // 2))
    print(f"meters: {args.meters}")
    print(f"readings_per_interval: {numba['readings']:.0f}")
    print(f"from_records_ms: {numba['from_records_ms']:.2f}")
    print(f"ingest_ms: {numba['ingest_ms']:.3f}")
    print(f"advance_ms: {numba['advance_ms']:.2f}")
    print(f"advance_max_ms: {numba['advance_max_ms']:.2f}")
    print(f"advance_cpu_ms: {numba['advance_cpu_ms']:.2f}")
    print("advance_goal_ms: 20")
    print(f"advance_vs_goal: {numba['advance_ms'] / 20.0:.3f}")
    print(f"advance_share_of_interval: {numba['advance_ms'] / 1e3 / INTERVAL:.2e}")
    print(f"snapshot_ms: {numba['snapshot_ms']:.1f}")
    print(f"restore_ms: {numba['restore_ms']:.1f}")
    print(f"snapshot_kb: {numba['snapshot_kb']:.0f}")
    print(f"numpy_ingest_ms: {numpy_['ingest_ms']:.3f}")
    print(f"numpy_advance_ms: {numpy_['advance_ms']:.2f}")
    print(f"numpy_over_numba_advance: {numpy_['advance_ms'] / numba['advance_ms']:.2f}")
    k_numba, k_numpy = kernel_time("numba", args.meters), kernel_time("numpy", args.meters)
    print(f"kernels_numba_ms: {k_numba:.3f}")
    print(f"kernels_numpy_ms: {k_numpy:.3f}")
    print(f"kernels_numpy_over_numba: {k_numpy / k_numba:.1f}")
    if not args.skip_startup:
        cold, warm = startup()
        print(f"cold_start_s: {cold:.2f}")
        print(f"warm_start_s: {warm:.2f}")
        print(f"cold_over_warm: {cold / warm:.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
