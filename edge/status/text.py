"""The status document as the table ``meterwatch status`` prints (Chinese or English).

Times are the gateway's (``timezone`` of the document) with their age against the document's ``ts``;
ratios in percent with one decimal. With many devices only those with trouble are listed unless
``all_devices`` (a 500-meter bus would scroll the buses and alerts away).
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

__all__ = ["render"]

MAX_LISTED = 40

_ZH = {"gateway": "网关", "state": "状态", "uptime": "运行", "mqtt": "MQTT", "connected": "已连接",
       "disconnected": "未连接", "outbox": "待发", "dropped": "丢弃 摘要/告警", "engine": "引擎节拍 p50/p99/max",
       "process": "进程", "buses": "总线", "alerts": "当前告警", "devices": "设备", "none": "无",
       "bus": "总线", "port": "端口", "wire": "占用", "eff": "效率", "ok_now": "成功率", "devs": "设备", "boff": "退避",
       "reads": "读取 成功/失败", "online": "在线", "offline": "不可用", "sev": "级别", "kind": "类型", "area": "台区",
       "subject": "对象", "since": "开始", "device": "设备", "addr": "地址", "st": "状态", "last_ok": "上次成功",
       "last_err": "最近错误", "probe": "下次探测", "versions": "版本", "ok": "正常", "error": "错误",
       "backed_off": "已退避", "waiting": "等待", "port_down": "端口不可用", "running": "运行中", "starting": "启动中",
       "stopping": "停止中", "listed": "其余 {n} 台设备正常（--all 全部列出）", "ago": "前", "in": "后"}
_EN = {"gateway": "gateway", "state": "state", "uptime": "up", "mqtt": "MQTT", "connected": "connected",
       "disconnected": "disconnected", "outbox": "outbox", "dropped": "dropped summaries/alerts",
       "engine": "engine tick p50/p99/max", "process": "process", "buses": "Buses", "alerts": "Active alerts",
       "devices": "Devices", "none": "none", "bus": "bus", "port": "port", "wire": "wire", "eff": "effic.",
       "ok_now": "success", "devs": "devices", "boff": "backed off", "reads": "reads ok/failed", "online": "online",
       "offline": "unavailable", "sev": "severity", "kind": "kind", "area": "area", "subject": "subject",
       "since": "since", "device": "device", "addr": "address", "st": "state", "last_ok": "last success",
       "last_err": "last error", "probe": "next probe", "versions": "versions", "ok": "ok", "error": "error",
       "backed_off": "backed off", "waiting": "waiting", "port_down": "port down", "running": "running",
       "starting": "starting", "stopping": "stopping", "listed": "{n} more devices are fine (--all lists them)",
       "ago": "ago", "in": "in"}


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"


def _span(s: float) -> str:
    s = abs(s)
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.0f} min" if s < 5400 else f"{s / 3600:.1f} h"


class _Fmt:
    def __init__(self, doc: dict[str, Any], lang: str) -> None:
        self.w = _ZH if lang == "zh" else _EN
        self.zh = lang == "zh"
        self.now = float(doc["ts"])
        try:
            self.tz: Any = zoneinfo.ZoneInfo(doc.get("timezone") or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.tz = zoneinfo.ZoneInfo("UTC")

    def t(self, key: str) -> str:
        return self.w.get(key, key)

    def age(self, ts: float | None) -> str:
        if ts is None:
            return "–"
        d = self.now - ts
        if self.zh:
            return _span(d) + (self.t("ago") if d >= 0 else self.t("in"))
        return f"{_span(d)} ago" if d >= 0 else f"in {_span(d)}"

    def when(self, ts: float | None) -> str:
        if ts is None:
            return "–"
        return f"{datetime.fromtimestamp(ts, self.tz):%H:%M:%S} ({self.age(ts)})"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c + " " * (w - _width(c)) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def _width(s: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if "\u2e80" <= ch <= "\ufaff" or "\uff00" <= ch <= "\uffef" else 1 for ch in s)


def render(doc: dict[str, Any], *, lang: str = "en", all_devices: bool = False) -> str:
    f = _Fmt(doc, lang)
    t = f.t
    ob, eng, pr, mq = doc.get("outbox") or {}, doc.get("engine") or {}, doc.get("process") or {}, doc.get("mqtt") or {}
    mqtt = t("connected") if mq.get("connected") else f"{t('disconnected')} ({mq.get('last_error') or '…'})"
    out = [f"{t('gateway')} {doc['gateway']} ({doc['grid']})  {t('state')} {t(doc['state'])}  pid {doc['pid']}  "
           f"{t('uptime')} {_span(doc['uptime_s'])}",
           f"{t('mqtt')} {mqtt} {mq.get('url', '')}   {t('outbox')} {ob.get('depth', '–')}   "
           f"{t('dropped')} {ob.get('dropped_summaries', 0)}/{ob.get('dropped_alerts', 0)}",
           f"{t('engine')} {eng.get('tick_ms_p50', '–')}/{eng.get('tick_ms_p99', '–')}/{eng.get('tick_ms_max', '–')} ms   "
           f"{t('process')} {pr.get('rss_mb', '–')} MB, CPU {pr.get('cpu_pct', '–')} %", "", t("buses")]
    rows = [[t("bus"), t("port"), t("state"), t("wire"), t("eff"), t("ok_now"), t("devs"), t("boff"), t("reads")]]
    for b in doc["buses"]:
        rows.append([b["name"], b["port"], t("online") if b["online"] else t("offline"), _pct(b["utilisation"]),
                     _pct(b["efficiency"]), _pct(b["success"]), str(b["devices"]), str(b["backed_off"]),
                     f"{b['reads_ok']}/{b['reads_failed']}"])
    out += _table(rows)
    out += [f"    {b['name']}: {b['port_error']}" for b in doc["buses"] if not b["online"] and b.get("port_error")]
    out += ["", f"{t('alerts')} ({len(doc['alerts'])})"]
    rows = [[t("sev"), t("kind"), t("area"), t("subject"), t("since")]]
    rows += [[a["severity"], a["kind"], a["area"], a["subject"], f.when(a["since"])] for a in doc["alerts"]]
    out += _table(rows) if doc["alerts"] else [f"  {t('none')}"]
    devices = doc.get("devices", [])
    listed = devices if all_devices or len(devices) <= MAX_LISTED else [d for d in devices if d["state"] != "ok"]
    out += ["", f"{t('devices')} ({len(devices)})"]
    rows = [[t("device"), t("area"), t("bus"), t("addr"), t("st"), t("last_ok"), t("last_err"), t("probe")]]
    rows += [[d["device"], d["area"], d["bus"], d["address"], t(d["state"]), f.when(d["last_ok"]),
              f"{d['last_error']} ({f.age(d['last_error_ts'])})" if d["last_error"] else "–", f.age(d["next_probe"])]
             for d in listed]
    out += _table(rows) if listed else []
    if len(listed) < len(devices):
        out.append("  " + t("listed").format(n=len(devices) - len(listed)))
    out += ["", f"{t('versions')}: " + ", ".join(f"{k} {v}" for k, v in doc.get("versions", {}).items())]
    return "\n".join(out)
