"""The sink's lifecycle rules and mapping (no services): payloads built by the edge's own serializer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from collector.alertmanager import decode, feed_topics
from collector.alertmanager_model import Presenter, parse_time
from collector.alertmanager_state import AlertBook
from collector.decode import Rejected
from collector.testing import AreaSpec, area_stream
from detect.alarms import Alert
from tests.support.alertmanager import AreaFeed, make_alert

T0 = parse_time("2026-07-15T09:16:00Z")     # 17:16 in Shanghai
NOW = T0 + 30.0
P = "meterwatch/v2"
FEED = AreaFeed()
SER = FEED.ser


def alert(state: str = "raised", *, raised: float = T0, **kw: Any) -> Alert:
    a: Alert = make_alert(state, raised=raised, **kw)
    return a


def ev(a: Alert) -> dict[str, Any]:
    return SER.alert(a)


def book(**kw: Any) -> AlertBook:
    return AlertBook(Presenter(area_names={("jinli-1", "A01"): "锦里1号台区"}, tz="Asia/Shanghai",
                               grafana_url="https://grafana.example"), **kw)


def post_all(b: AlertBook, now: float, min_firing_s: float = 40.0, everything: bool = False) -> list[tuple[dict, bool]]:
    due = b.due(now, resend_s=60.0, min_firing_s=min_firing_s, everything=everything)
    docs = [(e.postable(now, 300.0, resolved=r), r) for e, r, _v in due]
    b.posted(due, now)
    return docs


def test_a_raise_is_posted_with_routing_labels_and_chinese_annotations():
    b = book()
    changes = b.event(ev(alert(kind="outage_branch", stype="branch", sid="B2", severity="critical",
                               value=62.5, threshold=30.0)))
    assert len(changes) == 1 and not b.settled(changes[0])
    ((doc, resolved),) = post_all(b, NOW)
    assert not resolved and b.settled(changes[0])
    assert doc["labels"] == {"alertname": "outage_branch", "severity": "critical", "grid": "jinli-1", "area": "A01",
                             "gateway": "gw-1", "alert_id": "A01:outage_branch:branch:B2:" + str(int(T0)),
                             "branch": "B2"}
    a = doc["annotations"]
    assert a["summary"] == "锦里1号台区 分支停电：分支 B2 62.5 %（阈值 30 %），2026-07-15 17:16 (UTC+08:00) 起"
    assert a["summary_en"].startswith("outage_branch @ branch B2 in jinli-1/A01: 62.5 % (threshold 30 %)")
    assert (a["severity_zh"], a["area_name"], a["subject"]) == ("紧急", "锦里1号台区", "分支 B2")
    assert doc["startsAt"] == "2026-07-15T09:16:00.000000Z"
    assert parse_time(doc["endsAt"]) == pytest.approx(NOW + 300.0)
    assert doc["generatorURL"].startswith("https://grafana.example/d/meterwatch-area-overview/?var-grid=jinli-1"
                                          "&var-area=A01&from=")
    assert a["evidence"] == '{"value":62.5}'
    assert post_all(b, NOW + 1) == []                 # nothing new, no re-post yet
    assert [r for _d, r in post_all(b, NOW + 61)] == [False]   # re-posted while active


def test_a_clear_waits_until_the_alert_fired_min_firing_s_then_resolves_at_the_clear_time():
    b = book()
    b.event(ev(alert()))
    post_all(b, NOW)
    (change,) = b.event(ev(alert("cleared", value=82.0, ts=T0 + 20)))
    assert post_all(b, NOW + 10) == [] and not b.settled(change) and b.pending() == 1
    ((doc, resolved),) = post_all(b, NOW + 40)
    assert resolved and doc["endsAt"] == "2026-07-15T09:16:20.000000Z"
    assert doc["annotations"]["cleared"] == "2026-07-15 17:16 (UTC+08:00)"
    assert doc["annotations"]["value"] == "82 %"
    assert b.settled(change) and b.pending() == 0 and b.active() == 0
    assert b.event(ev(alert("cleared", ts=T0 + 20))) == []   # a redelivered clear changes nothing
    assert b.event(ev(alert())) == []                        # nor a late duplicate of the raise


def test_an_alert_whose_raise_never_reached_alertmanager_is_fired_before_it_is_resolved():
    b = book()
    changes = b.event(ev(alert("cleared", ts=T0 + 5)))       # its raise was lost (e.g. session expired)
    ((doc, resolved),) = post_all(b, NOW)
    assert not resolved and parse_time(doc["endsAt"]) > NOW   # firing: routes get to tell someone
    assert not all(b.settled(c) for c in changes)
    ((doc, resolved),) = post_all(b, NOW + 40)
    assert resolved and doc["endsAt"] == "2026-07-15T09:16:05.000000Z"
    assert all(b.settled(c) for c in changes)


def test_escalation_resolves_the_old_severity_and_fires_the_new_one():
    b = book()
    b.event(ev(alert()))
    post_all(b, NOW)
    b.event(ev(alert("updated", severity="critical", value=125.0, ts=T0 + 5)))
    posted = post_all(b, NOW + 10)   # the major one fired only 10 s ago: its resolve waits
    assert [(d["labels"]["severity"], r) for d, r in posted] == [("critical", False)]
    assert posted[0][0]["startsAt"] == "2026-07-15T09:16:05.000000Z"
    old = post_all(b, NOW + 40)
    assert [(d["labels"]["severity"], r) for d, r in old] == [("major", True)]
    assert old[0][0]["annotations"]["cleared"] == "2026-07-15 17:16 (UTC+08:00)，升级为【紧急】"
    assert b.active() == 1


def test_a_severity_change_before_anything_was_posted_just_replaces_the_label_set():
    b = book()
    b.event(ev(alert()))
    b.event(ev(alert("updated", severity="critical", ts=T0 + 60)))
    assert [d["labels"]["severity"] for d, _r in post_all(b, NOW)] == ["critical"]


def test_the_retained_active_list_rebuilds_alerts_and_clears_the_ones_it_no_longer_names():
    b = book()
    overload, cover = alert(), alert(kind="cover_open", stype="meter", sid="M0007", severity="warning",
                                     value=1.0, threshold=None, unit="events")
    b.active_list(SER.alerts_active([overload, cover], T0 + 1))
    docs = post_all(b, NOW)
    assert sorted(d["labels"]["alertname"] for d, _r in docs) == ["cover_open", "overload"]
    cover_doc = next(d for d, _r in docs if d["labels"]["alertname"] == "cover_open")
    assert cover_doc["labels"]["meter"] == "M0007" and cover_doc["annotations"]["value"] == "1 次"
    assert b.active_list(SER.alerts_active([cover], T0 - 100)) == []     # older than what we know
    (change,) = b.active_list(SER.alerts_active([cover], T0 + 50))        # the overload's clear was lost
    ((doc, resolved),) = post_all(b, NOW + 40)
    assert resolved and doc["labels"]["alertname"] == "overload" and b.settled(change)
    assert doc["endsAt"] == "2026-07-15T09:16:50.000000Z"
    assert "不再在台区活动告警列表中" in doc["annotations"]["cleared"]


def test_gateway_offline_raises_one_alert_with_the_learned_area_and_online_resolves_it():
    b = book(offline_severity="major")
    b.event(ev(alert()))
    status = {"schema": "meterwatch.status/2", "msg_id": "gw-1:99", "gateway": "gw-1",
              "ts": "2026-07-15T09:20:00Z", "state": "offline", "version": "0.1.0", "boot_id": "b"}
    (change,) = b.status(status, NOW)
    assert b.status(status, NOW + 1) == []                                # the same will, redelivered
    assert b.status({**status, "msg_id": "gw-1:100", "ts": "2026-07-15T09:21:00Z"}, NOW + 2) == []
    docs = {d["labels"]["alertname"]: d for d, _r in post_all(b, NOW + 2)}
    off = docs["gateway_offline"]
    assert off["labels"] == {"alertname": "gateway_offline", "severity": "major", "gateway": "gw-1",
                             "alert_id": "gateway_offline:gw-1:99", "grid": "jinli-1", "area": "A01"}
    assert off["annotations"]["summary"].startswith("集中器 gw-1 离线（锦里1号台区）")
    online = {**status, "msg_id": "gw-1:101", "ts": "2026-07-15T09:30:00Z", "state": "online"}
    assert len(b.status(online, NOW + 50)) == 1
    resolved = [(d["labels"]["alertname"], r) for d, r in post_all(b, NOW + 50)]
    assert ("gateway_offline", True) in resolved and b.settled(change)
    again = {**status, "msg_id": "gw-1:102", "ts": "2026-07-15T09:40:00Z"}  # offline again: a new incident
    assert len(b.status(again, NOW + 60)) == 1


def test_reconcile_resolves_what_alertmanager_holds_for_a_listed_area_and_adopts_offline_labels():
    b = book()
    b.active_list(SER.alerts_active([alert()], T0 + 1))
    held_overload = {"labels": post_all(b, NOW)[0][0]["labels"], "startsAt": "2026-07-15T09:16:00Z"}
    stale = {"labels": {"alertname": "meter_offline", "severity": "warning", "grid": "jinli-1", "area": "A01",
                        "gateway": "gw-1", "alert_id": "A01:meter_offline:meter:M3:1", "meter": "M3"},
             "annotations": {"summary": "电表通信中断"}, "startsAt": "2026-07-15T08:00:00Z"}
    elsewhere = {"labels": {**stale["labels"], "area": "A02", "alert_id": "A02:x"}, "startsAt": "2026-07-15T08:00:00Z"}
    status = {"schema": "meterwatch.status/2", "msg_id": "gw-9:5", "gateway": "gw-9", "ts": "2026-07-15T09:00:00Z",
              "state": "offline", "version": "0", "boot_id": "b"}
    b.status(status, NOW)                          # gw-9's area is unknown after a restart ...
    held_offline = {"labels": {"alertname": "gateway_offline", "severity": "major", "gateway": "gw-9",
                               "alert_id": "gateway_offline:gw-9:5", "grid": "g9", "area": "A9"},
                    "startsAt": "2026-07-15T09:00:00Z"}
    changes = b.reconcile([held_overload, stale, elsewhere, held_offline], NOW + 5, 40.0)
    assert len(changes) == 2
    docs = {d["labels"]["alert_id"]: (d, r) for d, r in post_all(b, NOW + 5)}
    assert set(docs) == {"A01:meter_offline:meter:M3:1", "gateway_offline:gw-9:5"}
    doc, resolved = docs["A01:meter_offline:meter:M3:1"]
    assert resolved and doc["labels"] == stale["labels"] and "核对时台区已无此告警" in doc["annotations"]["cleared"]
    doc, resolved = docs["gateway_offline:gw-9:5"]
    assert not resolved and doc["labels"] == held_offline["labels"]   # ... so it keeps Alertmanager's labels


def test_times_are_clamped_to_the_collectors_clock():
    b = book()
    future = NOW + 3600
    b.event(ev(alert(raised=future)))
    ((doc, _r),) = post_all(b, NOW)
    assert parse_time(doc["startsAt"]) == pytest.approx(NOW)
    b.event(ev(alert("cleared", raised=future, ts=future + 10)))
    ((doc, resolved),) = post_all(b, NOW + 50)
    assert resolved and parse_time(doc["endsAt"]) == pytest.approx(NOW + 50)


def test_everything_active_is_reposted_after_alertmanager_was_away():
    b = book()
    b.event(ev(alert()))
    b.event(ev(alert(kind="low_voltage", stype="meter", sid="M1", severity="warning", raised=T0 + 1)))
    post_all(b, NOW)
    b.event(ev(alert("cleared", ts=T0 + 20)))
    assert post_all(b, NOW + 1) == []
    assert sorted(r for _d, r in post_all(b, NOW + 2, everything=True)) == [False, False]


def test_decode_accepts_only_valid_payloads_on_their_own_topics():
    topic, payload = FEED.alert(alert())
    raw = json.dumps(payload).encode()
    realtime = next(m for m in area_stream(AreaSpec(gateway="gw-1", meters=2, intervals=1), prefix=P)
                    if m.payload["schema"].startswith("meterwatch.realtime/"))
    assert decode(P, topic, raw, 10_000) == ("alert", payload)
    bad = [(AreaFeed(area="A02").topic("alert"), raw, "spoofed"),       # another area's topic
           (topic, b'{"value": NaN}', "malformed_json"),
           (topic, b"[1]", "malformed_json"),
           (topic, raw.replace(b'"major"', b'"huge"'), "schema_invalid"),
           (topic, raw, "oversized", 100),
           (topic, realtime.encode(), "topic_mismatch"),
           (realtime.topic, realtime.encode(), "topic_unknown")]   # a valid payload of a kind the sink ignores
    for topic_, data, reason, *limit in bad:
        with pytest.raises(Rejected) as e:
            decode(P, topic_, data, limit[0] if limit else 10_000)
        assert e.value.reason == reason, (topic_, data[:60], e.value)
    from edge.sim.broker import topic_matches

    for kind in ("alert", "alerts_active", "status"):
        assert any(topic_matches(f, FEED.topic(kind)) for f in feed_topics(P)), kind
    assert not any(topic_matches(f, FEED.topic("meters_interval")) for f in feed_topics(P))


def test_every_kind_the_engine_can_raise_has_a_chinese_name():
    from collector.alertmanager_model import KIND_ZH
    from detect.area import Area
    from detect.engine import Engine

    engine = Engine(Area.simple(id="A", rated_kva=100, meter_ids=["m1"]))
    kinds = {key.split("@")[0] for key in engine.board.trackers} | {"gateway_offline"}
    assert len(kinds) > 20 and kinds <= set(KIND_ZH), sorted(kinds - set(KIND_ZH))


def test_a_meter_alert_is_labelled_with_its_branch_and_phase_for_inhibition():
    feed = AreaFeed(meters={"M0007": ("B2", "A"), "M0100": ("B1", "ABC")})
    p = Presenter(area_names={}, tz="Asia/Shanghai", grafana_url="")
    cover = make_alert(kind="cover_open", stype="meter", sid="M0007", severity="warning", raised=T0)
    labels = p.labels(feed.ser.alert(cover), gateway="gw-1")
    assert (labels["meter"], labels["branch"], labels["phase"]) == ("M0007", "B2", "A")
    three = p.labels(feed.ser.alert(make_alert(kind="low_voltage", stype="meter", sid="M0100", raised=T0)),
                     gateway="gw-1")
    assert (three["branch"], three["phase"]) == ("B1", "ABC")
    # a meter the serializer does not place, and a subject that is not a meter: no such labels
    unknown = p.labels(feed.ser.alert(make_alert(kind="cover_open", stype="meter", sid="M9999", raised=T0)),
                       gateway="gw-1")
    assert "branch" not in unknown and "phase" not in unknown
    outage = p.labels(feed.ser.alert(make_alert(kind="outage_branch", stype="branch", sid="B2", raised=T0)),
                      gateway="gw-1")
    assert outage["branch"] == "B2" and "phase" not in outage


def test_an_accepted_resolve_is_posted_again_for_a_while_so_a_restarted_alertmanager_still_tells_it():
    b = book()
    b.event(ev(alert()))
    post_all(b, NOW)                                            # fired
    b.event(ev(alert("cleared", ts=T0 + 100)))
    ((doc, resolved),) = post_all(b, NOW + 50)                  # the resolve, accepted
    assert resolved and b.active() == 0
    assert post_all(b, NOW + 80) == []                          # within resend_s: nothing
    again = post_all(b, NOW + 111)                              # due again: the same resolved alert
    assert [(d["labels"], r) for d, r in again] == [(doc["labels"], True)]
    assert parse_time(again[0][0]["endsAt"]) <= NOW + 111         # resolved: it ends in the past
    assert [r for _d, r in post_all(b, NOW + 112, everything=True)] == [True]   # Alertmanager came back
    assert b.event(ev(alert("cleared", ts=T0 + 100))) == []    # a redelivered clear changes nothing
    assert post_all(b, NOW + 50 + 900) == []                    # kept 900 s after it was first accepted
    assert not b.resolved


def test_alerts_fired_just_before_alertmanager_went_away_are_fired_again_even_if_resolved_meanwhile():
    b = book()
    b.event(ev(alert(kind="cover_open", stype="meter", sid="M0007", severity="warning", unit="events")))
    b.event(ev(alert()))
    post_all(b, NOW)                                            # both fired at NOW
    b.event(ev(alert("cleared", ts=T0 + 100)))
    b.event(ev(alert("cleared", kind="cover_open", stype="meter", sid="M0007", severity="warning",
                     unit="events", ts=T0 + 100)))
    assert [r for _d, r in post_all(b, NOW + 1.0, min_firing_s=0.5)] == [True, True]   # resolved, accepted
    assert b.active() == 0 and len(b.resolved) == 2
    # Alertmanager is found gone; the last accepted post was at NOW + 1: what fired since NOW + 1 - 40 s
    # may not have been told: both fire again, then resolve once they fired min_firing_s
    assert b.refire(since=NOW + 1.0 - 40.0) == 2
    again = post_all(b, NOW + 30, everything=True)
    assert sorted(r for _d, r in again) == [False, False]
    assert [r for _d, r in post_all(b, NOW + 50)] == []         # not before min_firing_s (40 s)
    assert [r for _d, r in post_all(b, NOW + 71)] == [True, True]
    # what fired long before is left alone: nothing to fire again
    assert b.refire(since=NOW + 200) == 0


def test_the_gateways_own_port_alert_reads_in_chinese():
    """``port_unavailable`` is raised by the daemon, not the engine: its notification names the kind and
    the unit (devices) in Chinese like every other."""
    from edge.daemon import port_alerts

    b = book()
    b.event(ev(alert(kind=port_alerts.KIND, stype="gateway", sid="gw-1/rs485-2", value=2.0, threshold=None,
                     unit="devices")))
    ((doc, _resolved),) = post_all(b, NOW)
    a = doc["annotations"]
    assert (a["kind_zh"], a["value"], a["subject"]) == ("抄表端口不可用", "2 台", "集中器 gw-1/rs485-2")
    assert a["summary"] == "锦里1号台区 抄表端口不可用：集中器 gw-1/rs485-2 2 台，2026-07-15 17:16 (UTC+08:00) 起"


def test_the_pipelines_implausible_reading_alert_reads_in_chinese():
    """``implausible_reading`` comes from the plausibility checks before the engine, not from its board."""
    from edge.plausibility import alerts as plausibility

    b = book()
    b.event(ev(alert(kind=plausibility.KIND, stype="meter", sid="M0004", severity="warning", value=3.0,
                     threshold=3.0, unit="readings")))
    ((doc, _resolved),) = post_all(b, NOW)
    a = doc["annotations"]
    assert (a["kind_zh"], a["value"], a["threshold"]) == ("读数不合理", "3 次", "3 次")
    assert a["summary"] == "锦里1号台区 读数不合理：电表 M0004 3 次（阈值 3 次），2026-07-15 17:16 (UTC+08:00) 起"


def test_another_gateway_naming_the_same_area_neither_clears_nor_hides_its_alerts():
    """Two gateways that report one area (a replacement commissioned while the old one still runs, a
    copied configuration, or a gateway that lies): each one's list and events speak for its own alerts
    only. Broker ACLs and the topic checks stop a gateway from writing as another, not from naming
    another's area — nor from reusing its predictable alert ids."""
    other = AreaFeed(gateway="gw-2").ser
    b = book()
    overload = alert()
    b.event(ev(overload))
    post_all(b, NOW)
    assert b.active_list(other.alerts_active([], T0 + 10)) == []          # gw-2 has nothing active in A01
    assert b.event(other.alert(alert("cleared", ts=T0 + 20))) != []     # gw-2's own alert of that id
    post_all(b, NOW + 60, min_firing_s=0.0)
    still = [e for e in b.entries.values() if e.labels["gateway"] == "gw-1" and e.cleared_at is None]
    assert [e.labels["alert_id"] for e in still] == [overload.alert_id]
    post_all(b, NOW + 120, min_firing_s=0.0)                             # gw-2's alert: fired, then resolved
    assert b.active_list(SER.alerts_active([overload], T0 + 30)) == []   # gw-1 still lists it: no change
    assert b.active() == 1 and not b.dirty


def test_a_message_gap_is_told_once_fired_then_resolved_whichever_collector_reports_it():
    b = book()
    gap = {"schema": "meterwatch.collector_alert/1", "collector": "col-1", "ts": "2026-07-15T09:16:00Z",
           "kind": "message_gap", "severity": "warning", "gateway": "gw-1", "topic": f"{P}/gw-1/jinli-1/A01/alert",
           "first_missing": 3, "last_missing": 4, "missing": 2, "message": "2 message(s) never arrived"}
    assert len(b.message_gap(gap, NOW, P)) == 2                                  # opened and cleared at once
    assert b.message_gap({**gap, "collector": "col-2"}, NOW, P) == []           # the same gap, told once
    ((doc, resolved),) = post_all(b, NOW)                                        # fired first ...
    assert not resolved and doc["labels"] == {"alertname": "message_gap", "severity": "warning", "gateway": "gw-1",
                                              "alert_id": f"message_gap:gw-1:{P}/gw-1/jinli-1/A01/alert:3",
                                              "grid": "jinli-1", "area": "A01"}
    assert doc["annotations"]["kind_zh"] == "消息丢失" and doc["annotations"]["area_name"] == "锦里1号台区"
    assert [r for _d, r in post_all(b, NOW + 41)] == [True]                      # ... resolved after min_firing_s
    assert b.message_gap(gap, NOW + 50, P) == []                                  # a redelivery: done
    other = {**gap, "topic": f"{P}/gw-1/health", "first_missing": 9}             # a gateway topic: no area
    ((key, _v), _clear) = b.message_gap(other, NOW + 60, P)
    assert "area" not in b.entries[key].labels and b.entries[key].annotations["area_name"] == "所辖台区"
