"""What ``meterwatch demo`` shows: a subscriber's view of one area, built only from MQTT messages.

``Watch`` subscribes to everything under the topic prefix like any alert subscriber or dashboard
would, keeps the latest transformer state, line loss and the alert history, and renders them as a
terminal screen (redrawn in place on a TTY, as plain event lines otherwise).

``LogPane`` keeps the daemon's and simulator's log out of the story: every record goes to a log file
in the demo's directory; the live screen shows the last few warnings in a pane of its own, and the end
of the demo says how many there were and which came most often.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from edge.publish.mqtt import parse_broker_url

__all__ = ["LogPane", "Watch", "local", "render"]

log = logging.getLogger(__name__)


@dataclass
class AlertRecord:
    alert_id: str
    kind: str
    subject: str
    severity: str
    raised_at: str
    message: str
    raised_rx_s: float            # wall time the raise reached us
    cleared_at: str | None = None
    updates: int = 0


@dataclass
class ViewState:
    realtime: dict[str, Any] = field(default_factory=dict)
    interval: dict[str, Any] = field(default_factory=dict)
    alerts: dict[str, AlertRecord] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    messages: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    seen: set[str] = field(default_factory=set)
    gateway_state: str = "?"


class Watch:
    """A paho subscriber on its own thread; ``state`` is read under ``lock``."""

    def __init__(self, broker_url: str, prefix: str, client_id: str = "meterwatch-demo-view",
                 utc_offset_s: int = 8 * 3600) -> None:
        host, port, _ = parse_broker_url(broker_url)
        self.utc_offset_s = utc_offset_s
        self.prefix = prefix
        self.lock = threading.Lock()
        self.state = ViewState()
        self.new_events: queue.Queue[str] = queue.Queue()
        self.connected = threading.Event()
        self._closing = threading.Event()
        self._c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
        self._c.on_connect = self._on_connect
        self._c.on_disconnect = self._on_disconnect
        self._c.on_message = self._on_message
        self._c.reconnect_delay_set(min_delay=1, max_delay=2)   # a two-minute story: back within seconds
        self._c.connect_async(host, port, keepalive=30)
        self._c.loop_start()

    def close(self, timeout_s: float = 10.0) -> None:
        """Disconnect and stop the network thread. paho's ``loop_stop`` joins it without a time limit;
        one that has not stopped after ``timeout_s`` is left behind (a daemon thread, it ends with the
        process) and said in the log rather than holding up the end of the demo."""
        self._closing.set()
        self._c.disconnect()
        stopper = threading.Thread(target=self._c.loop_stop, name="demo-view-stop", daemon=True)
        stopper.start()
        stopper.join(timeout_s)
        if stopper.is_alive():
            log.warning("the demo's viewer did not stop its MQTT thread within %g s; left behind", timeout_s)

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        if not self._closing.is_set():
            log.warning("the demo's viewer lost the broker (%s); reconnecting", rc)

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        client.subscribe(f"{self.prefix}/#", qos=1)
        self.connected.set()

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        try:
            p = json.loads(msg.payload)
        except ValueError:
            return
        if not isinstance(p, dict):
            return
        schema = str(p.get("schema", ""))
        kind = schema.removeprefix("meterwatch.").split("/")[0]
        with self.lock:
            st = self.state
            mid = str(p.get("msg_id", ""))
            if mid in st.seen:
                st.duplicates += 1
                return
            st.seen.add(mid)
            st.messages[kind] += 1
            if kind == "realtime":
                st.realtime = p
            elif kind == "interval":
                st.interval = p
            elif kind == "status":
                st.gateway_state = str(p.get("state"))
            elif kind == "alert":
                self._alert(st, p)

    def _alert(self, st: ViewState, p: dict[str, Any]) -> None:
        subj = p.get("subject") or {}
        subject = f"{subj.get('type', '?')} {subj.get('id', '?')}"
        aid = str(p.get("alert_id"))
        state = p.get("state")
        rec = st.alerts.get(aid)
        if state == "raised" or rec is None:
            rec = AlertRecord(alert_id=aid, kind=str(p.get("kind")), subject=subject,
                              severity=str(p.get("severity")), raised_at=str(p.get("raised_at")),
                              message=str(p.get("message", "")), raised_rx_s=time.monotonic())
            st.alerts[aid] = rec
        if state == "updated":
            rec.updates += 1
        if state == "cleared":
            rec.cleared_at = str(p.get("cleared_at"))
        line = f"{local(p.get('ts'), self.utc_offset_s)}  {str(state).upper():<8} {rec.kind:<22} {subject:<18} {p.get('message', '')}"
        st.events.append(line)
        self.new_events.put(line)


class LogPane(logging.Handler):
    """Every log record into ``path``; warnings and errors also counted and kept for the screen."""

    def __init__(self, path: Path, *, keep: int = 4) -> None:
        super().__init__(logging.WARNING)
        self.path = path
        self.counts: Counter[str] = Counter()          # level name -> records
        self.messages: Counter[tuple[str, str]] = Counter()   # (logger, format string) -> records
        self.example: dict[tuple[str, str], str] = {}         # ... and its first message
        self.recent: deque[str] = deque(maxlen=keep)
        self._file = logging.FileHandler(path, encoding="utf-8")
        self._file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def install(self, level: str) -> LogPane:
        root = logging.getLogger()
        root.setLevel(level)
        root.addHandler(self._file)
        root.addHandler(self)
        return self

    def uninstall(self) -> None:
        root = logging.getLogger()
        for h in (self, self._file):
            root.removeHandler(h)
        self._file.close()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a bad format string must not stop the demo
            text = str(record.msg)
        first = text.splitlines()[0] if text else ""
        self.counts[record.levelname] += 1
        key = (record.name, str(record.msg))                # one kind of message, whatever its arguments
        self.messages[key] += 1
        self.example.setdefault(key, f"{record.name}: {first[:120]}")
        self.recent.append(f"{time.strftime('%H:%M:%S', time.localtime(record.created))} {record.levelname:<7} "
                           f"{record.name}: {first[:100]}")

    def pane(self) -> list[str]:
        """The screen's log pane (empty when nothing was logged)."""
        if not self.counts:
            return []
        return ["", f"  log ({self._tally()}, all in {self.path}):", *(f"    {line}" for line in self.recent)]

    def summary(self) -> str:
        """One line (or a few) for the end of the demo."""
        if not self.counts:
            return f"Log: no warnings or errors (everything is in {self.path})."
        top = "; ".join(f"{n}× {self.example[k]}{' (and alike)' if n > 1 else ''}"
                        for k, n in self.messages.most_common(3))
        return f"Log: {self._tally()} in {self.path}; most frequent: {top}"

    def _tally(self) -> str:
        return ", ".join(f"{n} {lvl.lower()}{'s' if n > 1 else ''}" for lvl, n in sorted(self.counts.items()))


def local(rfc3339: Any, utc_offset_s: int = 8 * 3600, fmt: str = "%H:%M:%S") -> str:
    """An RFC 3339 UTC timestamp of a payload as the area's local time of day."""
    try:
        ts = datetime.fromisoformat(str(rfc3339).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return "?"
    return time.strftime(fmt, time.gmtime(ts + utc_offset_s))


def _bar(pct: float | None, width: int = 30) -> str:
    if pct is None:
        return " " * width
    n = max(0, min(width, round(pct / 100 * width * 100 / 120)))
    return "█" * n + "·" * (width - n)


def _f(v: Any, fmt: str = "{:.1f}") -> str:
    return "  –" if v is None else fmt.format(v)


def render(state: ViewState, *, sim_time: str, speed: float, title: str, log: list[str] | None = None) -> str:
    """One screen of the live view."""
    rt, iv = state.realtime, state.interval
    load = rt.get("load_pct")
    lines = [
        f"meterwatch demo — {title}        sim time {sim_time} (×{speed:g})   gateway {state.gateway_state}",
        "",
        f"  load β_max  {_f(load):>6} %  |{_bar(load)}|  (overload alarm ≥ 95 %, clears < 90 %)",
        f"  load β_S    {_f(rt.get('load_s_pct')):>6} %   S {_f(rt.get('s_kva'))} kVA   P {_f(rt.get('p_kw'))} kW"
        f"   Q {_f(rt.get('q_kvar'))} kvar",
        f"  hot-spot    {_f(rt.get('hotspot_c')):>6} °C   top-oil {_f(rt.get('top_oil_c'))} °C   ageing ×"
        f"{_f(rt.get('ageing_rate'), '{:.3f}')}",
        f"  U a/b/c     {_f(rt.get('u_a'))} / {_f(rt.get('u_b'))} / {_f(rt.get('u_c'))} V    I a/b/c "
        f"{_f(rt.get('i_a'))} / {_f(rt.get('i_b'))} / {_f(rt.get('i_c'))} A   I_N {_f(rt.get('i_n'))} A",
        f"  imbalance   {_f(rt.get('imbalance_pct')):>6} %",
        f"  last 15 min {local(iv.get('interval_start'), fmt='%H:%M')}–{local(iv.get('interval_end'), fmt='%H:%M')}  "
        f"line loss {_f(iv.get('loss_pct'))} %  status {iv.get('status', '–')}  coverage {_f(iv.get('coverage_pct'))} %",
        "",
        "  active alerts:",
    ]
    active = [a for a in state.alerts.values() if a.cleared_at is None]
    lines += [f"    {a.severity:<8} {a.kind:<22} {a.subject:<18} since {local(a.raised_at)}" for a in active] or ["    none"]
    lines += ["", "  recent events:"]
    lines += [f"    {e}" for e in state.events[-8:]] or ["    none yet"]
    lines += ["", "  messages received: " + ", ".join(f"{k} {v}" for k, v in sorted(state.messages.items()))]
    lines += log or []
    return "\n".join(lines)
