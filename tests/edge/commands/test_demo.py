"""``meterwatch demo`` as the README's first command runs it: the whole story, checked at the end."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.alertmanager import EXAMPLE_DIR, Alertmanager, Receiver, adapt_example
from tests.support.procs import run_python

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
@pytest.mark.integration
def test_demo_tells_the_whole_story_and_exits_0(tmp_path: Path):
    """The README's demo, also sending its story to a real Alertmanager (``--alertmanager``, the deploy
    example) whose WeCom, SMS-webhook and e-mail notifications reach a local receiver."""
    with Receiver.running() as rec, Alertmanager.running(
            tmp_path / "am", adapt_example((EXAMPLE_DIR / "alertmanager.yml").read_text(encoding="utf-8"), rec)) as am:
        out = run_python([sys.executable, "-m", "edge.cli", "demo", "--view", "lines", "--workdir",
                          str(tmp_path), "--alertmanager", am.url], cwd=ROOT, timeout=420)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        rec.wait_for(lambda ns: any("【已恢复】分支停电" in n.text for n in ns), 20, "the outage's resolve")
        told = " ".join(n.text for n in rec.of())
    for text in ("【重要】配变过载", "【已恢复】配变过载", "【紧急】分支停电", "演示台区 DEMO1", "电表开盖"):
        assert text in told, text
    assert [n.body["status"] for n in rec.of("/alertmanager/dispatch")] == ["firing", "resolved"]
    assert "0 not delivered" in out.stdout
    assert "The story is complete" in out.stdout
    for kind in ("overload", "outage_branch", "cover_open"):
        assert f"RAISED   {kind}" in out.stdout
    assert "CLEARED  overload" in out.stdout
    # the daemon's state and the field config it polled are where the demo said
    assert (tmp_path / "field" / "edge.toml").exists() and (tmp_path / "state" / "outbox.sqlite3").exists()
    # no log line between the story's lines: they went to demo.log and are summed up at the end
    assert not [ln for ln in (out.stdout + out.stderr).splitlines() if " WARNING " in ln or " ERROR " in ln]
    assert (tmp_path / "demo.log").exists() and f"in {tmp_path / 'demo.log'}" in out.stdout.splitlines()[-1]
    assert "the gateway's status page (meterwatch status): http://127.0.0.1:" in out.stdout
