"""How ``make test``'s parallel tier hands tests to the pytest-xdist workers (``--dist loadgroup``).

pytest-xdist 3.8's own ``loadgroup`` keeps the tests of one ``xdist_group`` on one worker by appending the
group to ``item._nodeid``; pytest 9 derives ``nodeid`` from elsewhere, so the suffix is lost and the groups
silently spread over all workers (every worker then builds the grid of tests/deploy, 80-110 s each). This
scheduler does the grouping from the controller instead: each worker writes, once collected, every test's
group (its ``xdist_group`` mark; tests/conftest.py gives one to the tests sharing a module- or
package-scoped fixture) and whether it is marked ``slow``; the controller reads that and hands out

1. each group as one unit, on one worker, biggest first,
2. then the single tests marked ``slow`` (a long test started last would leave the other worker idle),
3. then everything else in collection order, one test at a time, as ``--dist load`` does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

__all__ = ["KEY", "GroupScheduling", "write_plan"]

KEY = "mw_xdist_plan"      # workerinput key: where the workers write the plan


def write_plan(path: Path, items: list[pytest.Item]) -> None:
    """The plan of the collected ``items``: {nodeid: [group or "", slow]} (every worker writes the same)."""
    plan = {}
    for item in items:
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                        for m in item.iter_markers("xdist_group")})
        plan[item.nodeid] = ["_".join(names), item.get_closest_marker("slow") is not None]
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(plan), encoding="utf-8")
    os.replace(tmp, path)


class GroupScheduling(LoadScopeScheduling):
    """``LoadScopeScheduling`` whose scope of a test is its group, else the test itself."""

    def __init__(self, config: pytest.Config, log: Any, plan: Path) -> None:
        super().__init__(config, log)
        self.plan_path = plan
        self._plan: dict[str, list[Any]] | None = None

    @property
    def plan(self) -> dict[str, list[Any]]:
        if self._plan is None:              # read once, after every worker has collected (schedule())
            try:
                self._plan = json.loads(self.plan_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise RuntimeError(f"{self.plan_path}: no xdist plan from the workers ({e})") from e
        return self._plan

    def _split_scope(self, nodeid: str) -> str:
        group = self.plan.get(nodeid, ["", False])[0]
        return f"group:{group}" if group else nodeid

    def schedule(self) -> None:
        first_call = self.collection is None
        super().schedule()
        if first_call and self.workqueue:
            self._reorder()

    def _reorder(self) -> None:
        """Groups (biggest first), then slow single tests, then the rest; the initial units already
        handed out by ``schedule()`` stay where they went."""
        def rank(item: tuple[str, dict[str, bool]]) -> tuple[int, int]:
            scope, tests = item
            if scope.startswith("group:"):
                return 0, -len(tests)
            return (1 if self.plan.get(scope, ["", False])[1] else 2), 0

        units = sorted(self.workqueue.items(), key=rank)     # stable: collection order within a rank
        self.workqueue.clear()
        self.workqueue.update(units)
