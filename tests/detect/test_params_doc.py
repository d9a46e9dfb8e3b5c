"""docs/detection.md lists every detection parameter with its default."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from detect.params import Params

DOC = Path(__file__).resolve().parents[2] / "docs" / "detection.md"


def test_every_parameter_is_documented_with_its_default() -> None:
    text = DOC.read_text(encoding="utf-8")
    for f in dataclasses.fields(Params):
        group = f.default_factory() if f.default_factory is not dataclasses.MISSING else None
        rows = [(g.name, g.default) for g in dataclasses.fields(group)] if group else [(f.name, f.default)]
        for name, default in rows:
            assert f"`{name}` | {default!r} |" in text, f"docs/detection.md: parameter {name} missing or stale"
