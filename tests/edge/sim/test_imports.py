"""The simulator's modules import one another without circles (issue 17: ``_busio`` ↔ ``meterbus`` and
``catalogue`` ↔ ``config`` used to, hidden behind imports inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

SIM = Path(__file__).resolve().parents[3] / "edge" / "sim"


def sim_imports(path: Path) -> set[str]:
    """Every ``edge.sim.*`` module ``path`` imports, at the top or inside a function or TYPE_CHECKING block."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("edge.sim."):
            out.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[2] for a in node.names if a.name.startswith("edge.sim.")}
    return out


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> list[str]:
        state[m] = 1
        path.append(m)
        for nxt in sorted(graph.get(m, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[m] = 2
        path.pop()
        return []

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return []


def test_simulator_modules_import_each_other_without_a_circle() -> None:
    graph = {p.stem: sim_imports(p) for p in SIM.glob("*.py")}
    assert "catalogue" in graph["config"] and "_busio" in graph["meterbus"]     # the graph is really read
    assert find_cycle(graph) == []


def test_cycle_finder_finds_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
