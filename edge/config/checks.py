"""Checks of single values that cannot work however the rest of the file looks.

* An MQTT topic prefix the broker or paho would refuse. MQTT 5.0 §4.7: topic names are UTF-8 without
  U+0000 (and brokers such as mosquitto refuse the control characters U+0001–U+001F, U+007F–U+009F),
  carry no wildcard ``+``/``#``, and at most 65 535 bytes; names starting with ``$`` are the broker's
  (``$SYS``): a broker refuses our publishes there, and the outbox would drop every message as
  rejected. A topic longer than 65 535 bytes makes paho's network thread raise and die without a word.
  We also refuse what works but is always a mistake and that the collector refuses too: empty levels
  (leading, trailing or doubled ``/``) and white space; and we keep the prefix to 256 bytes and 16
  levels, far below the broker limits (mosquitto: 200 levels), so grid, area and kind always fit.
* A time zone name that is not in the IANA database, and a ``utc_offset_s`` that disagrees with it.
"""

from __future__ import annotations

import time
import zoneinfo
from datetime import datetime, timedelta, timezone

__all__ = ["MAX_PREFIX_BYTES", "MAX_PREFIX_LEVELS", "is_loopback", "listen_problem", "split_listen", "timezone_problem",
           "topic_prefix_problem", "zone_offsets"]

MAX_PREFIX_BYTES = 256
MAX_PREFIX_LEVELS = 16


def _control(ch: str) -> bool:
    return ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F


def topic_prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` cannot be an MQTT topic prefix for our publishes (None when it can)."""
    if not prefix:
        return "must not be empty"
    if "\x00" in prefix:
        return f"contains a NUL character at position {prefix.index(chr(0))} (MQTT forbids U+0000 in topics)"
    bad = next((ch for ch in prefix if _control(ch)), None)
    if bad is not None:
        return f"contains the control character U+{ord(bad):04X} (brokers refuse it in topics)"
    if any(ch.isspace() for ch in prefix):
        return "contains white space"
    if "+" in prefix or "#" in prefix:
        return "contains a wildcard (+ or #): a topic name we publish to cannot"
    if prefix.startswith("$"):
        return (f"starts with '$': topics beginning with $ (like $SYS) belong to the broker, which refuses "
                f"our messages there ({prefix.split('/')[0]!r})")
    if prefix.startswith("/") or prefix.endswith("/") or "//" in prefix:
        return "has an empty level (a leading, trailing or doubled '/')"
    size = len(prefix.encode("utf-8"))
    if size > MAX_PREFIX_BYTES:
        return (f"is {size} bytes long; at most {MAX_PREFIX_BYTES} (MQTT topics end at 65 535 bytes and a "
                "longer topic kills paho's network thread without an error)")
    if prefix.count("/") + 1 > MAX_PREFIX_LEVELS:
        return f"has {prefix.count('/') + 1} levels; at most {MAX_PREFIX_LEVELS}"
    return None


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
