"""The rooms of docs/architecture.md and who may import whom, checked on the source (ast): every import
statement counts, also those inside functions and under ``TYPE_CHECKING``.

- the module import graph of the whole code (edge, detect, collector, wire, tomlconf) has no cycle;
- every module belongs to exactly one room of ``ROOMS`` and imports only modules of its own room or of
  rooms listed before it (data flows one way: bus → engine → outbox → wire; a room never reaches up).

When this fails on a new module, put the module in its room here and in docs/architecture.md together.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("wire", "tomlconf", "detect", "collector", "edge")

# Bottom to top. A room is a list of module-name patterns (fullmatch). The order of this list is the
# order of the table in docs/architecture.md.
ROOMS: list[tuple[str, list[str]]] = [
    ("wire", [r"wire(\..*)?"]),
    ("tomlconf", [r"tomlconf(\..*)?"]),
    ("detect", [r"detect(\..*)?"]),
    ("collector", [r"collector(\..*)?"]),
    ("edge basics", [r"edge", r"edge\.(errors|readings|wiretime|valuefmt|serialport|portlock|systemd|timeouts|stacks)",
                     r"edge\.config\.(model|doc|localtime|checks)"]),
    ("protocols and imports", [r"edge\.dlt645\.(codec|catalog|values|link|client|scan|cli)",
                               r"edge\.modbus\.(codec|registers|values|points|profile|plan|link|device|adapter|cli)",
                               r"edge\.dlt645", r"edge\.modbus", r"edge\.imports(\..*)?",
                               r"edge\.ambientfile"]),
    ("configuration", [r"edge\.config(\..*)?", r"edge\.area", r"edge\.areafile"]),
    ("outbox", [r"edge\.publish(\..*)?"]),
    ("simulator", [r"edge\.sim(\..*)?"]),
    ("bus", [r"edge\.scheduler(\..*)?", r"edge\.(dlt645|modbus)\.bus", r"edge\.preflight"]),
    ("engine feed", [r"edge\.plausibility(\..*)?", r"edge\.pipeline", r"edge\.replay", r"edge\.replayer",
                     r"edge\.nominalcheck"]),
    ("daemon", [r"edge\.daemon(\..*)?"]),
    ("operator's view", [r"edge\.status(\..*)?"]),
    ("service", [r"edge\.service"]),
    ("commands", [r"edge\.demo", r"edge\.demo_view", r"edge\.commands(\..*)?",
                  r"edge\.cli"]),
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(name: str) -> set[str]:
    path = MODULES[name]
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".")
                anchor = parts[: len(parts) - node.level + (1 if is_pkg else 0)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        out |= {r for t in targets if (r := _resolve(t)) and r != name}
    return out


GRAPH = {name: _imports(name) for name in MODULES}


def room_of(name: str) -> int:
    """The index in ``ROOMS`` of the most specific pattern matching ``name`` (the longest pattern wins, so
    ``edge.dlt645.bus`` is in the bus room while the rest of ``edge.dlt645`` is a protocol stack)."""
    best: tuple[int, int] | None = None
    for i, (_, patterns) in enumerate(ROOMS):
        for p in patterns:
            if re.fullmatch(p, name) and (best is None or len(p) > best[1]):
                best = (i, len(p))
    assert best is not None, f"{name} is in no room of tests/test_architecture.py (and docs/architecture.md)"
    return best[0]


def test_every_module_has_a_room() -> None:
    for name in MODULES:
        room_of(name)


def test_no_room_imports_a_room_above_it() -> None:
    bad = [f"{m} ({ROOMS[room_of(m)][0]}) imports {t} ({ROOMS[room_of(t)][0]})"
           for m, targets in GRAPH.items() for t in sorted(targets) if room_of(t) > room_of(m)]
    assert not bad, "\n".join(bad)


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_module_graph_has_no_cycle() -> None:
    assert _strongly_connected(GRAPH) == []


def test_the_checks_can_fail() -> None:
    """The cycle finder finds a planted cycle, and a planted upward import is an upward import."""
    assert _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
    assert room_of("edge.scheduler.bus") > room_of("edge.dlt645.link")
    assert room_of("edge.dlt645.bus") == room_of("edge.scheduler.bus")
    assert room_of("wire.topics") < room_of("edge.publish.outbox") < room_of("edge.daemon.publishing")


def test_the_page_lists_the_rooms_in_this_order() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+) \| ([^|]+?) \|", page, flags=re.MULTILINE)
    assert [(int(n), name) for n, name in rows] == [(i + 1, name) for i, (name, _) in enumerate(ROOMS)]
