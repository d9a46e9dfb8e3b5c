"""``meterwatch status``: what the running daemon is doing, from its control socket.

    meterwatch status                     # the daemon on this gateway (found as described below)
    meterwatch status -c /etc/meterwatch/edge.toml [--all] [--json] [--lang zh|en]
    meterwatch status --url http://gw-0042:8780/ --token-file token     # a gateway's status page

Per bus: port, wire use, efficiency and read success over the last minute; per device: last success,
last error, back-off; active alerts; outbox depth and drops; MQTT; engine tick times; versions.
``--json`` prints the daemon's status document (``meterwatch.gateway_status/1``) for scripts.

The socket is found in this order: ``--socket``; ``--config``'s ``[status] socket`` (or the default
beside its state directory); ``/run/meterwatch/control.sock`` (the systemd unit); the control sockets
named in the port locks of running daemons; ``/etc/meterwatch/edge.toml``. Exit status: 0 running,
1 the daemon answers but is not running normally (starting, stopping), 3 no daemon could be asked.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

DEFAULT_CONFIG = "/etc/meterwatch/edge.toml"
SYSTEMD_SOCKET = "/run/meterwatch/control.sock"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", help=f"the daemon's configuration (default: {DEFAULT_CONFIG} if no socket is found)")
    p.add_argument("--socket", help="the daemon's control socket")
    p.add_argument("--url", help="a gateway's status page instead (http://host:port/)")
    p.add_argument("--token-file", help="file holding the status page's token (with --url)")
    p.add_argument("--json", action="store_true", help="print the status document as JSON")
    p.add_argument("--all", action="store_true", help="list every device (default: all up to 40, else only those with trouble)")
    p.add_argument("--lang", choices=("zh", "en"), help="language of the table (default: from $LANG)")


def candidates(args: argparse.Namespace) -> list[str]:
    """Control sockets to try, most specific first."""
    if args.socket:
        return [args.socket]
    if args.config:
        return _from_config(args.config)
    found = [SYSTEMD_SOCKET, *_from_locks()]
    if Path(DEFAULT_CONFIG).is_file():
        found += _from_config(DEFAULT_CONFIG)
    return list(dict.fromkeys(found))


def _from_config(path: str) -> list[str]:
    from edge.config import load_config
    from edge.status.service import SOCKET_NAME

    cfg = load_config(path)
    if cfg.status.socket:
        return [cfg.status.socket]
    return [SYSTEMD_SOCKET, str(Path(cfg.gateway.state_dir) / SOCKET_NAME)]


def _from_locks() -> list[str]:
    """Control sockets named in the port lock records (``edge.portlock``) of live daemons."""
    from edge import portlock

    out = []
    d = portlock.lock_dir()
    for f in sorted(d.iterdir()) if d.is_dir() else []:
        try:
            rec = json.loads(f.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            continue
        live = isinstance(rec, dict) and isinstance(rec.get("pid"), int) and Path(f"/proc/{rec['pid']}").exists()
        if live and isinstance(rec.get("control"), str):
            out.append(rec["control"])
    return out


def run(args: argparse.Namespace) -> int:
    from edge.errors import ConfigError
    from edge.status.client import ControlClient, ControlError
    from edge.status.text import render

    try:
        if args.url:
            token = Path(args.token_file).read_text(encoding="utf-8").strip() if args.token_file else None
            clients = [ControlClient(url=args.url, token=token)]
        else:
            clients = [ControlClient(socket_path=s) for s in candidates(args)]
    except (ConfigError, OSError) as exc:
        print(f"meterwatch status: {exc}", file=sys.stderr)
        return 3
    errors = []
    for client in clients:
        if client.socket_path and not os.path.exists(client.socket_path):
            errors.append(f"{client.socket_path}: no such socket")
            continue
        try:
            doc = client.request("GET", "/api/status")
        except ControlError as exc:
            errors.append(str(exc))
            continue
        if args.json:
            print(json.dumps(doc, ensure_ascii=False, indent=2))
        else:
            lang = args.lang or ("zh" if os.environ.get("LANG", "").lower().startswith("zh") else "en")
            print(render(doc, lang=lang, all_devices=args.all))
        return 0 if doc.get("state") == "running" else 1
    print("meterwatch status: 未找到运行中的守护进程 / no running daemon could be asked:\n  " + "\n  ".join(errors),
          file=sys.stderr)
    return 3
