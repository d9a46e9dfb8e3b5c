"""edge/ and collector/ share only the wire package (issue 17), found by reading every import statement."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The command line is the composition root that starts either half (`meterwatch collector`): it may
# import both. No library module of the edge does.
COMPOSITION_ROOTS = {"edge/commands/collector.py"}


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
    return out


def _modules(package: str) -> dict[str, set[str]]:
    return {str(p.relative_to(ROOT)): _imports(p) for p in (ROOT / package).rglob("*.py")}


def _top(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def test_wire_imports_neither_half() -> None:
    for path, names in _modules("wire").items():
        assert not _top(names) & {"edge", "collector", "detect", "tomlconf"}, path


def test_collector_imports_no_edge_module() -> None:
    for path, names in _modules("collector").items():
        assert not _top(names) & {"edge", "detect"}, path


def test_edge_library_imports_no_collector_module() -> None:
    for path, names in _modules("edge").items():
        if path not in COMPOSITION_ROOTS:
            assert "collector" not in _top(names), path

