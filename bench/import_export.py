"""Benchmark: importing real utility exports (issue 20), 500 meters × 90 days by default.

    .venv/bin/python bench/import_export.py [--meters 500] [--days 90] [--xlsx-days 1] [--repeat 1]

A simulated area (healthy, 2 kVA per customer) is exported in our long CSV, then written again as a
utility would hand it over (``edge.sim.layouts``): a wide GBK CSV with Chinese headers, CRLF and naive local
times; an xlsx of daily frozen readings (one row per meter per day, the whole period); and an xlsx of the
15-min wide layout for ``--xlsx-days`` days (one sheet per day: 90 days of it are 4.3 M rows, more than one
Excel sheet holds, so its rate is measured on fewer days and extrapolated, said so in the name).

Prints ``name: value`` lines: for each file its size, rows, readings and the import's rows/s and readings/s
(sniff, plan, unit/kind decision and the whole scan, as ``meterwatch replay`` reads it), next to its floor and
their ratio (text: reading the bytes and finding the lines; xlsx: openpyxl's own walk over the cells); then
replay's total time (engine and JSON lines included) on our own CSV and on the wide GBK CSV, replayed in turn
``--repeat`` times (medians), and their ratio (issue 20: the import must not double it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.areafile import load_area
from edge.imports import ImportOptions, Readings
from edge.replayer import replay
from edge.sim.config import parse_sim_config
from edge.sim.export import export
from edge.sim.layouts import LayoutSpec, write_layout

WIDE = ["u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p", "p_a", "p_b", "p_c", "q", "pf", "f", "e_fwd", "e_rev",
        "sw1", "sw2", "sw3", "sw4", "sw5", "sw6", "sw7", "evt_cover_open", "evt_terminal_open", "evt_power_down",
        "evt_event_clear", "evt_meter_clear", "e_fwd_daily", "t_amb"]
GBK_WIDE = LayoutSpec("wide_gbk.csv", layout="wide", encoding="gbk", newline="\r\n", header=("抄表时间", "表号", "", ""),
                      chinese=True, units_in_header=True, time="naive_local", offset_h=0.0,
                      preamble=("台区 B01 抄表数据",))
DAILY_XLSX = LayoutSpec("daily.xlsx", layout="daily", header=("冻结日期", "表号", "", ""), chinese=True,
                        units_in_header=True, time="naive_local", offset_h=0.0, xlsx=True, quantities=("e_fwd_daily",))
WIDE_XLSX = LayoutSpec("wide.xlsx", layout="wide", header=("抄表时间", "表号", "", ""), chinese=True,
                       units_in_header=True, time="naive_local", offset_h=0.0, xlsx=True)


def sim_text(meters: int) -> str:
    kva = max(100, round(meters * 2.0 / 100) * 100)
    return (f'[sim]\nseed = 5\nstart = "2026-07-01T00:00:00Z"\n[area]\nid = "B01"\ncustomers = {meters}\n'
            f"rated_kva = {kva}\nbranches = {max(2, meters // 50)}\n")


def _median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _raw(path: Path) -> None:
    """The floor: the bytes read and the lines found (text), or openpyxl's own walk over the cells (xlsx)."""
    if path.suffix == ".xlsx":
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True)
        for ws in book.worksheets:
            for _ in ws.iter_rows(values_only=True):
                pass
        book.close()
        return
    with path.open("rb") as fh:
        while block := fh.read(8 << 20):
            block.count(b"\n")


def measure_import(name: str, path: Path, area_file: Path, repeat: int, scale: float = 1.0) -> None:
    af = load_area(area_file)
    opts = ImportOptions(timezone="UTC", aliases=af.aliases)
    counts: dict[str, int] = {}

    def run() -> None:
        r = Readings(path, af.area, opts)
        n = sum(c[0].size for c in r.chunks())
        counts.update(rows=r.stats.rows, readings=n, rejected=r.stats.rejected)

    t = _median(run, repeat)
    t_raw = _median(lambda: _raw(path), repeat)
    tag = f"{name}_extrapolated_x{scale:g}" if scale != 1.0 else name
    print(f"{name}_mb: {path.stat().st_size / 1e6:.1f}")
    print(f"{name}_rows: {counts['rows']}")
    print(f"{name}_readings: {counts['readings']}")
    print(f"{name}_rejected: {counts['rejected']}")
    print(f"{tag}_import_s: {t * scale:.2f}")
    print(f"{name}_import_rows_per_s: {counts['rows'] / t:.0f}")
    print(f"{name}_import_readings_per_s: {counts['readings'] / t:.0f}")
    floor = "openpyxl_read" if path.suffix == ".xlsx" else "raw_read"
    print(f"{name}_{floor}_s: {t_raw * scale:.3f}")
    print(f"{name}_import_over_{floor}: {t / max(t_raw, 1e-9):.2f}")


def measure_replays(files: dict[str, Path], area_file: Path, tmp: Path, repeat: int) -> dict[str, float]:
    """Median replay time per file, the files replayed in turn (a, b, a, b, ...) so load drifts hit both."""
    af = load_area(area_file)
    opts = ImportOptions(timezone="UTC", aliases=af.aliases)
    times: dict[str, list[float]] = {name: [] for name in files}
    for _ in range(repeat):
        for name, path in files.items():
            t0 = time.perf_counter()
            with (tmp / "events.jsonl").open("w") as out:
                res = replay(af.area, af.params, path, out, options=opts)
            times[name].append(time.perf_counter() - t0)
            assert res.stats.rejected == 0, res.stats.messages[:3]
    for name, ts in times.items():
        print(f"replay_{name}_s: {statistics.median(ts):.1f}")
    return {name: statistics.median(ts) for name, ts in times.items()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--meters", type=int, default=500)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--xlsx-days", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        t0 = time.perf_counter()
        export(parse_sim_config(sim_text(args.meters)), tmp, args.days)
        print(f"meters: {args.meters}\ndays: {args.days}\nsimulate_export_s: {time.perf_counter() - t0:.1f}")
        area_file = tmp / "area.toml"
        area_file.write_text(area_file.read_text() + 'timezone = "UTC"\n[detection]\nutc_offset_s = 0\n')
        af = load_area(area_file)
        clean = tmp / "readings.csv"

        def chunks(days: int | None = None):  # type: ignore[no-untyped-def]
            end = 1782864000.0 + 86400.0 * days if days else float("inf")
            for dev, q, val, ts in Readings(clean, af.area, ImportOptions(timezone="UTC")).chunks():
                keep = ts < end
                yield dev[keep], q[keep], val[keep], ts[keep]

        for spec, days in ((GBK_WIDE, None), (DAILY_XLSX, None), (WIDE_XLSX, args.xlsx_days)):
            t0 = time.perf_counter()
            write_layout(chunks(days), af.area, tmp / spec.name, spec, WIDE)
            print(f"write_{spec.name.replace('.', '_')}_s: {time.perf_counter() - t0:.1f}")
        measure_import("own_csv", clean, area_file, args.repeat)
        measure_import("wide_gbk_csv", tmp / GBK_WIDE.name, area_file, args.repeat)
        measure_import("daily_xlsx", tmp / DAILY_XLSX.name, area_file, args.repeat)
        measure_import("wide_xlsx", tmp / WIDE_XLSX.name, area_file, args.repeat,
                       scale=args.days / min(args.xlsx_days, args.days))
        t = measure_replays({"own_csv": clean, "wide_gbk_csv": tmp / GBK_WIDE.name}, area_file, tmp, args.repeat)
        print(f"replay_wide_gbk_over_own: {t['wide_gbk_csv'] / t['own_csv']:.2f}")


if __name__ == "__main__":
    main()
