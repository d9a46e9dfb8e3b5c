"""Line-loss / theft / mapping kernels and the replay reader: time per interval tick and per day on a
2000-meter area (numba against the numpy reference), the joint-share fit of one phase at a day close (25,
100 and 300 meters on the phase), and replay reader throughput.

    .venv/bin/python bench/lineloss_kernels.py [--meters 2000] [--replay-meters 500] [--replay-days 7]
        [--share-meters 25,100,300]

Prints one ``name: value`` per line; times are medians over ``--repeat`` runs after a warm-up (numba
compile excluded: it is cached on disk). The replay file holds, per meter and 15-min interval, the 9
quantities of the default ``meter_interval`` plan, and for the master 12 quantities every minute; a file of
fewer days than 90 is extrapolated linearly to 90 days (and said so).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

# Run as a script, Python puts bench/ first on sys.path, where bench/edge.py would shadow the package of
# the same name: put the repository root there instead.
ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)

from detect.area import Area  # noqa: E402
from detect.backend import kernels  # noqa: E402
from detect.kernels import lineloss, mapping, techloss, theft  # noqa: E402
from detect.params import LineLossParams, MappingParams, TechLossParams, TheftParams  # noqa: E402
from detect.stages.suspects.voltage import other_phases  # noqa: E402
from edge.replay import ReplayStats, read_batches  # noqa: E402

DAY = 96


def _median_s(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _tick_inputs(n: int, rng: np.random.Generator) -> dict[str, object]:
    # three register readings per device around one interval (before, inside, after) as the engine keeps them
    t0 = 1_767_225_600.0
    ts = t0 + np.sort(rng.uniform(-300, 1200, (n + 1, 3)), axis=1)
    reg = 1e5 + np.cumsum(rng.uniform(0, 0.2, (n + 1, 3)), axis=1)
    meas = rng.uniform(0, 10, (n, len(theft.FIELDS)))
    meas[:, :3] = 225.0
    meas[:, theft.FIELDS.index("sw1"):theft.FIELDS.index("sw7") + 1] = 0.0
    return {"ts": ts, "reg": reg, "bounds": np.array([t0, t0 + 900.0]), "meas": meas,
            "kind": np.zeros(n, np.int8), "pv": rng.random(n) < 0.1}


def _tick(inp: dict, n: int, state: np.ndarray, backend: str) -> None:
    e = lineloss.interval_energies(inp["ts"], inp["reg"], inp["bounds"], rollover_kwh=1e6, max_gap_s=1800,
                                   backend=backend)
    fwd = e.T
    bal = lineloss.balance(fwd, np.zeros_like(fwd), inp["pv"], min_coverage_pct=90, backend=backend)
    techloss.track(bal.supply_kwh - bal.sales_kwh, [3 * 300.0**2], state, TechLossParams(), rated_current_a=577.4,
                   backend=backend)
    theft.run_physical_checks(inp["meas"], inp["kind"], inp["pv"], TheftParams(), nominal_v=220.0, backend=backend)
    lineloss.bands(bal.loss_pct, bal.status, LineLossParams(), backend=backend)


def bench_kernels(n: int, repeat: int) -> None:
    rng = np.random.default_rng(0)
    inp = _tick_inputs(n, rng)
    res = {}
    for backend in ("numba", "reference"):
        state = techloss.new_state()
        res[backend] = _median_s(lambda b=backend, s=state: _tick(inp, n, s, b), repeat)
        print(f"tick_{backend}_ms: {res[backend] * 1e3:.3f}")
    print(f"tick_reference_over_numba: {res['reference'] / res['numba']:.1f}")
    # daily: the suspect evidence (drops over 14 + 7 days, voltages over 7 days of hours, correlation over
    # 14 days of intervals) and the mapping check over 3 days
    x_base, x_since = rng.uniform(0, 20, (14, n)), rng.uniform(0, 20, (7, n))
    t_base, t_since = x_base.sum(axis=1) * 1.01, x_since.sum(axis=1) * 1.02
    c_base, c_since = (np.arange(14) % 7 >= 5).astype(np.int64), (np.arange(14, 21) % 7 >= 5).astype(np.int64)
    du, ncur = 3 + rng.normal(0, 1, (7 * 24, n)), rng.normal(2, 1, (7 * 24, n))
    group = (np.arange(n) % 12).astype(np.int64)
    xi, ntl = rng.uniform(0, 0.5, (n, 14 * DAY)), rng.normal(0, 0.5, 14 * DAY)
    v = 225 + rng.normal(0, 1, (n, 3 * DAY))
    vm = 228 + rng.normal(0, 1, (3, 3 * DAY))
    phase = np.arange(n) % 3

    def evidence_day(b: str) -> None:
        mod = kernels("evidence", b)
        out = [np.empty(n) for _ in range(3)]
        mod.drop_match(x_base, t_base, c_base, x_since, t_since, c_since, t_since - x_since.sum(axis=1), *out)
        mod.voltage_excess(du, ncur, group, 12, other_phases(group), np.ones(n, np.bool_), 24, out[0], out[1], np.empty(n, np.int64))
        kernels("suspects", b).diff_corr(xi, ntl, DAY, out[2])

    for name, fn in (
        ("suspect_evidence", evidence_day),
        ("check_mapping", lambda b: mapping.check_mapping(v, vm, phase, MappingParams(), backend=b)),
    ):
        t_n = _median_s(lambda fn=fn: fn("numba"), max(repeat // 10, 3))
        t_r = _median_s(lambda fn=fn: fn("reference"), 3)
        print(f"daily_{name}_numba_ms: {t_n * 1e3:.1f}")
        print(f"daily_{name}_reference_ms: {t_r * 1e3:.1f}")
        print(f"daily_{name}_reference_over_numba: {t_r / t_n:.1f}")


def bench_joint_share(per_phase: list[int], repeat: int) -> None:
    """The joint-share fit of one flagged phase at a day close: 14 days of hours against the phase's meters
    (the NNLS grows with the cube of the meters; more meters than hours get no fit)."""
    rng = np.random.default_rng(1)
    hours = 14 * 24
    profile = 0.3 + np.clip(np.sin((np.arange(hours) % 24 - 6) / 24 * 2 * np.pi), 0, None)
    for m in per_phase:
        x = rng.uniform(0.2, 2.0, m) * profile[:, None] * rng.lognormal(0, 0.4, (hours, m))
        y = 0.4 * x[:, 0] + 0.01 * x.sum(axis=1) + rng.normal(0, 0.05, hours)
        b, t = np.empty(m), np.empty(m)
        res = {be: _median_s(lambda be=be, x=x, y=y, b=b, t=t: kernels("evidence", be).joint_share(x, y, b, t),
                             max(repeat // 10, 3)) for be in ("numba", "reference")}
        print(f"daily_joint_share_{m}_meters_numba_ms: {res['numba'] * 1e3:.2f}")
        print(f"daily_joint_share_{m}_meters_reference_ms: {res['reference'] * 1e3:.2f}")
        print(f"daily_joint_share_{m}_meters_reference_over_numba: {res['reference'] / res['numba']:.1f}")


def write_replay_csv(path: Path, meters: int, days: int, seed: int = 0) -> int:
    """A readings export: 9 quantities per meter per 15 min, 12 master quantities per minute. Returns rows."""
    rng = np.random.default_rng(seed)
    t0 = 1_767_225_600
    reg = rng.uniform(100, 5000, meters)
    master_reg = np.array([reg.sum(), 0.0])       # forward and reverse registers: they only grow
    rows = 0
    mq = ("u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p", "q", "pf", "e_fwd", "e_rev")
    with path.open("w") as f:
        f.write("ts,device,quantity,value\n")
        for k in range(days * DAY):
            t = t0 + k * 900
            reg += rng.uniform(0, 0.3, meters)
            u = rng.normal(225, 2, meters)
            cur = rng.uniform(0, 8, meters)
            out = []
            for minute in range(15):
                tm = t + minute * 60
                step = rng.uniform(0, meters * 0.02)        # kWh this minute; P and Q agree with it
                master_reg[0] += step
                vals = [*rng.uniform(0, 300, len(mq) - 2), *master_reg]
                vals[mq.index("p")], vals[mq.index("q")] = step * 60.0, step * 20.0
                out.extend(f"{tm},master,{q},{v:.2f}\n" for q, v in zip(mq, vals, strict=True))
            for i in range(meters):
                ts = f"{t + i * 0.4:.1f}"
                mid = f"m{i:04d}"
                out.append(f"{ts},{mid},e_fwd,{reg[i]:.2f}\n{ts},{mid},e_rev,0.00\n{ts},{mid},u_a,{u[i]:.1f}\n"
                           f"{ts},{mid},i_a,{cur[i]:.3f}\n{ts},{mid},i_n,{cur[i]:.3f}\n{ts},{mid},p,{cur[i] * 0.22:.4f}\n"
                           f"{ts},{mid},pf,0.98\n{ts},{mid},sw3,0\n{ts},{mid},sw7,0\n")
            rows += 15 * len(mq) + 9 * meters
            f.write("".join(out))
    return rows


def bench_replay(meters: int, days: int, repeat: int) -> None:
    area = Area.simple(id="A", rated_kva=400, meter_ids=[f"m{i:04d}" for i in range(meters)])
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "export.csv"
        rows = write_replay_csv(path, meters, days)
        size = path.stat().st_size

        def run() -> None:
            stats = ReplayStats()
            n = sum(len(b) for b in read_batches(path, area, stats=stats))
            assert n == rows and stats.rejected == 0, (n, rows, stats.errors)

        def raw() -> None:  # the physical limit here: reading the bytes and finding the lines
            with path.open("rb") as fh:
                while block := fh.read(8 << 20):
                    block.count(b"\n")

        t = _median_s(run, repeat)
        t_raw = _median_s(raw, repeat)
    print(f"replay_file_days: {days}")
    print(f"replay_file_rows: {rows}")
    print(f"replay_file_mb: {size / 1e6:.1f}")
    print(f"replay_reader_s: {t:.3f}")
    print(f"replay_reader_rows_per_s: {rows / t:.0f}")
    print(f"replay_reader_mb_per_s: {size / 1e6 / t:.1f}")
    print(f"raw_read_mb_per_s: {size / 1e6 / t_raw:.1f}")
    print(f"replay_reader_over_raw_read: {t / t_raw:.1f}")
    if days == 90:
        print(f"replay_reader_90d_s: {t:.1f}")
    else:
        print(f"replay_reader_90d_s_extrapolated_linearly_from_{days}d: {t * 90 / days:.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--meters", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--replay-meters", type=int, default=500)
    ap.add_argument("--replay-days", type=int, default=7)
    ap.add_argument("--share-meters", default="25,100,300", help="meters on a phase for the joint-share fit")
    args = ap.parse_args()
    print(f"meters: {args.meters}")
    bench_kernels(args.meters, args.repeat)
    bench_joint_share([int(m) for m in args.share_meters.split(",")], args.repeat)
    bench_replay(args.replay_meters, args.replay_days, 3)


if __name__ == "__main__":
    main()
