"""The export corpus (``tests/data/exports/``): every realistic layout replays to the same line loss and alerts
as its clean twin, or stops with the documented message; the generator rewrites it identically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from edge.cli import main
from tests.edge.imports.corpus import SPECS, STOPS, write_corpus
from wire import KINDS

CORPUS = Path(__file__).resolve().parents[2] / "data" / "exports"


def _replay(tmp: Path, name: str, *extra: str) -> tuple[int, list[dict[str, Any]]]:
    out = tmp / f"{name}.jsonl"
    code = main(["replay", "--area", str(CORPUS / "area.toml"), "--readings", str(CORPUS / name), "--out", str(out),
                 "--no-progress", *extra])
    return code, [json.loads(line)["payload"] for line in out.read_text().splitlines()] if out.exists() else []


def _outcome(msgs: list[dict[str, Any]]) -> tuple[list[tuple[str, float | None]], set[tuple[Any, ...]]]:
    daily = [(m["date"], m.get("loss_kwh")) for m in msgs if m["schema"] == KINDS["daily"].tag]
    alerts = {(m["kind"], m["subject"]["id"], m["state"], m["ts"]) for m in msgs if m["schema"] == KINDS["alert"].tag}
    return daily, alerts


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("clean")
    code, msgs = _replay(tmp, "clean.csv")
    assert code == 0
    _, twin_msgs = _replay(tmp, "daily_frozen.twin.csv")
    return {"csv": _outcome(msgs), "daily": _outcome(twin_msgs), "tmp": tmp}


@pytest.mark.parametrize("spec", [s for s in SPECS if s.name not in STOPS], ids=lambda s: s.name)
def test_each_export_replays_like_its_clean_twin(spec: Any, clean: dict[str, Any],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, msgs = _replay(clean["tmp"], spec.name, *spec.replay_args)
    err = capsys.readouterr().err
    assert code == 0, err
    daily, alerts = _outcome(msgs)
    want_daily, want_alerts = clean["daily" if spec.layout == "daily" else "csv"]
    assert [d for d, _ in daily] == [d for d, _ in want_daily]
    for (_, got), (_, want) in zip(daily, want_daily, strict=True):
        assert (got is None) == (want is None) and (got is None or abs(got - want) <= 1e-6 * max(1.0, abs(want)))
    assert alerts == want_alerts
    if spec.layout != "daily":
        assert any(a[0] == "cover_open" and a[1] == "M0002" for a in alerts)   # the injected tamper is seen


def test_the_clean_export_computes_the_days_line_loss(clean: dict[str, Any]) -> None:
    daily, _ = clean["csv"]
    assert daily and daily[0][1] is not None


@pytest.mark.parametrize("name", sorted(STOPS))
def test_contradicting_exports_stop_with_the_documented_message(name: str, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, msgs = _replay(tmp_path, name)
    err = capsys.readouterr().err
    assert code == 1 and not msgs
    assert STOPS[name] in err and "State it: [units]" in err and name in err


def test_the_generator_rewrites_the_committed_corpus(tmp_path: Path) -> None:
    write_corpus(tmp_path)
    for path in sorted(CORPUS.iterdir()):
        if path.suffix in (".csv", ".toml"):
            assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name
    import openpyxl

    def cells(p: Path) -> list[Any]:
        book = openpyxl.load_workbook(p, read_only=True)
        return [list(ws.iter_rows(values_only=True)) for ws in book.worksheets]

    assert cells(tmp_path / "excel_wide.xlsx") == cells(CORPUS / "excel_wide.xlsx")
