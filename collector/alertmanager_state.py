"""The sink's book of alerts: what Alertmanager must know, and what it has accepted so far.

Inputs, in the order the broker delivers them: alert events (raised / updated / cleared), each area's
retained active list, each gateway's retained status. Every change bumps the version of one ``Entry``
(one Alertmanager label set) and is returned as ``(key, version)``; the sink acknowledges an MQTT
message only when Alertmanager has accepted every version it caused (``settled``).

Rules (docs/alerting.md):
- an active alert is posted at once and re-posted every ``resend_interval_s`` with endsAt ahead;
- a clear is posted as resolved, but never before the alert was firing in Alertmanager for
  ``min_firing_s``: an alert raised and cleared within a route's group_wait, or while Alertmanager was
  down, is still notified (firing, then resolved) rather than silently dropped;
- a severity change is a new label set (routes escalate on severity): the old one is resolved with
  the note "escalated to …", unless Alertmanager never saw it;
- a resolve Alertmanager accepted is re-posted every ``resend_interval_s`` for ``keep_resolved_s``: an
  Alertmanager restarted before it notified the resolve (it keeps no alerts over a restart, only its
  notification log) still sends the resolved notification — what Prometheus does for 15 minutes;
- an alert missing from its area's newer active list was cleared (its clear event was lost);
- the retained list rebuilds the active set after a restart; ``reconcile`` resolves what Alertmanager
  still holds for an area whose list no longer names it;
- a gateway's events and lists speak for its own alerts only: alert ids are the engine's, unique
  within a gateway, and two gateways may name one area (a replacement commissioned while the old one
  still runs, a copied configuration), so the book keys alerts and lists by gateway too.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from collector.alertmanager_model import SEVERITY_ZH, Entry, Presenter, parse_time
from wire.topics import TopicError
from wire.topics import parse as parse_topic

__all__ = ["AlertBook", "Change", "Due"]

Change = tuple[str, int]            # (entry key, version)
Due = tuple[Entry, bool, int]       # (entry, post as resolved, version the post carries)
_DONE_MAX = 100_000                 # resolved alert ids remembered, to ignore late duplicates


class AlertBook:
    def __init__(self, presenter: Presenter, *, offline_severity: str = "major") -> None:
        self.p = presenter
        self.offline_severity = offline_severity
        self.entries: dict[str, Entry] = {}
        self.current: dict[str, str] = {}           # gateway/alert_id -> key of its present label set
        self.done: OrderedDict[str, None] = OrderedDict()
        self.dirty: set[str] = set()
        self.gw_areas: dict[str, set[tuple[str, str]]] = {}
        self.list_ts: dict[tuple[str, str, str], float] = {}     # (gateway, grid, area) -> newest list
        self.status_ts: dict[str, float] = {}
        self.offline: dict[str, str] = {}           # gateway -> alert_id of its gateway_offline
        self.resolved: OrderedDict[str, tuple[Entry, float]] = OrderedDict()   # key -> (entry, first accepted)

    # -- inputs ---------------------------------------------------------------------------------------
    def event(self, p: dict[str, Any]) -> list[Change]:
        """An alert event payload (kind ``alert``)."""
        self._learn(p)
        aid, ts = _scoped(p["gateway"], p["alert_id"]), parse_time(p["ts"])
        if aid in self.done:
            return []
        cur = self._current(aid)
        if p["state"] == "cleared":
            if cur is not None and cur.cleared_at is not None:
                return []
            changes = []
            if cur is None:   # its raise never reached us: it is still told, as fired and resolved
                changes += self._open(p, ts)
                cur = self._current(aid)
                assert cur is not None
            cleared = parse_time(p["cleared_at"]) if p.get("cleared_at") else ts
            return [*changes, self._clear(cur, p, cleared)]
        if cur is not None and (cur.cleared_at is not None or ts < cur.last_ts):
            return []  # a late duplicate: events of one alert arrive in order, so it is older news
        if cur is not None and cur.labels["severity"] == p["severity"]:
            cur.annotations = self.p.annotations(p, raised_at=parse_time(p["raised_at"]), cleared_at=None)
            cur.last_ts = ts
            return [self._touch(cur)]
        return self._open(p, ts)

    def active_list(self, p: dict[str, Any]) -> list[Change]:
        """An area's retained list of active alerts (kind ``alerts_active``)."""
        self._learn(p)
        gw, area, ts = str(p["gateway"]), (str(p["grid"]), str(p["area"])), parse_time(p["ts"])
        if ts < self.list_ts.get((gw, *area), float("-inf")):
            return []
        self.list_ts[(gw, *area)] = ts
        changes: list[Change] = []
        listed = set()
        for item in p["alerts"]:
            d = {**item, "grid": area[0], "area": area[1], "gateway": gw, "ts": p["ts"]}
            aid = _scoped(gw, d["alert_id"])
            listed.add(aid)
            cur = self._current(aid)
            if aid in self.done or (cur is not None and (cur.cleared_at is not None or ts < cur.last_ts)):
                continue
            if cur is None or cur.labels["severity"] != d["severity"]:
                changes += self._open(d, ts)
        for e in list(self.entries.values()):
            if (e.area == area and e.labels.get("gateway") == gw and e.cleared_at is None
                    and e.alert_id not in listed and e.last_ts < ts and self.current.get(e.alert_id) == e.key):
                changes.append(self._clear(e, None, ts, note="不再在台区活动告警列表中"))
        return changes

    def status(self, p: dict[str, Any], now: float) -> list[Change]:
        """A gateway's retained status: offline raises one ``gateway_offline``, online clears it."""
        gw, ts = str(p["gateway"]), parse_time(p["ts"])
        if ts < self.status_ts.get(gw, float("-inf")):
            return []
        self.status_ts[gw] = ts
        cur = self._current(self.offline.get(gw))
        if p["state"] == "online":
            if cur is None or cur.cleared_at is not None:
                return []
            return [self._clear(cur, None, max(cur.starts_at, min(ts, now)), note="集中器已重新上线")]
        aid = f"gateway_offline:{p['msg_id']}"
        if (cur is not None and cur.cleared_at is None) or aid in self.done or aid in self.current:
            return []
        return [self._offline(gw, aid, now)]

    def message_gap(self, p: dict[str, Any], now: float, prefix: str) -> list[Change]:
        """A collector found messages of a gateway missing (``meterwatch.collector_alert/1``): an event,
        told once — fired, and resolved once it fired ``min_firing_s`` (like an alert raised and cleared
        at once). Every collector of a shared group may report the same gap: one id per gap."""
        gw, topic = str(p["gateway"]), str(p["topic"])
        aid = f"message_gap:{gw}:{topic}:{p['first_missing']}"
        if aid in self.done or aid in self.current:
            return []
        at = min(parse_time(p["ts"]), now)
        since = self.p.local(at)
        n, first, last = int(p["missing"]), int(p["first_missing"]), int(p["last_missing"])
        labels = {"alertname": "message_gap", "severity": str(p["severity"]), "gateway": gw, "alert_id": aid}
        try:
            t = parse_topic(prefix, topic)
        except TopicError:
            t = None
        if t is not None and t.area:
            labels |= {"grid": t.grid, "area": t.area}
        ann = {"summary": f"集中器 {gw} 的 {n} 条消息未到达采集器（{topic}，序号 {first}–{last}），{since}；"
                          "请检查 MQTT 服务器的队列上限与会话保留（docs/collector.md）",
               "summary_en": f"{n} message(s) of gateway {gw} never reached the collectors ({topic}, "
                             f"topic_seq {first}..{last}); check the broker's queue limits and session expiry",
               "kind_zh": "消息丢失", "subject": f"集中器 {gw}", "since": since, "value": f"{n} 条",
               "severity_zh": SEVERITY_ZH.get(str(p["severity"]), str(p["severity"])),
               "description": f"{topic} 的序号 {first}–{last} 未到达采集器（MQTT 服务器丢弃了它们）；"
                              "请检查其队列上限与会话保留（docs/collector.md）",
               "area_name": self.p.area_name(t.grid, t.area) if t is not None and t.area else "所辖台区"}
        e = Entry(key=f"{aid}|{p['severity']}", alert_id=aid, labels=labels, annotations=ann, starts_at=at,
                  last_ts=at)
        self.entries[e.key] = e
        self.current[aid] = e.key
        opened = self._touch(e)
        return [opened, self._clear(e, None, at, note="一次性事件：缺失的消息不会再到达")]

    def reconcile(self, held: Iterable[dict[str, Any]], now: float, min_firing_s: float) -> list[Change]:
        """Alertmanager's active meterwatch alerts (GET /api/v2/alerts) after a restart: adopt the
        labels of a gateway_offline it already holds; resolve what an area's list no longer names."""
        mine = {_fp(e.labels) for e in self.entries.values()}
        changes: list[Change] = []
        for a in held:
            labels = {str(k): str(v) for k, v in (a.get("labels") or {}).items()}
            aid = labels.get("alert_id")
            if not aid or _fp(labels) in mine:
                continue
            offline = labels.get("alertname") == "gateway_offline"
            aid = aid if offline else _scoped(labels.get("gateway", ""), aid)
            cur = self._current(aid)
            if offline:
                if cur is not None and cur.cleared_at is None and cur.fired_at is None:
                    cur.labels = labels  # same alert, area unknown after our restart: keep its fingerprint
                    changes.append(self._touch(cur))
                    continue
                if labels.get("gateway") not in self.status_ts:
                    continue
            elif (labels.get("gateway", ""), labels.get("grid", ""), labels.get("area", "")) not in self.list_ts:
                continue  # no list from that area yet: it may still come
            e = Entry(key=f"stale:{_fp(labels)}", alert_id=aid, labels=labels,
                      annotations={str(k): str(v) for k, v in (a.get("annotations") or {}).items()},
                      starts_at=parse_time(a["startsAt"]), last_ts=now, cleared_at=now,
                      fired_at=now - min_firing_s, generator_url=str(a.get("generatorURL") or ""))
            e.annotations["cleared"] = f"{self.p.local(now)}，核对时台区已无此告警"
            self.entries[e.key] = e
            changes.append(self._touch(e))
        return changes

    # -- output ---------------------------------------------------------------------------------------
    def due(self, now: float, *, resend_s: float, min_firing_s: float, everything: bool = False,
            keep_resolved_s: float = 900.0) -> list[Due]:
        """What to post now: new versions, active alerts due for a re-post (all when ``everything``),
        resolves whose hold is over, accepted resolves due for a re-post within ``keep_resolved_s``."""
        keys: Iterable[str] = list(self.entries) if everything else list(self.dirty)
        if not everything:
            keys = [*keys, *(k for k, e in self.entries.items()
                             if e.cleared_at is None and k not in self.dirty and now - e.posted_at >= resend_s)]
        out: list[Due] = []
        for k in keys:
            e = self.entries[k]
            if e.cleared_at is None:
                out.append((e, False, e.version))
            elif e.fired_at is None:
                out.append((e, False, e.posted_version))   # Alertmanager never saw it fire: fire it first
            elif e.posted_version < e.version and now - e.fired_at >= min_firing_s:
                out.append((e, True, e.version))
            elif everything and e.posted_version < e.version:
                out.append((e, False, e.posted_version))   # keep it open in a restarted Alertmanager
        while self.resolved and now - next(iter(self.resolved.values()))[1] >= keep_resolved_s:
            self.resolved.popitem(last=False)
        out += [(e, True, e.version) for e, _since in self.resolved.values()
                if everything or now - e.posted_at >= resend_s]
        return out

    def posted(self, batch: Iterable[Due], now: float) -> None:
        """Alertmanager accepted ``batch``."""
        for e, resolved, version in batch:
            e.posted_at = now
            if resolved and self.resolved.get(e.key, (None, 0.0))[0] is e:
                continue   # a re-post of an accepted resolve
            if not resolved and e.fired_at is None:
                e.fired_at = now
            e.posted_version = max(e.posted_version, version)
            if e.posted_version >= e.version and e.cleared_at is None:
                self.dirty.discard(e.key)
            if resolved and e.posted_version >= e.version:
                self._forget(e)
                self.resolved[e.key] = (e, now)
                if len(self.resolved) > _DONE_MAX:
                    self.resolved.popitem(last=False)

    def refire(self, since: float) -> int:
        """Alertmanager went away: the alerts that fired at or after ``since`` (wall clock) may never have
        been notified (their group not flushed yet). Post them as firing again before any resolve, and
        bring back those already resolved, to fire for ``min_firing_s`` and resolve again. Returns how
        many. (At worst one notification twice; never an incident lost.)"""
        n = 0
        for key, (e, _since) in list(self.resolved.items()):
            if e.fired_at is not None and e.fired_at >= since:
                del self.resolved[key]
                self.done.pop(e.alert_id, None)
                self.entries[key], self.current[e.alert_id] = e, key
                e.posted_version = min(e.posted_version, e.version - 1)
        for e in self.entries.values():
            if e.fired_at is not None and e.fired_at >= since:
                e.fired_at = None
                self.dirty.add(e.key)
                n += 1
        return n

    def settled(self, change: Change) -> bool:
        e = self.entries.get(change[0])
        return e is None or e.posted_version >= change[1]

    def pending(self) -> int:
        """Entries with a change Alertmanager has not accepted yet."""
        return len(self.dirty)

    def active(self) -> int:
        return sum(1 for e in self.entries.values() if e.cleared_at is None)

    # -- internals ------------------------------------------------------------------------------------
    def _learn(self, p: dict[str, Any]) -> None:
        self.gw_areas.setdefault(str(p["gateway"]), set()).add((str(p["grid"]), str(p["area"])))

    def _current(self, aid: str | None) -> Entry | None:
        key = self.current.get(aid) if aid else None
        return self.entries.get(key) if key else None

    def _touch(self, e: Entry) -> Change:
        self.dirty.add(e.key)
        return e.key, e.touch()

    def _open(self, p: dict[str, Any], ts: float) -> list[Change]:
        """A new label set for ``p``'s alert: the first, or after a severity change (the old one is
        resolved as escalated, or dropped if Alertmanager never saw it)."""
        aid, sev = _scoped(p["gateway"], p["alert_id"]), str(p["severity"])
        changes: list[Change] = []
        old = self._current(aid)
        starts = parse_time(p["raised_at"])
        if old is not None:
            starts = ts
            if old.fired_at is None:
                self._drop(old)
            elif old.cleared_at is None:
                note = f"{'升级' if _rank(sev) > _rank(old.labels['severity']) else '降级'}为【{SEVERITY_ZH.get(sev, sev)}】"
                changes.append(self._clear(old, None, ts, note=note))
        key = f"{aid}|{sev}"
        ann = self.p.annotations(p, raised_at=parse_time(p["raised_at"]), cleared_at=None)
        e = Entry(key=key, alert_id=aid, labels=self.p.labels(p, gateway=str(p["gateway"])), annotations=ann,
                  starts_at=starts, last_ts=ts, area=(str(p["grid"]), str(p["area"])),
                  generator_url=ann.get("dashboard", ""))
        prev = self.entries.get(key)
        if prev is not None:   # back to a severity it had: same fingerprint, continue that entry
            e.version, e.posted_version, e.fired_at, e.posted_at = (prev.version, prev.posted_version,
                                                                   prev.fired_at, prev.posted_at)
        self.entries[key] = e
        self.current[aid] = key
        return [*changes, self._touch(e)]

    def _clear(self, e: Entry, p: dict[str, Any] | None, ts: float, note: str = "") -> Change:
        e.cleared_at = max(ts, e.starts_at)
        e.last_ts = max(e.last_ts, ts)
        if p is not None:
            e.annotations = self.p.annotations(p, raised_at=parse_time(p["raised_at"]), cleared_at=e.cleared_at)
        else:
            e.annotations = {**e.annotations, "cleared": self.p.local(e.cleared_at) + (f"，{note}" if note else "")}
        return self._touch(e)

    def _offline(self, gw: str, aid: str, now: float) -> Change:
        areas = self.gw_areas.get(gw, set())
        grids = {g for g, _ in areas}
        labels = {"alertname": "gateway_offline", "severity": self.offline_severity, "gateway": gw, "alert_id": aid}
        if len(grids) == 1:
            labels["grid"] = next(iter(grids))
        if len(areas) == 1:
            labels["area"] = next(iter(areas))[1]
        names = "、".join(sorted(self.p.area_name(g, a) for g, a in areas)) or "所辖台区"
        since = self.p.local(now)
        ann = {"summary": f"集中器 {gw} 离线（{names}），{since} 起；其台区数据与告警暂停更新",
               "summary_en": f"gateway {gw} offline since {since}: its areas report nothing until it is back",
               "area_name": names, "kind_zh": "集中器离线", "subject": f"集中器 {gw}", "since": since,
               "severity_zh": SEVERITY_ZH.get(self.offline_severity, self.offline_severity),
               "description": "the broker published the gateway's offline status (will or orderly stop)"}
        if len(areas) == 1:
            g, a = next(iter(areas))
            ann["dashboard"] = self.p.dashboard(g, a, now)
        e = Entry(key=f"{aid}|{self.offline_severity}", alert_id=aid, labels=labels, annotations=ann,
                  starts_at=now, last_ts=now, generator_url=ann.get("dashboard", ""))
        self.entries[e.key] = e
        self.current[aid] = e.key
        self.offline[gw] = aid
        return self._touch(e)

    def _drop(self, e: Entry) -> None:
        self.entries.pop(e.key, None)
        self.dirty.discard(e.key)

    def _forget(self, e: Entry) -> None:
        """A resolve was accepted: the entry is done; its alert too if this was its present label set."""
        self._drop(e)
        if self.current.get(e.alert_id) == e.key:
            del self.current[e.alert_id]
            self.done[e.alert_id] = None
            if len(self.done) > _DONE_MAX:
                self.done.popitem(last=False)
            gw = e.labels.get("gateway", "")
            if self.offline.get(gw) == e.alert_id:
                del self.offline[gw]


def _scoped(gateway: object, alert_id: object) -> str:
    """The book's key of an engine alert: its id within its gateway (gateway ids hold no '/')."""
    return f"{gateway}/{alert_id}"


def _fp(labels: dict[str, str]) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":"))


def _rank(severity: str) -> int:
    return list(SEVERITY_ZH).index(severity) if severity in SEVERITY_ZH else -1
