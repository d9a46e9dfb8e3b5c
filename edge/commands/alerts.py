"""``meterwatch alerts``: tail the alerts of every area on a broker, as a subscriber would.

    meterwatch alerts --broker mqtts://broker.example:8883 --ca-file ca.pem --username ops \\
        --password-file ~/.mqtt-password [--active] [--grid jinli-1] [--area A01] [--json]

One line per alert event; with ``--active`` also the retained list of active alerts of each area
(shown at once on subscribe, then whenever it changes). Duplicates (at-least-once delivery) are
recognised by ``msg_id`` and not shown twice. A malformed message is reported on stderr and skipped.
A broker that cannot be reached, or a connection that is lost, is reported on stderr with exit status 1;
with ``--follow`` it keeps retrying (with a message each time) until Ctrl-C, ``--count`` or ``--timeout``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

from wire.topics import DEFAULT_PREFIX, filters

__all__ = ["add_arguments", "format_active", "format_alert", "run"]

_SEVERITY_MARK = {"info": "·", "warning": "!", "major": "!!", "critical": "!!!"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker", default="mqtt://localhost:1883", help="mqtt://host[:port] or mqtts://host[:port]")
    p.add_argument("--prefix", default=DEFAULT_PREFIX, help=f"topic prefix (default {DEFAULT_PREFIX})")
    p.add_argument("--active", action="store_true", help="also show each area's retained active-alert list")
    p.add_argument("--grid", default="+", help="only this grid (default: all)")
    p.add_argument("--area", default="+", help="only this area (default: all)")
    p.add_argument("--username", help="MQTT user name")
    p.add_argument("--password-file", type=Path, help="file holding the MQTT password")
    p.add_argument("--ca-file", type=Path, help="CA certificate for mqtts://")
    p.add_argument("--cert-file", type=Path, help="client certificate (PEM)")
    p.add_argument("--key-file", type=Path, help="client certificate key (PEM)")
    p.add_argument("--client-id", default="", help="client id (default: random, clean session)")
    p.add_argument("--json", action="store_true", help="print each payload as one JSON line")
    p.add_argument("--count", type=int, default=0, help="exit after this many messages (default: run until Ctrl-C)")
    p.add_argument("--timeout", type=float, default=0.0, help="exit after this many seconds (default: never)")
    p.add_argument("--follow", action="store_true",
                   help="keep (re)connecting while the broker is unreachable or goes away (default: report it and exit 1)")
    p.add_argument("--connect-timeout", type=float, default=10.0, help="seconds to wait for a TCP/TLS connection (default 10)")


def _num(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def format_alert(p: dict[str, Any]) -> str:
    """One alert event as one line a person reads."""
    subject = p.get("subject") or {}
    state = str(p.get("state", "?")).upper()
    sev = str(p.get("severity", "?"))
    unit = p.get("unit") or ""
    value = f"{_num(p.get('value'))}{unit and ' ' + unit}"
    cmp = f" (threshold {_num(p.get('threshold'))}{unit and ' ' + unit})" if p.get("threshold") is not None else ""
    since = f" since {p['raised_at']}" if state != "RAISED" and p.get("raised_at") else ""
    return (f"{p.get('ts', '?')}  {state:<8} {sev:<8} {_SEVERITY_MARK.get(sev, ''):<3} "
            f"{p.get('grid', '?')}/{p.get('area', '?')}  {p.get('kind', '?')} @ "
            f"{subject.get('type', '?')} {subject.get('id', '?')}: {value}{cmp}{since}  "
            f"{p.get('message', '')}  [{p.get('alert_id', '?')}]")


def format_active(p: dict[str, Any]) -> list[str]:
    """The retained active list: a header line and one indented line per alert."""
    alerts = p.get("alerts") or []
    head = f"{p.get('ts', '?')}  ACTIVE   {p.get('grid', '?')}/{p.get('area', '?')}: {len(alerts)} active alert(s)"
    lines = [head]
    for a in alerts:
        subject = a.get("subject") or {}
        lines.append(f"    {a.get('severity', '?'):<8} {a.get('kind', '?')} @ {subject.get('type', '?')} "
                     f"{subject.get('id', '?')}: {_num(a.get('value'))} {a.get('unit', '')}  "
                     f"since {a.get('raised_at', '?')}  [{a.get('alert_id', '?')}]")
    return lines


def _make_client(args: argparse.Namespace, password: str | None) -> Any:
    import ssl

    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=args.client_id, protocol=paho.MQTTv5)
    c.reconnect_delay_set(1, 30)
    c.connect_timeout = args.connect_timeout
    if args.username:
        c.username_pw_set(args.username, password)
    if args.tls or args.ca_file:
        ctx = ssl.create_default_context(cafile=str(args.ca_file) if args.ca_file else None)
        if args.cert_file:
            ctx.load_cert_chain(str(args.cert_file), str(args.key_file) if args.key_file else None)
        c.tls_set_context(ctx)
    return c


def _connect(c: Any, args: argparse.Namespace, host: str, port: int, done: Any) -> bool:
    """Connect (TCP and TLS); without ``--follow`` one attempt, with it until it works or we stop."""
    delay = 1.0
    while True:
        try:
            c.connect(host, port, keepalive=30)
            return True
        except OSError as exc:   # refused, unreachable, timeout, TLS failure
            why = exc.strerror or str(exc) or type(exc).__name__
            if not args.follow:
                print(f"meterwatch alerts: cannot connect to broker {args.broker}: {why} "
                      "(is it running and reachable? --follow keeps retrying)", file=sys.stderr)
                return False
            print(f"meterwatch alerts: cannot connect to broker {args.broker}: {why}; "
                  f"retrying in {delay:.0f} s (--follow)", file=sys.stderr, flush=True)
            if done.wait(delay):
                return False
            delay = min(delay * 2, 30.0)


class _Tail:
    """The paho callbacks of one ``meterwatch alerts`` run and what they share."""

    def __init__(self, args: argparse.Namespace, topics: list[str]) -> None:
        import threading

        self.args, self.topics = args, topics
        self.seen: OrderedDict[str, None] = OrderedDict()   # recent msg_ids: at-least-once means duplicates
        self.state = {"shown": 0, "malformed": 0, "exit": 0}
        self.done = threading.Event()

    def fail(self, message: str) -> None:
        print(f"meterwatch alerts: {message}", file=sys.stderr)
        self.state["exit"] = 1
        self.done.set()

    def on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        if rc.is_failure:
            self.fail(f"broker {self.args.broker} refused the connection: {rc} "
                      "(check --username / --password-file / certificates)")
            return
        print(f"# connected to {self.args.broker}; watching {', '.join(self.topics)}", file=sys.stderr)
        client.subscribe([(t, 1) for t in self.topics])

    def on_disconnect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        if self.done.is_set():
            return
        if self.args.follow:
            print(f"# connection to {self.args.broker} lost ({rc}); reconnecting (--follow)", file=sys.stderr,
                  flush=True)
            return
        self.fail(f"connection to {self.args.broker} lost: {rc} (--follow keeps retrying)")

    def on_connect_fail(self, client: Any, userdata: Any) -> None:
        print(f"# cannot reconnect to {self.args.broker}; retrying (--follow)", file=sys.stderr, flush=True)

    def on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        if _show(msg.topic, bytes(msg.payload), self.args, self.seen, self.state):
            self.state["shown"] += 1
            if self.args.count and self.state["shown"] >= self.args.count:
                self.done.set()


def run(args: argparse.Namespace) -> int:
    import threading

    from edge.errors import ConfigError
    from edge.publish.mqtt import parse_broker_url, read_password

    try:
        host, port, args.tls = parse_broker_url(args.broker)
        password = read_password(args.password_file) if args.password_file else None
    except ConfigError as exc:
        print(f"meterwatch alerts: {exc}", file=sys.stderr)
        return 2
    topics = filters(args.prefix, ["alert", "alerts_active"] if args.active else ["alert"], grid=args.grid,
                     area=args.area)
    tail = _Tail(args, topics)
    if args.timeout:
        deadline = threading.Timer(args.timeout, tail.done.set)
        deadline.daemon = True
        deadline.start()
    c = _make_client(args, password)
    c.on_connect, c.on_message, c.on_disconnect = tail.on_connect, tail.on_message, tail.on_disconnect
    c.on_connect_fail = tail.on_connect_fail
    if not _connect(c, args, host, port, tail.done):
        if args.follow:
            print(f"meterwatch alerts: stopped without ever reaching {args.broker}", file=sys.stderr)
        return 1
    c.loop_start()
    try:
        tail.done.wait()
    finally:
        c.disconnect()
        c.loop_stop()
    if tail.state["malformed"]:
        print(f"# {tail.state['malformed']} malformed message(s) skipped", file=sys.stderr)
    return tail.state["exit"]


def _show(topic: str, raw: bytes, args: argparse.Namespace, seen: OrderedDict[str, None],
          state: dict[str, int]) -> bool:
    """Print one message unless it is a duplicate or malformed; True when shown."""
    try:
        payload = json.loads(raw)
        if not isinstance(payload, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        state["malformed"] += 1
        print(f"# malformed message on {topic}: {exc}", file=sys.stderr)
        return False
    msg_id = str(payload.get("msg_id", ""))
    if msg_id and msg_id in seen:
        return False
    if msg_id:
        seen[msg_id] = None
        if len(seen) > 10_000:
            seen.popitem(last=False)
    if args.json:
        print(json.dumps({"topic": topic, "payload": payload}, ensure_ascii=False), flush=True)
    elif topic.endswith("/alerts/active"):
        print("\n".join(format_active(payload)), flush=True)
    else:
        print(format_alert(payload), flush=True)
    return True
