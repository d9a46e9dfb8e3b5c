"""Every TOML file meterwatch reads goes through tomlconf: no other module parses TOML or finds lines."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _parses_toml(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                 [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        if any(n.split(".")[0] in ("tomllib", "tomli") for n in names):
            return True
    return False


def test_only_tomlconf_imports_tomllib():
    sources = [p for top in ("edge", "detect", "collector", "bench", "tomlconf") for p in (ROOT / top).rglob("*.py")]
    assert len(sources) > 50
    assert sorted(str(p.relative_to(ROOT)) for p in sources if _parses_toml(p)) == ["tomlconf/_doc.py"]


def test_tomlconf_imports_nothing_of_the_project():
    for path in (ROOT / "tomlconf").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom | ast.Import):
                mods = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not any(m.split(".")[0] in ("edge", "detect", "collector") for m in mods), path
