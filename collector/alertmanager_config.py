"""``[alertmanager]`` of ``collector.toml``: where and how the collector's alert sink posts.

The section is optional: without it the collector sends nothing to Alertmanager. Checked before any
I/O with the rest of the file (``collector.config``); the area-name CSV is read and checked here too,
so a bad row is reported with its file and line at ``--check`` time.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["AlertmanagerConfig", "AreaNames", "area_names_path", "check_alertmanager", "load_area_names",
           "read_secret"]

SEVERITIES = ("info", "warning", "major", "critical")
AreaNames = dict[tuple[str, str], str]   # (grid, area) -> the name people use for the area


@dataclass(frozen=True, kw_only=True, slots=True)
class AlertmanagerConfig:
    url: str = ""                       # http(s)://host:9093[/route-prefix]; required
    username: str = ""                  # basic auth (with password_file)
    password_file: str = ""
    bearer_token_file: str = ""         # or a bearer token
    ca_file: str = ""                   # https: CA bundle (default: the system's)
    cert_file: str = ""                 # https: client certificate and key
    key_file: str = ""
    timeout_s: float = 10.0
    resend_interval_s: float = 60.0     # active alerts are re-posted this often ...
    expire_after_s: float = 900.0       # ... with endsAt this far ahead: a dead collector's alerts end then
    min_firing_s: float = 330.0         # a resolve waits until the alert fired this long (> every route's
                                        # group_wait and group_interval: docs/alerting.md)
    keep_resolved_s: float = 900.0      # an accepted resolve is re-posted for this long (a restarted
                                        # Alertmanager still notifies it; Prometheus keeps 15 min too)
    retry_initial_s: float = 1.0        # back-off after a failed post, doubling
    retry_max_s: float = 60.0
    settle_s: float = 5.0               # after subscribing: wait for retained lists before reconciling
    receive_maximum: int = 1000         # unacknowledged alert messages in flight to the sink
    grafana_url: str = ""               # base URL of Grafana: each alert links the area's dashboard
    area_names_csv: str = ""            # CSV grid,area,name (relative: to collector.toml): names people read
    timezone: str = "Asia/Shanghai"     # the times in notifications are local to the areas
    gateway_offline_severity: str = "major"


def area_names_path(am: AlertmanagerConfig, config_file: str) -> str:
    """``area_names_csv`` as given when absolute, else next to the configuration file."""
    p = Path(am.area_names_csv)
    if p.is_absolute() or config_file.startswith("<"):
        return str(p)
    return str(Path(config_file).parent / p)


def load_area_names(path: str) -> AreaNames:
    """Read ``grid,area,name`` rows; raises ``ValueError`` naming the file and line of a bad row."""
    names: AreaNames = {}
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = csv.reader(fh)
        header = next(rows, None)
        if header is None or [h.strip() for h in header[:3]] != ["grid", "area", "name"]:
            raise ValueError(f"{path}:1: header must be grid,area,name (got {header!r})")
        for row in rows:
            line = rows.line_num
            if not row or not "".join(row).strip():
                continue
            if len(row) != 3 or not all(c.strip() for c in row):
                raise ValueError(f"{path}:{line}: need three non-empty fields grid,area,name (got {row!r})")
            key = (row[0].strip(), row[1].strip())
            if key in names:
                raise ValueError(f"{path}:{line}: area {key[0]}/{key[1]} is named twice")
            names[key] = row[2].strip()
    return names


def check_alertmanager(am: AlertmanagerConfig, config_file: str, bad: Callable[[str, str], None]) -> None:
    """Report every problem of the section through ``bad(key, message)``."""
    if not re.match(r"^https?://[^/\s]+(/\S*)?$", am.url):
        bad("url", f"{am.url!r} is not http(s)://host[:port][/prefix] (required when [alertmanager] is present)")
    if am.password_file and not am.username:
        bad("password_file", "needs username (basic auth)")
    if am.bearer_token_file and am.username:
        bad("bearer_token_file", "use either username/password_file or bearer_token_file, not both")
    if bool(am.cert_file) != bool(am.key_file):
        bad("cert_file", "cert_file and key_file go together")
    for key in ("timeout_s", "resend_interval_s", "min_firing_s", "retry_initial_s", "settle_s"):
        if getattr(am, key) <= 0:
            bad(key, f"{getattr(am, key)} must be > 0")
    if am.keep_resolved_s < 0:
        bad("keep_resolved_s", f"{am.keep_resolved_s} must be >= 0 (0: a resolve is posted until accepted, once)")
    if am.min_firing_s >= am.expire_after_s:
        bad("min_firing_s", f"{am.min_firing_s} must be below expire_after_s ({am.expire_after_s})")
    if am.expire_after_s < 2 * am.resend_interval_s:
        bad("expire_after_s", f"{am.expire_after_s} must be at least twice resend_interval_s "
                              f"({am.resend_interval_s}): one late re-post must not end an alert")
    if am.retry_max_s < am.retry_initial_s:
        bad("retry_max_s", f"{am.retry_max_s} must be >= retry_initial_s ({am.retry_initial_s})")
    if not 1 <= am.receive_maximum <= 65535:
        bad("receive_maximum", f"{am.receive_maximum} is not in 1..65535")
    if am.grafana_url and not re.match(r"^https?://\S+$", am.grafana_url):
        bad("grafana_url", f"{am.grafana_url!r} is not an http(s) URL")
    if am.gateway_offline_severity not in SEVERITIES:
        bad("gateway_offline_severity", f"{am.gateway_offline_severity!r} is not one of {', '.join(SEVERITIES)}")
    try:
        ZoneInfo(am.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        bad("timezone", f"{am.timezone!r} is not an IANA time zone (e.g. Asia/Shanghai)")
    if am.area_names_csv:
        path = area_names_path(am, config_file)
        try:
            load_area_names(path)
        except OSError as e:
            bad("area_names_csv", f"cannot read {path}: {e.strerror}")
        except (ValueError, csv.Error) as e:
            bad("area_names_csv", str(e))


def read_secret(path: str) -> str:
    """A credential file's content without the trailing newline."""
    return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
