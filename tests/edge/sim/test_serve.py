"""Serve mode end to end: a small area on ptys / TCP, read with ``meterwatch read`` as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from detect.quantities import CT_SCALED
from edge.config import load_config
from edge.errors import ConfigError
from edge.sim.config import SimConfig, parse_sim_config
from edge.sim.serve import ServedArea, _split, serve_area

# 6 customers: M0003 and M0006 three-phase, M0006 CT-connected (ratio 50); every meter has a quirk
# (no FE preamble, no block reads, replies in follow-up frames, in turn).
SIM = """
[sim]
seed = 5
[area]
customers = 6
branches = 2
rated_kva = 50
three_phase_every = 3
[serve]
buses = 2
baud = 9600
response_delay_s = 0.02
quirks_share = 1.0
{extra}
"""
# Register resolution of the DL/T 645 formats (catalogue) per quantity.
DLT645_RES = {"u_a": 0.1, "u_b": 0.1, "u_c": 0.1, "i_a": 0.001, "i_b": 0.001, "i_c": 0.001, "i_n": 0.001,
              "p": 0.0001, "pf": 0.001, "e_fwd": 0.01, "e_rev": 0.01, "sw7": 0.0}


def cfg_with(extra: str = "") -> SimConfig:
    return parse_sim_config(SIM.format(extra=extra), "sim.toml")


def cli(*args: str, timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge.cli", *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def bracketed(served: ServedArea, *args: str) -> tuple[dict[str, Any], float, float]:
    """Run ``meterwatch read --json`` and return its output with the sim times before and after."""
    t0 = served.clock.now()
    proc = cli("read", *args, "--json")
    t1 = served.clock.now()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout), t0, t1


def steps_between(cfg: SimConfig, t0: float, t1: float) -> list[float]:
    first = t0 - (t0 - cfg.start) % cfg.step_s
    return [first + k * cfg.step_s for k in range(int((t1 - first) // cfg.step_s) + 1)]


def matches_some_step(served: ServedArea, device: str, got: dict[str, float], t0: float, t1: float,
                      tol: dict[str, float], scale: float = 1.0) -> None:
    """``got`` equals the source's values at one simulation step inside [t0, t1] (within ``tol``)."""
    misses = []
    for t in steps_between(served.cfg, t0, t1):
        want = served.source.values(device, list(got), t)
        want = {q: v / scale if q in CT_SCALED else v for q, v in want.items()}
        bad = {q: (got[q], want[q]) for q in got if abs(got[q] - want[q]) > tol[q] + 1e-9}
        if not bad:
            return
        misses.append((t, bad))
    raise AssertionError(f"{device}: read values match no step in [{t0}, {t1}]: {misses}")


@pytest.fixture(scope="module")
def served_pty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedArea]:
    with serve_area(cfg_with(), speed=1.0, out_dir=tmp_path_factory.mktemp("pty")) as served:
        yield served


def test_meters_are_split_over_two_buses_and_the_edge_config_passes_check_config(served_pty: ServedArea) -> None:
    assert [b.meters for b in served_pty.buses] == [("M0001", "M0002", "M0003"), ("M0004", "M0005", "M0006")]
    assert all(b.port.startswith("/dev/pts/") for b in served_pty.buses)
    proc = cli("check-config", str(served_pty.edge_config))
    assert proc.returncode == 0, proc.stderr
    assert "6 meters, 3 bus(es)" in proc.stdout
    cfg = load_config(served_pty.edge_config)
    assert {b.name: b.port for b in cfg.buses} == {
        **{b.name: b.port for b in served_pty.buses}, "ttu": served_pty.ttu.port}
    assert all(b.parity == "N" for b in cfg.buses)            # ptys refuse even parity
    meters = {m.id: m for m in cfg.areas[0].meters}
    assert meters["M0006"].ct_ratio == 50 and meters["M0006"].kind == "three" and meters["M0006"].bus == "rs485-2"
    assert cfg.areas[0].master.bus == "ttu" and cfg.areas[0].master.profile == "ttu"
    assert served_pty.edge_config.read_text() == served_pty.config_text


def test_a_single_phase_meter_reads_over_the_pty_as_the_area_source_says(served_pty: ServedArea) -> None:
    bus = served_pty.buses[0]
    qs = ["u_a", "i_a", "p", "pf", "e_fwd", "sw7"]
    out, t0, t1 = bracketed(served_pty, "--port", bus.port, "--baud", "9600", "--parity", "N",
                            "--address", bus.addresses[0], *qs)
    got = {r["item"]: r["value"] for r in out["items"]}
    assert set(got) == set(qs)
    matches_some_step(served_pty, "M0001", got, t0, t1, DLT645_RES)


def test_a_ct_three_phase_meter_with_follow_up_replies_reads_secondary_values(served_pty: ServedArea) -> None:
    bus = served_pty.buses[1]
    qs = ["u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "p", "e_fwd"]
    out, t0, t1 = bracketed(served_pty, "--port", bus.port, "--baud", "9600", "--parity", "N",
                            "--address", bus.addresses[2], *qs)
    got = {r["item"]: r["value"] for r in out["items"]}
    assert set(got) == set(qs), out
    assert got["i_a"] > 0
    matches_some_step(served_pty, "M0006", got, t0, t1, DLT645_RES, scale=50.0)
    assert bus.bus.meters[bus.addresses[2]].followup_chunk == 8


def test_the_ttu_reads_over_modbus_rtu_on_a_pty_as_the_area_source_says(served_pty: ServedArea) -> None:
    out, t0, t1 = bracketed(served_pty, "--port", served_pty.ttu.port, "--protocol", "modbus-rtu", "--baud", "9600",
                            "--parity", "N", "--profile", "ttu")
    got = {r["quantity"]: r["value"] for r in out["readings"]}
    assert {"u_a", "i_a", "p", "q", "pf", "e_fwd", "f"} <= set(got) and not out.get("failures")
    tol = {q: abs(v) * 1e-6 + 1e-6 for q, v in got.items()}     # float32 registers
    matches_some_step(served_pty, "master", got, t0, t1, tol)


def test_serving_on_tcp_reads_meters_and_modbus_tcp_ttu(tmp_path: Path) -> None:
    with serve_area(cfg_with('ttu_transport = "tcp"'), tcp=True, out_dir=tmp_path) as served:
        assert served.ttu.protocol == "modbus-tcp"
        bus = served.buses[1]
        assert bus.port.startswith("tcp://127.0.0.1:")
        out, t0, t1 = bracketed(served, "--port", bus.port, "--address", bus.addresses[0], "u_a", "i_a", "p")
        got = {r["item"]: r["value"] for r in out["items"]}
        matches_some_step(served, "M0004", got, t0, t1, DLT645_RES)
        out, t0, t1 = bracketed(served, "--port", served.ttu.port, "--protocol", "modbus-tcp", "--profile", "ttu",
                                "u_a", "i_c", "p", "e_fwd")
        got = {r["quantity"]: r["value"] for r in out["readings"]}
        assert set(got) == {"u_a", "i_c", "p", "e_fwd"}
        matches_some_step(served, "master", got, t0, t1, {q: abs(v) * 1e-6 + 1e-6 for q, v in got.items()})
        assert cli("check-config", str(served.edge_config)).returncode == 0
        assert served.requests()[1] >= 1


def test_meter_clock_and_values_follow_the_sped_up_sim_clock(tmp_path: Path) -> None:
    with serve_area(cfg_with(), speed=3600.0, out_dir=tmp_path) as served:
        bus = served.buses[0]
        out, t0, t1 = bracketed(served, "--port", bus.port, "--baud", "9600", "--parity", "N",
                                "--address", bus.addresses[0], "04000101", "04000102")
        assert t1 - t0 > 600                                      # an hour per wall second
        date, clock = (r["value"] for r in out["items"])
        meter_local = datetime.fromisoformat(f"{date[:10]}T{clock}")
        lo, hi = (datetime.fromtimestamp(t, timezone(timedelta(hours=8))).replace(tzinfo=None) for t in (t0, t1))
        assert lo - timedelta(seconds=1) <= meter_local <= hi


def test_the_next_day_is_prepared_ahead_and_the_current_one_still_answers() -> None:
    from edge.sim.area import AreaSource

    cfg = cfg_with()
    src = AreaSource(cfg)
    before = src.values("M0001", ["e_fwd"], cfg.start + 86000)
    src.prepare(cfg.start + 86400 + 10)                          # what the serve loop does near midnight
    assert src.values("M0001", ["e_fwd"], cfg.start + 86000) == before
    assert src.values("M0001", ["e_fwd"], cfg.start + 86400 + 10)["e_fwd"] >= before["e_fwd"]


def test_split_by_branch_puts_each_feeder_on_one_bus() -> None:
    from edge.sim.area import AreaSource

    cfg = parse_sim_config("[area]\ncustomers = 40\nbranches = 4\n[serve]\nbuses = 2\nsplit = \"branch\"\n")
    src = AreaSource(cfg)
    groups = _split(cfg, src)
    assert sorted(i for g in groups for i in g) == list(range(40))
    for k, g in enumerate(groups):
        assert {int(src.sim.net.branch[i]) % 2 for i in g} == {k}


@pytest.mark.parametrize(("table", "message"), [
    ("buses = 0", "serve.buses: 0 must be in 1..6"),
    ('split = "random"', "serve.split: 'random' is not one of even, branch"),
    ("baud = 2401", "serve.baud: 2401 is not one of"),
    ("response_delay_s = 0.9", "serve.response_delay_s: 0.9 is outside 0.02..0.5 s"),
    ('ttu_transport = "udp"', "serve.ttu_transport: 'udp' is not one of rtu, tcp"),
    ("colour = 1", "serve.colour: unknown key"),
])
def test_bad_serve_options_are_named(table: str, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_sim_config(f"[area]\ncustomers = 6\n[serve]\n{table}\n", "sim.toml")
    assert any(message in str(i) for i in exc.value.issues), [str(i) for i in exc.value.issues]


def test_an_unknown_ttu_profile_fails_before_serving(tmp_path: Path) -> None:
    with pytest.raises(ConfigError), serve_area(cfg_with('ttu_profile = "nosuch"'), out_dir=tmp_path):
        pass  # pragma: no cover
    assert not (tmp_path / "edge.toml").exists()


def test_serving_simulates_the_next_day_before_the_clock_reaches_midnight(tmp_path: Path) -> None:
    import time

    with serve_area(cfg_with(), speed=40000.0, tcp=True, out_dir=tmp_path) as served:
        deadline = time.monotonic() + 1.5
        while served.source.sim.next_day < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert served.clock.now() < served.cfg.start + 86400        # still day 0 on the clock
        assert served.source.sim.next_day == 2                      # day 1 is already simulated
        got = served.source.values("M0001", ["e_fwd"], served.clock.now())
        assert got["e_fwd"] > 0                                     # and day 0 still answers


def test_primary_meter_values_report_primary_and_record_ct_ratio_1(tmp_path: Path) -> None:
    with serve_area(cfg_with('meter_values = "primary"'), tcp=True, out_dir=tmp_path) as served:
        bus = served.buses[1]
        out, t0, t1 = bracketed(served, "--port", bus.port, "--address", bus.addresses[2], "i_a", "p")
        got = {r["item"]: r["value"] for r in out["items"]}
        matches_some_step(served, "M0006", got, t0, t1, DLT645_RES)
        meters = {m.id: m for m in load_config(served.edge_config).areas[0].meters}
        assert meters["M0006"].ct_ratio == 1


def test_a_ttu_profile_given_by_relative_path_is_written_absolute(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(__file__).resolve().parents[3]
    monkeypatch.chdir(root)
    with serve_area(cfg_with('ttu_profile = "edge/modbus/profiles/dtsu666.toml"\nttu_ct_ratio = 200'),
                    tcp=True, out_dir=tmp_path) as served:
        master = load_config(served.edge_config).areas[0].master
        assert master.profile == str(root / "edge/modbus/profiles/dtsu666.toml") and master.ct_ratio == 200
