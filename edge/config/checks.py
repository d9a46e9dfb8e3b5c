"""Checks of single values that cannot work however the rest of the file looks.

* An MQTT topic prefix the broker or paho would refuse (``wire.topics.topic_problem``, shared with the
  collector's checks of its own topics): a broker refuses our publishes under ``$SYS``, and the outbox
  would drop every message as rejected; a topic beyond 65 535 bytes kills paho's network thread.
* A time zone name that is not in the IANA database, and a ``utc_offset_s`` that disagrees with it.
"""

from __future__ import annotations

import time
import zoneinfo
from datetime import datetime, timedelta, timezone

from wire.topics import MAX_PREFIX_BYTES, MAX_PREFIX_LEVELS, topic_problem

__all__ = ["MAX_PREFIX_BYTES", "MAX_PREFIX_LEVELS", "is_loopback", "listen_problem", "split_listen", "timezone_problem",
           "topic_prefix_problem", "zone_offsets"]


def topic_prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` cannot be an MQTT topic prefix for our publishes (None when it can)."""
    return topic_problem(prefix)


def timezone_problem(name: str) -> str | None:
    """Why ``name`` is not a usable IANA time zone (None when it is)."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"{name!r} is not a known IANA time zone (e.g. Asia/Shanghai, Asia/Urumqi, UTC)"
    return None


def zone_offsets(name: str, start: float | None = None, days: int = 366) -> list[int]:
    """The UTC offsets (s) zone ``name`` uses over ``days`` days from ``start`` (now), smallest first."""
    tz = zoneinfo.ZoneInfo(name)
    t0 = datetime.fromtimestamp(time.time() if start is None else start, tz=timezone.utc)
    found = set()
    for day in range(0, days, 7):
        offset = (t0 + timedelta(days=day)).astimezone(tz).utcoffset()
        found.add(int(offset.total_seconds()) if offset is not None else 0)
    return sorted(found)


def split_listen(listen: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:8780`` for IPv6) as (host, port); ``ValueError`` when it is not."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or any(c.isspace() for c in listen):
        raise ValueError(f"{listen!r} is not host:port (e.g. 127.0.0.1:8780, [::1]:8780)")
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen_problem(listen: str, *, has_token: bool) -> str | None:
    """Why the status page's ``listen`` address cannot be used (None when it can): the port must be a port,
    and any address reachable from outside the gateway needs a token."""
    if not listen:
        return None
    try:
        host, port = split_listen(listen)
    except ValueError as exc:
        return str(exc)
    if port > 65535:
        return f"port {port} is above 65535"
    if not is_loopback(host) and not has_token:
        return (f"{host} is reachable from other machines: set token_file (the page and /metrics then ask for "
                "it), or listen on 127.0.0.1")
    return None
