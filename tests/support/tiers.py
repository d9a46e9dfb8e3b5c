"""The two tiers of ``make test``: every collected test runs exactly once, in one of them.

``make test`` runs pytest twice: the parallel tier (``-n 2 -m "not serial"``, over both cores with
pytest-xdist) and the serial tier (``-m serial``, one process: tests that time a real recovery, a
timeout or a rate). With ``MW_TIER_RECORD=<file>`` set, tests/conftest.py writes each invocation's
collected and selected test ids to ``<file>``; ``python -m tests.support.tiers A B`` then checks that
both invocations collected the same tests and that their selections split them without gap or overlap
(a marker expression typed wrong, a test collected by one tier only, a ``-k`` left in the Makefile).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["check", "main", "record"]


def record(path: Path, collected: Sequence[str], selected: Sequence[str]) -> None:
    """Write one invocation's test ids (every xdist worker writes the same; the rename makes it atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"collected": sorted(collected), "selected": sorted(selected)}), encoding="utf-8")
    os.replace(tmp, path)


def _load(path: Path) -> tuple[set[str], list[str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return set(data["collected"]), list(data["selected"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SystemExit(f"tiers: {path}: no test record ({e}); did that pytest run start?") from e


def _some(ids: set[str], n: int = 10) -> str:
    shown = sorted(ids)[:n]
    return ", ".join(shown) + (f" … (+{len(ids) - n})" if len(ids) > n else "")


def check(records: dict[str, tuple[set[str], list[str]]]) -> list[str]:
    """Problems with the split, empty when every collected test is selected by exactly one tier."""
    problems: list[str] = []
    (first, (everything, _)), *rest = records.items()
    for name, (collected, _) in rest:
        if collected != everything:
            problems.append(f"{name} collected other tests than {first}: "
                            f"only in {first}: {_some(everything - collected) or '-'}; "
                            f"only in {name}: {_some(collected - everything) or '-'}")
    seen: dict[str, str] = {}
    for name, (_, selected) in records.items():
        for test in selected:
            if test in seen:
                problems.append(f"{test} runs in {seen[test]} and again in {name}")
            seen[test] = name
    missing = everything - seen.keys()
    if missing:
        problems.append(f"{len(missing)} collected test(s) run in no tier: {_some(missing)}")
    return problems


def main(argv: Sequence[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m tests.support.tiers RECORD RECORD...", file=sys.stderr)
        return 2
    records = {Path(a).stem: _load(Path(a)) for a in argv}
    problems = check(records)
    for p in problems:
        print(f"tiers: {p}", file=sys.stderr)
    if problems:
        return 1
    total = len(next(iter(records.values()))[0])
    split = " + ".join(f"{len(sel)} {name}" for name, (_, sel) in records.items())
    print(f"tiers: {split} = {total} collected, each run exactly once")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
