"""Golden replays: what the engine publishes on the bundled simulator scenarios, kept byte for byte.

For every scenario of ``edge/sim/scenarios/`` (``SPECS`` below: a smaller area and a few days, so the test
stays fast), ``tests/data/golden/<name>/`` holds

- the inputs, exported once from the simulator and then kept (so a change of the simulator does not move
  them): ``area.toml``, ``meters.csv``, ``readings.csv.xz``;
- ``out.jsonl.xz``: the JSON lines ``meterwatch replay`` writes for them (``edge.replayer.replay``, the
  daemon's pipeline and serialisers), advancing the engine every ``BATCH_S`` seconds of data.

``restart/`` holds an engine snapshot taken in the middle of the ``faults`` replay by the engine as it was
when it was recorded (``snapshot.bin``, never re-recorded: restoring it tests that snapshots of that
version still load) and ``tail.jsonl.xz``, what the current engine publishes after restoring it and
replaying the rest. Recorded with the engine of issue 17's start, that tail is the same messages as the
uninterrupted replay's end (``--record`` says so), though not the same bytes: a restored active alert's
``evidence`` keys come back sorted (the snapshot header is written with ``sort_keys``).

``tests/detect/test_golden.py`` replays and compares. ``platform.json`` says where they were recorded: the
last bits of a float can depend on the numpy / numba versions and the CPU's SIMD extensions, and a
failure names any difference. When a change alters detection ON PURPOSE, re-record
and say in the commit which outputs changed and why::

    .venv/bin/python -m tests.detect.golden --record            # outputs, from the stored inputs
    .venv/bin/python -m tests.detect.golden --record faults     # one scenario (and the restart tail)
    .venv/bin/python -m tests.detect.golden --inputs            # re-export the inputs from the simulator

``--inputs`` replaces the inputs (and with them every output and the restart snapshot); it is only for a
new scenario or a deliberate change of what the goldens cover.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import lzma
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "data" / "golden"
SCENARIOS = REPO / "edge" / "sim" / "scenarios"
BATCH_S = 300.0                  # the engine is advanced every 5 min of data (the daemon: every few seconds)
RESTART_SCENARIO = "faults"
RESTART_AT_H = 61.0              # hours after the start: master_offline active, line-loss rings filled


@dataclass(frozen=True)
class Spec:
    """A scenario file shrunk to a test: ``customers`` (≥ its highest subject), ``days``, master cadence,
    and detection parameters written into the area file (windows short enough to run in ``days``)."""

    scenario: str
    customers: int
    days: int
    master_s: int = 60
    detection: dict[str, dict[str, Any]] = field(default_factory=dict)


SPECS: dict[str, Spec] = {s.scenario: s for s in (
    Spec("healthy", customers=40, days=2, master_s=120),
    # line_loss.high_pct and theft.swing_days low enough that the suspect ranking has a signal on day 4
    Spec("theft", customers=80, days=4, master_s=300,
         detection={"theft": {"window_days": 3, "baseline_days": 1, "swing_days": 1},
                    "line_loss": {"high_pct": 5.0},
                    "tech_loss": {"warmup_intervals": 96, "day_baseline_days": 2}}),
    Spec("faults", customers=60, days=3, master_s=120),
    Spec("overload", customers=40, days=2, master_s=120),
    Spec("records", customers=40, days=2, master_s=300),
    Spec("demo", customers=24, days=1),
    # two ordinary days, then the first hot day with its hot-spot episode in the evening
    Spec("heatwave", customers=24, days=3, master_s=300),
)}


def _toml_inline(d: dict[str, Any]) -> str:
    items = []
    for k, v in d.items():
        items.append(f"{k} = {_toml_inline(v) if isinstance(v, dict) else json.dumps(v)}")
    return "{ " + ", ".join(items) + " }"


def export_inputs(spec: Spec, dest: Path) -> None:
    """Export ``spec``'s inputs from the simulator into ``dest`` (area.toml, meters.csv, readings.csv.xz)."""
    from edge.sim.config import load_sim_config
    from edge.sim.export import export

    cfg = load_sim_config(SCENARIOS / f"{spec.scenario}.toml")
    highest = max((int(s.subject[1:]) for s in cfg.scenarios if re.fullmatch(r"M\d{4}", s.subject)), default=0)
    if highest > spec.customers:
        raise SystemExit(f"golden {spec.scenario}: scenario subject M{highest:04d} needs ≥ {highest} customers")
    cfg = dataclasses.replace(cfg, area=dataclasses.replace(cfg.area, customers=spec.customers),
                              export=dataclasses.replace(cfg.export, master_s=spec.master_s))
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mw-golden-") as tmp:
        export(cfg, tmp, spec.days)
        area = (Path(tmp) / "area.toml").read_text(encoding="utf-8")
        det = {"outage": {"master_cadence_s": float(spec.master_s), "meter_cadence_s": float(cfg.export.meter_s)},
               **spec.detection}
        area = re.sub(r"(?m)^detection = .*$", lambda _m: f"detection = {_toml_inline(det)}", area)
        (dest / "area.toml").write_text(area, encoding="utf-8")
        shutil.copy(Path(tmp) / "meters.csv", dest / "meters.csv")
        with open(Path(tmp) / "readings.csv", "rb") as src, lzma.open(dest / "readings.csv.xz", "wb",
                                                                         preset=9) as dst:
            shutil.copyfileobj(src, dst)


def _batches(name: str, tmp: Path) -> tuple[Any, Any, Path]:
    """The area, parameters and decompressed readings CSV of golden ``name`` (in ``tmp``)."""
    from edge.areafile import load_area_file

    src = GOLDEN / name
    area, params = load_area_file(src / "area.toml")
    csv = tmp / f"{name}.csv"
    with lzma.open(src / "readings.csv.xz", "rb") as f, open(csv, "wb") as out:
        shutil.copyfileobj(f, out)
    return area, params, csv


def replay_golden(name: str) -> bytes:
    """The JSON lines the current code publishes for golden ``name``'s inputs."""
    from edge.replayer import replay

    with tempfile.TemporaryDirectory(prefix="mw-golden-") as tmp:
        area, params, csv = _batches(name, Path(tmp))
        out = io.StringIO()
        replay(area, params, csv, out, batch_s=BATCH_S)
    return out.getvalue().encode()


def _restart_run(snapshot: bytes | None) -> tuple[bytes, bytes]:
    """Replay ``RESTART_SCENARIO`` through the daemon's pipeline, cut at ``RESTART_AT_H``. Returns (the
    snapshot taken at the cut, the JSON lines published after it); with ``snapshot`` the engine is restored
    from it at the cut instead of continuing."""
    import asyncio

    from detect.batch import ReadingBatch
    from detect.engine import Engine
    from edge.pipeline import AreaRunner
    from edge.replay import ReplayStats, read_batches
    from edge.replayer import JsonlSink

    with tempfile.TemporaryDirectory(prefix="mw-golden-") as tmp:
        area, params, csv = _batches(RESTART_SCENARIO, Path(tmp))
        out = io.StringIO()
        sink = JsonlSink(out)
        runner = AreaRunner(area, params, gateway="replay", topic_prefix="meterwatch/v2", sink=sink,
                            snapshots=False, active_each_step=False)     # as edge.replayer.replay
        taken = b""
        tail_from = -1

        async def go() -> None:
            nonlocal taken, tail_from
            cut = None
            for b in read_batches(csv, area, batch_s=BATCH_S, reorder_s=300.0, stats=ReplayStats()):
                if cut is None:
                    cut = b.t_start + RESTART_AT_H * 3600.0
                if tail_from < 0 and b.t_start >= cut:
                    taken = runner.engine.snapshot()
                    if snapshot is not None:
                        runner.engine = Engine.restore(snapshot, area=area, params=params)
                    tail_from = len(out.getvalue())
                runner.feed_batch(ReadingBatch(device=b.device, quantity=b.quantity, value=b.value, ts=b.ts))
                await runner.step(b.t_end)

        asyncio.run(go())
    return taken, out.getvalue()[tail_from:].encode()


def restart_tail() -> bytes:
    """What the current engine publishes after restoring the stored (old-version) snapshot at the cut."""
    blob = (GOLDEN / "restart" / "snapshot.bin").read_bytes()
    return _restart_run(blob)[1]


def platform() -> dict[str, Any]:
    """What the last bits of the floats may depend on: library versions and the CPU's SIMD extensions
    (numpy and libm pick math routines by them)."""
    import platform as pf

    import numba
    import numpy as np
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as cpu
    except ImportError:                 # numpy 1.x
        from numpy.core._multiarray_umath import __cpu_features__ as cpu

    return {"python": pf.python_version(), "numpy": np.__version__, "numba": numba.__version__,
            "machine": pf.machine(), "simd": sorted(k for k, v in cpu.items() if v and k.startswith("AVX512"))}


def platform_note() -> str:
    """Empty, or where the recording and this run differ in ``platform()``."""
    path = GOLDEN / "platform.json"
    if not path.exists():
        return ""
    then, now = json.loads(path.read_text(encoding="utf-8")), platform()
    diff = {k: (then.get(k), now[k]) for k in now if then.get(k) != now[k]}
    return f"\nrecorded on another platform (recorded, now): {diff}" if diff else ""


def read_xz(path: Path) -> bytes:
    with lzma.open(path, "rb") as f:
        return f.read()


def write_xz(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with lzma.open(path, "wb", preset=9) as f:
        f.write(data)


def first_difference(want: bytes, got: bytes) -> str:
    """A short account of where two JSON-lines outputs part: line number, both lines, counts."""
    a, b = want.decode().splitlines(), got.decode().splitlines()
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"{len(a)} recorded lines, {len(b)} now; first difference at line {i + 1}:\n  recorded: {x[:600]}\n  now:      {y[:600]}"
    return f"{len(a)} recorded lines, {len(b)} now; the shorter is a prefix of the longer"


def _kinds(data: bytes) -> Iterator[str]:
    for line in data.decode().splitlines():
        p = json.loads(line)["payload"]
        yield p["schema"].split("/")[0].split(".")[-1] + (f":{p['kind']}:{p['state']}" if "kind" in p else "")


def _parsed(data: bytes) -> list[Any]:
    return [json.loads(line) for line in data.decode().splitlines()]


def describe(data: bytes) -> str:
    from collections import Counter

    c = Counter(_kinds(data))
    return ", ".join(f"{k} {v}" for k, v in sorted(c.items()))


def record(names: list[str], inputs: bool) -> None:
    (GOLDEN / "platform.json").write_text(json.dumps(platform(), indent=1) + "\n", encoding="utf-8")
    for name in names:
        if inputs:
            export_inputs(SPECS[name], GOLDEN / name)
        data = replay_golden(name)
        write_xz(GOLDEN / name / "out.jsonl.xz", data)
        print(f"{name}: {len(data.splitlines())} lines: {describe(data)}")
    if RESTART_SCENARIO in names:
        snap = GOLDEN / "restart" / "snapshot.bin"
        if inputs or not snap.exists():
            taken, tail = _restart_run(None)
            snap.parent.mkdir(parents=True, exist_ok=True)
            snap.write_bytes(taken)
        tail = restart_tail()
        write_xz(GOLDEN / "restart" / "tail.jsonl.xz", tail)
        whole = (GOLDEN / RESTART_SCENARIO / "out.jsonl.xz")
        same = _parsed(tail) == _parsed(read_xz(whole))[-len(tail.splitlines()):]
        print(f"restart: snapshot {snap.stat().st_size} bytes, tail {len(tail.splitlines())} lines, "
              f"{'the same messages as' if same else 'NOT the same messages as'} the uninterrupted replay")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="record the golden replays (see the module docstring)")
    ap.add_argument("names", nargs="*", help=f"scenarios (default all: {', '.join(SPECS)})")
    ap.add_argument("--record", action="store_true", help="re-record the outputs from the stored inputs")
    ap.add_argument("--inputs", action="store_true", help="re-export the inputs from the simulator, then record")
    args = ap.parse_args(argv)
    names = args.names or list(SPECS)
    unknown = [n for n in names if n not in SPECS]
    if unknown:
        ap.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SPECS)}")
    if not (args.record or args.inputs):
        ap.error("say --record (outputs) or --inputs (inputs and outputs)")
    record(names, args.inputs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
