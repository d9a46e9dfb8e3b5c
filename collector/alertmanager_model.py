"""From a meterwatch alert payload to what Alertmanager keeps: labels, annotations and times.

Labels identify and route an alert (they form Alertmanager's fingerprint, so they never change during
an alert's life): ``alertname`` (the kind), ``severity``, ``grid``, ``area``, ``gateway``,
``alert_id`` (one episode) and the subject as ``meter`` / ``branch`` / ``transformer`` / ``phase``.
Annotations are what people read, already in the areas' local time and in Chinese (English one-liner
in ``summary_en``); the notification template (deploy/alertmanager/meterwatch.tmpl) only arranges them.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from collector.alertmanager_config import AreaNames

__all__ = ["KIND_ZH", "SEVERITY_ZH", "Entry", "Presenter", "parse_time", "rfc3339"]

KIND_ZH: dict[str, str] = {
    "overload": "配变过载", "heavy_load": "配变重载", "overload_2h": "配变持续过载（2 小时）",
    "hotspot": "配变热点温度超限", "imbalance": "三相负荷不平衡", "neutral_current": "中性线电流过大",
    "low_voltage": "低电压", "high_voltage": "过电压", "phase_loss": "缺相", "outage_phase": "单相停电",
    "outage_area": "台区停电", "outage_branch": "分支停电", "meter_offline": "电表通信中断",
    "master_offline": "台区总表/终端通信中断", "collection_rate_low": "采集成功率偏低",
    "line_loss_high": "线损率偏高", "line_loss_negative": "负线损", "ntl_rise": "非技术线损上升",
    "ntl_phase": "单相非技术线损偏高", "ntl_level": "台区非技术线损持续偏高",
    "ntl_swing": "线损异常波动", "mapping_suspect": "户变关系疑似错误", "theft_suspect": "疑似窃电",
    "cover_open": "电表开盖", "terminal_cover_open": "端子盖开启", "relay_bypass": "拉闸后仍有电流（疑似短接）",
    "neutral_mismatch": "零火线电流不一致", "voltage_loss": "失压", "current_loss": "失流",
    "reverse_energy": "反向电量", "zero_energy_with_current": "有电流无电量",
    "energy_power_mismatch": "电量与功率不符", "gateway_offline": "集中器离线",
    # raised beside the engine: by the daemon (edge/daemon/port_alerts.py), by the plausibility checks
    # before detection (edge/plausibility/alerts.py)
    "port_unavailable": "抄表端口不可用", "implausible_reading": "读数不合理",
    # raised by the collectors: a gateway's messages that never arrived (collector/gaps.py)
    "message_gap": "消息丢失",
}
SEVERITY_ZH = {"info": "提示", "warning": "一般", "major": "重要", "critical": "紧急"}
SUBJECT_ZH = {"transformer": "变压器", "meter": "电表", "branch": "分支", "phase": "相", "gateway": "集中器"}
SUBJECT_LABEL = {"meter": "meter", "branch": "branch", "transformer": "transformer", "phase": "phase"}
UNIT_ZH = {"events": "次", "devices": "台", "readings": "次"}


def parse_time(s: str) -> float:
    """RFC 3339 UTC (``2026-07-15T09:16:00Z``) to epoch seconds."""
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _num(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _with_unit(v: Any, unit: str, table: dict[str, str] | None = None) -> str:
    if v is None:
        return ""
    u = (table or {}).get(unit, unit)
    return f"{_num(v)} {u}" if u else _num(v)


@dataclass
class Entry:
    """One alert as Alertmanager knows it (one label set) and what was posted of it."""

    key: str                      # alert_id|severity: one fingerprint
    alert_id: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: float              # epoch s
    last_ts: float                # event time of the newest event applied (older ones are ignored)
    cleared_at: float | None = None
    generator_url: str = ""
    area: tuple[str, str] | None = None   # (grid, area) whose retained active list covers it
    version: int = 1              # bumped by every change ...
    posted_version: int = 0       # ... and what Alertmanager has accepted
    fired_at: float | None = None  # wall clock of the first accepted firing post
    posted_at: float = 0.0        # wall clock of the last accepted post

    def touch(self) -> int:
        self.version += 1
        return self.version

    def postable(self, now: float, expire_after_s: float, *, resolved: bool) -> dict[str, Any]:
        """The Alertmanager v2 ``PostableAlert``. Times are clamped to the collector's clock: a gateway
        clock ahead must not leave an alert open in Alertmanager after its clear."""
        starts = min(self.starts_at, now)
        if resolved:
            ends = max(starts, min(self.cleared_at if self.cleared_at is not None else now, now))
        else:
            ends = now + expire_after_s
        doc: dict[str, Any] = {"labels": self.labels, "annotations": self.annotations,
                               "startsAt": rfc3339(starts), "endsAt": rfc3339(ends)}
        if self.generator_url:
            doc["generatorURL"] = self.generator_url
        return doc


class Presenter:
    """Labels, annotations and links for alert payloads, in the areas' language and time zone."""

    def __init__(self, *, area_names: AreaNames, tz: str, grafana_url: str) -> None:
        self.area_names = area_names
        self.tz = ZoneInfo(tz)
        self.grafana_url = grafana_url.rstrip("/")
        self._dashboards: dict[tuple[str, str], str] = {}

    def local(self, ts: float) -> str:
        dt = datetime.fromtimestamp(ts, tz=self.tz)
        off = dt.strftime("%z")
        return f"{dt:%Y-%m-%d %H:%M} (UTC{off[:3]}:{off[3:]})"

    def area_name(self, grid: str, area: str) -> str:
        return self.area_names.get((grid, area), f"台区 {area}")

    def dashboard(self, grid: str, area: str, since: float) -> str:
        """The area's Grafana dashboard from an hour before ``since`` to now ("" without grafana_url)."""
        if not self.grafana_url or not grid or not area:
            return ""
        base = self._dashboards.get((grid, area))
        if base is None:
            q = urllib.parse.urlencode({"var-grid": grid, "var-area": area})
            base = self._dashboards[(grid, area)] = f"{self.grafana_url}/d/meterwatch-area-overview/?{q}"
        return f"{base}&from={int((since - 3600) * 1000)}&to=now"

    def labels(self, p: dict[str, Any], *, gateway: str) -> dict[str, str]:
        subject = p.get("subject") or {}
        labels = {"alertname": str(p["kind"]), "severity": str(p["severity"]), "grid": str(p.get("grid", "")),
                  "area": str(p.get("area", "")), "gateway": gateway, "alert_id": str(p["alert_id"])}
        name = SUBJECT_LABEL.get(str(subject.get("type")))
        if name and subject.get("id"):
            labels[name] = str(subject["id"])
        if subject.get("type") == "meter":        # where the meter is: a branch or phase outage inhibits it
            labels["branch"], labels["phase"] = str(subject.get("branch") or ""), str(subject.get("phase") or "")
        return {k: v for k, v in labels.items() if v}

    def subject(self, stype: str, sid: str) -> str:
        if stype == "area":
            return "全台区"
        if stype == "phase":
            return f"{sid} 相"
        return f"{SUBJECT_ZH.get(stype, stype)} {sid}".strip()

    def annotations(self, p: dict[str, Any], *, raised_at: float, cleared_at: float | None,
                    cleared_note: str = "") -> dict[str, str]:
        """Everything a notification shows, for an alert payload (event or active-list item)."""
        grid, area, kind = str(p.get("grid", "")), str(p.get("area", "")), str(p["kind"])
        subject = p.get("subject") or {}
        stype, sid = str(subject.get("type", "")), str(subject.get("id", ""))
        unit = str(p.get("unit") or "")
        value, threshold = p.get("value"), p.get("threshold")
        kind_zh, sev = KIND_ZH.get(kind, kind), str(p["severity"])
        name = self.area_name(grid, area)
        since = self.local(raised_at)
        zh = f"{name} {kind_zh}：{self.subject(stype, sid)}"
        en = f"{kind} @ {stype} {sid} in {grid}/{area}"
        if value is not None:
            zh += f" {_with_unit(value, unit, UNIT_ZH)}"
            en += f": {_with_unit(value, unit)}"
            if threshold is not None:
                zh += f"（阈值 {_with_unit(threshold, unit, UNIT_ZH)}）"
                en += f" (threshold {_with_unit(threshold, unit)})"
        zh += f"，{since} 起"
        en += f", since {since}"
        out = {"summary": zh, "summary_en": en, "area_name": name, "kind_zh": kind_zh,
               "severity_zh": SEVERITY_ZH.get(sev, sev), "subject": self.subject(stype, sid),
               "value": _with_unit(value, unit, UNIT_ZH), "threshold": _with_unit(threshold, unit, UNIT_ZH),
               "since": since, "description": str(p.get("message") or ""),
               "evidence": json.dumps(p.get("evidence") or {}, ensure_ascii=False, separators=(",", ":")),
               "dashboard": self.dashboard(grid, area, raised_at)}
        if cleared_at is not None:
            cleared = self.local(cleared_at) + (f"，{cleared_note}" if cleared_note else "")
            out["cleared"] = cleared
            out["summary"] = f"{zh}，{self.local(cleared_at)} 恢复"
            out["summary_en"] = f"{en}, cleared {self.local(cleared_at)}"
        return {k: v for k, v in out.items() if v}
