"""End to end: simulator export → replay (the code of ``meterwatch replay``) → JSON lines that validate against
the payload schemas and carry the expected line loss and alerts."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest

from edge.areafile import load_area_file
from edge.replayer import replay
from edge.sim.config import parse_sim_config
from edge.sim.export import export
from wire.schemas import validate

SIM = """
[sim]
seed = 7
start = "2026-07-01T00:00:00Z"
[area]
id = "E2E"
customers = 24
rated_kva = 100
branches = 2
[[scenario]]
kind = "cover_open_drop"
subject = "M0004"
start_h = 20
end_h = 60
[[scenario]]
kind = "neutral_return"
subject = "M0005"
start_h = 30
end_h = 72
[[scenario]]
kind = "misregistered"
subject = "M0011"
start_h = 0
end_h = 72
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("e2e")
    export(parse_sim_config(SIM), d, 3)
    return d


def test_export_replays_into_schema_valid_messages_with_the_expected_alerts(exported: Path) -> None:
    area, prm = load_area_file(exported / "area.toml")
    prm = dataclasses.replace(prm, utc_offset_s=0)          # the simulator's days are UTC
    out = io.StringIO()
    res = replay(area, prm, exported / "readings.csv", out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == sum(res.messages.values()) > 0
    seqs: dict[str, list[int | None]] = {}
    for i, msg in enumerate(lines, start=1):
        assert set(msg) == {"topic", "payload"}
        validate(msg["payload"])
        assert msg["payload"]["msg_id"] == f"replay:{i}"
        assert msg["topic"].startswith("meterwatch/v2/replay/sim/E2E/")
        seqs.setdefault(msg["topic"], []).append(msg["payload"].get("topic_seq"))
    for topic, got in seqs.items():     # numbered per topic as the outbox does; none on the retained list
        assert got == ([None] * len(got) if topic.endswith("/alerts/active") else list(range(1, len(got) + 1)))
    raised = {(m["payload"]["kind"], m["payload"]["subject"]["id"]) for m in lines
              if m["payload"]["schema"] == "meterwatch.alert/2" and m["payload"]["state"] == "raised"}
    assert ("cover_open", "M0004") in raised
    assert ("neutral_mismatch", "M0005") in raised
    assert ("mapping_suspect", "M0011") in raised
    # the foreign customer's energy is in sales but not in this master: day 1 is negative
    assert ("line_loss_negative", "E2E") in raised
    # both thefts take from phase A (the per-phase balance of issue 19 says so from their first day)
    assert ("ntl_phase", "A") in raised
    # nothing else on meters: no false physical alerts in this area
    assert {s for k, s in raised if k not in ("mapping_suspect", "high_voltage", "low_voltage")} == {
        "M0004", "M0005", "E2E", "A"}
    daily = [m["payload"] for m in lines if m["payload"]["schema"] == "meterwatch.daily/2"]
    assert [d["status"] for d in daily] == ["computed", "computed"]
    balance = [row.split(",") for row in (exported / "balance.csv").read_text().splitlines()[1:]]
    day1 = [r for r in balance if 1782864000 <= int(r[0]) < 1782864000 + 86400]
    truth_loss = sum(float(r[2]) - float(r[7]) for r in day1)    # supply − reported sales
    # the engine's day-1 loss against the truth balance, within 0.1 percentage points of its supply
    assert abs(daily[0]["loss_kwh"] - truth_loss) / daily[0]["supply_kwh"] * 100 < 0.1
    assert res.raised["cover_open"] == 1 and res.stats.rejected == 0
