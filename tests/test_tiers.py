"""The check that ``make test``'s two tiers run every collected test exactly once (tests/support/tiers.py),
and the conftest hook that records what each tier collected and selected, run by a real pytest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support import tiers, xdist_sched

ALL = {"t.py::a", "t.py::b", "t.py::c"}


def test_a_clean_split_passes_and_says_how_many_ran_where(tmp_path: Path, capsys) -> None:
    tiers.record(tmp_path / "parallel.json", sorted(ALL), ["t.py::a", "t.py::c"])
    tiers.record(tmp_path / "serial.json", sorted(ALL), ["t.py::b"])
    assert tiers.main([str(tmp_path / "parallel.json"), str(tmp_path / "serial.json")]) == 0
    assert "2 parallel + 1 serial = 3 collected, each run exactly once" in capsys.readouterr().out


def test_a_gap_an_overlap_and_a_different_collection_are_each_named() -> None:
    gap = tiers.check({"parallel": (ALL, ["t.py::a"]), "serial": (ALL, ["t.py::b"])})
    assert gap == ["1 collected test(s) run in no tier: t.py::c"]
    twice = tiers.check({"parallel": (ALL, ["t.py::a", "t.py::b"]), "serial": (ALL, ["t.py::b", "t.py::c"])})
    assert twice == ["t.py::b runs in parallel and again in serial"]
    other = tiers.check({"parallel": (ALL, ["t.py::a", "t.py::b"]), "serial": (ALL - {"t.py::c"}, [])})
    assert other[0] == "serial collected other tests than parallel: only in parallel: t.py::c; only in serial: -"
    assert other[1] == "1 collected test(s) run in no tier: t.py::c"


def test_a_missing_record_fails_with_its_path(tmp_path: Path, capsys) -> None:
    tiers.record(tmp_path / "parallel.json", sorted(ALL), sorted(ALL))
    try:
        tiers.main([str(tmp_path / "parallel.json"), str(tmp_path / "serial.json")])
    except SystemExit as e:
        assert f"{tmp_path / 'serial.json'}: no test record" in str(e)
    else:
        raise AssertionError("a missing record passed")


def test_the_conftest_hook_records_collected_and_marker_selected_ids(tmp_path: Path) -> None:
    """A real pytest (collection only) over tests/test_support.py with ``-m integration``: the record names
    its five tests as collected and, as selected, the three that use a service fixture (the marker the
    hook adds is in place before ``-m`` selects), not the pseudo-terminal one nor the hanging subprocess."""
    root = Path(__file__).resolve().parents[1]
    rec = tmp_path / "integration.json"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--collect-only",
                           "-m", "integration", "tests/test_support.py"],
                          cwd=root, env={**os.environ, "MW_TIER_RECORD": str(rec)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(rec.read_text())
    mod = "tests/test_support.py::"
    assert data["collected"] == sorted(mod + t for t in (
        "test_mosquitto_accepts_connections", "test_victoria_metrics_takes_influx_line_protocol",
        "test_influx1_answers_influxql", "test_pty_pair_carries_bytes_both_ways",
        "test_a_python_command_that_hangs_fails_with_the_stacks_of_its_threads"))
    assert data["selected"] == sorted(set(data["collected"]) - {
        mod + "test_pty_pair_carries_bytes_both_ways", mod + "test_a_python_command_that_hangs_fails_with_the_stacks_of_its_threads"})


class _Config:
    """What xdist's scheduler reads of the config: two local workers, groups ordered by size."""

    option = type("option", (), {"loadscopereorder": True})()

    def getvalue(self, name: str) -> object:
        return {"tx": ["2*popen"]}[name]


def test_the_scheduler_keeps_a_group_together_and_hands_out_groups_then_slow_tests_first(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"a.py::x": ["", False], "a.py::slow": ["", True], "d/g.py::1": ["d", False],
                                "d/h.py::2": ["d", False], "m.py::3": ["m.py", True], "b.py::y": ["", False]}))
    sched = xdist_sched.GroupScheduling(_Config(), None, plan)   # type: ignore[arg-type]
    assert [sched._split_scope(t) for t in ("a.py::x", "d/g.py::1", "d/h.py::2", "m.py::3", "new.py::z")] == [
        "a.py::x", "group:d", "group:d", "group:m.py", "new.py::z"]
    sched.workqueue.update((sched._split_scope(t), {t: False}) for t in ("a.py::x", "a.py::slow", "m.py::3", "b.py::y"))
    sched.workqueue.setdefault("group:d", {}).update({"d/g.py::1": False, "d/h.py::2": False})
    sched._reorder()
    assert list(sched.workqueue) == ["group:d", "group:m.py", "a.py::slow", "a.py::x", "b.py::y"]
