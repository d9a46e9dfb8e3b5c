"""deploy/alertmanager: the example configuration and the notification template, checked by the real
``amtool`` of Debian's prometheus-alertmanager (check-config, the routing tree, template rendering
with the annotations the collector's sink really produces)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from collector.alertmanager_model import KIND_ZH, Entry, Presenter, parse_time
from detect.stages import theft as _theft
from tests.support.procs import require_binary

DIR = Path(__file__).resolve().parents[2] / "deploy" / "alertmanager"
CONFIG = DIR / "alertmanager.yml"

pytestmark = pytest.mark.integration


def amtool(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_binary("amtool", "/usr/bin/amtool"), *args], capture_output=True, text=True,
                          timeout=30, check=check)


def test_the_example_passes_amtool_check_config_and_a_broken_copy_does_not(tmp_path):
    out = amtool("check-config", str(CONFIG)).stdout
    assert "SUCCESS" in out and "4 inhibit rules" in out and "5 receivers" in out and "1 templates" in out
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(CONFIG.read_text(encoding="utf-8").replace("receiver: dispatch-sms", "receiver: nobody"))
    (tmp_path / "meterwatch.tmpl").write_text((DIR / "meterwatch.tmpl").read_text(encoding="utf-8"))
    bad = amtool("check-config", str(broken), check=False)
    assert bad.returncode != 0 and "nobody" in bad.stdout + bad.stderr


@pytest.mark.parametrize(("labels", "receivers"), [
    ("alertname=outage_branch severity=critical grid=jinli-1 area=A01", "dispatch-sms,line-wecom-jinli-1"),
    ("alertname=overload severity=critical grid=other area=B7", "dispatch-sms,line-wecom"),
    ("alertname=overload severity=major grid=jinli-1 area=A01", "line-wecom-jinli-1"),
    ("alertname=cover_open severity=warning grid=jinli-1 area=A01", "theft-loss-email"),
    ("alertname=gateway_offline severity=major grid=other gateway=gw-7", "line-wecom"),
    ("alertname=message_gap severity=warning grid=jinli-1 area=A01 gateway=gw-7", "platform-email"),
])
def test_routes_send_each_kind_to_its_team(labels, receivers):
    out = amtool("config", "routes", "test", f"--config.file={CONFIG}", *labels.split()).stdout
    assert out.strip() == receivers


def test_every_kind_the_template_and_routes_name_is_a_real_kind():
    text = CONFIG.read_text(encoding="utf-8")
    theft_route = re.search(r'alertname=~"([a-z_|]+)"\n\s+group_by: \[grid, area\]\n\s+group_interval: 30m', text)
    assert theft_route is not None
    routed = set(theft_route.group(1).split("|"))
    assert routed <= set(KIND_ZH)
    assert set(_theft.UNITS) <= routed                      # every theft check reaches the theft team
    for kinds in re.findall(r'alertname=~?"([a-z_|]+)"', text):
        assert set(kinds.split("|")) <= set(KIND_ZH), kinds


def _data(tmp_path: Path, entries: list[tuple[Entry, bool]], now: float) -> Path:
    alerts = []
    for e, resolved in entries:
        doc = e.postable(now, 300.0, resolved=resolved)
        alerts.append({"status": "resolved" if resolved else "firing", "labels": doc["labels"],
                       "annotations": doc["annotations"], "startsAt": doc["startsAt"], "endsAt": doc["endsAt"],
                       "generatorURL": doc.get("generatorURL", "")})
    common = {k: v for k, v in alerts[0]["labels"].items() if all(a["labels"].get(k) == v for a in alerts)}
    common_ann = {k: v for k, v in alerts[0]["annotations"].items()
                  if all(a["annotations"].get(k) == v for a in alerts)}
    data = {"receiver": "line-wecom", "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
            "alerts": alerts, "groupLabels": {"area": common.get("area", "")}, "commonLabels": common,
            "commonAnnotations": common_ann, "externalURL": "http://alertmanager.example:9093"}
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _render(data: Path, name: str = "meterwatch.message.zh") -> str:
    return amtool("template", "render", f"--template.glob={DIR / 'meterwatch.tmpl'}",
                  f"--template.text={{{{ template \"{name}\" . }}}}", f"--template.data={data}").stdout


def _entry(p: Presenter, kind: str, stype: str, sid: str, severity: str, value: float | None, unit: str,
           raised: float, cleared: float | None = None) -> Entry:
    payload = {"grid": "jinli-1", "area": "A01", "gateway": "gw-1", "alert_id": f"A01:{kind}:{sid}", "kind": kind,
               "severity": severity, "subject": {"type": stype, "id": sid}, "value": value, "threshold": 95.0,
               "unit": unit, "message": f"{kind} on {sid}", "evidence": {}}
    return Entry(key=kind + sid, alert_id=payload["alert_id"], labels=p.labels(payload, gateway="gw-1"),
                 annotations=p.annotations(payload, raised_at=raised, cleared_at=cleared), starts_at=raised,
                 last_ts=raised, cleared_at=cleared, generator_url=p.dashboard("jinli-1", "A01", raised))


def test_the_template_renders_a_readable_chinese_message_from_the_sinks_annotations(tmp_path):
    p = Presenter(area_names={("jinli-1", "A01"): "锦里1号台区"}, tz="Asia/Shanghai",
                  grafana_url="https://grafana.example")
    t0 = parse_time("2026-07-15T09:16:00Z")
    firing = _entry(p, "overload", "transformer", "T1", "major", 108.0, "%", t0)
    resolved = _entry(p, "overload", "transformer", "T2", "major", 82.0, "%", t0, cleared=t0 + 1440)
    text = _render(_data(tmp_path, [(firing, False), (resolved, True)], t0 + 1500))
    assert text.splitlines()[0] == "【告警 1 条】锦里1号台区 配变过载"
    block = ("【重要】配变过载\n台区：锦里1号台区（jinli-1/A01）\n对象：变压器 T1\n数值：108 %（阈值 95 %）\n"
             "开始：2026-07-15 17:16 (UTC+08:00)\n说明：overload on T1\n"
             "查看：https://grafana.example/d/meterwatch-area-overview/?var-grid=jinli-1&var-area=A01")
    assert block in text
    assert "【已恢复】配变过载\n台区：锦里1号台区（jinli-1/A01）\n对象：变压器 T2\n数值：82 %（阈值 95 %）\n" \
           "开始：2026-07-15 17:16 (UTC+08:00)\n恢复：2026-07-15 17:40 (UTC+08:00)\n" in text
    subject = _render(_data(tmp_path, [(firing, False)], t0 + 60), "meterwatch.email.subject")
    assert subject == "[meterwatch] 【告警 1 条】锦里1号台区 配变过载"


def test_a_large_group_lists_five_alerts_and_says_how_many_there_are(tmp_path):
    p = Presenter(area_names={}, tz="Asia/Shanghai", grafana_url="")
    t0 = parse_time("2026-07-15T09:16:00Z")
    many = [(_entry(p, "meter_offline", "meter", f"M{i:04d}", "warning", None, "", t0), False) for i in range(12)]
    text = _render(_data(tmp_path, many, t0 + 60))
    assert text.splitlines()[0] == "【告警 12 条】台区 A01 电表通信中断"
    assert text.count("【一般】电表通信中断") == 5
    assert "……共 12 条告警，仅列前 5 条，其余见告警平台" in text
    assert len(text.encode()) < 2048          # a WeCom text message holds at most 2048 bytes
