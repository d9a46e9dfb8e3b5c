"""The shape of detect/: data flows one way. Parsed from the source (ast), every import counted, also those
inside functions and under ``TYPE_CHECKING``:

- the import graph of detect/ has no cycle;
- no stage (``detect.stages.*``) reaches the engine or the alarm machinery, directly or through others;
- detect/ has no wall clock and never imports the edge or the collector.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DETECT = ROOT / "detect"
ENGINE_SIDE = {"detect.engine", "detect.alarms", "detect.alarmboard", "detect.kernels.alarms",
               "detect.reference.alarms", "detect.snapshot"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(DETECT.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """Modules of detect/ that module ``name`` imports (``from detect.x import y`` is ``detect.x.y`` when
    that is a module, else ``detect.x``)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    is_pkg = MODULES[name].name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_pkg else 0)]
                base = ".".join(anchor + ([base] if base else []))
            for a in node.names:
                out.add(f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base)
    return {m for m in out if m in MODULES}


GRAPH = {name: imports_of(name) for name in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}          # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in GRAPH[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def test_the_parser_sees_the_engine_and_its_stages() -> None:
    assert {"detect.engine", "detect.stages.thermal", "detect.stages.loss"} <= set(MODULES)
    assert {"detect.stages.thermal", "detect.alarmboard", "detect.snapshot"} <= GRAPH["detect.engine"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_import_graph_of_detect_has_no_cycle() -> None:
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle in detect/: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("stage", sorted(m for m in MODULES if m.startswith("detect.stages.")))
def test_a_stage_reaches_neither_the_engine_nor_the_alarm_machinery(stage: str) -> None:
    bad = reachable(stage) & ENGINE_SIDE
    assert not bad, f"{stage} imports {sorted(bad)} (directly or through another module)"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_wall_clock_and_no_edge_in_detect(name: str) -> None:
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mods = [node.module or ""]
        else:
            mods = []
        for m in mods:
            top = m.split(".")[0]
            assert top not in ("time", "edge", "collector"), f"{name} imports {m}: detect/ has event time only"
        if isinstance(node, ast.Attribute) and node.attr in ("now", "utcnow", "today") \
                and ast.unparse(node.value).split(".")[-1] in ("datetime", "date"):
            pytest.fail(f"{name}:{node.lineno} reads a clock ({ast.unparse(node)}): use the event time")
