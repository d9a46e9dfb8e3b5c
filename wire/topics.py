"""The topic layout, version 2: the gateway id is the first level after the prefix ``P``.

    P/{gateway}/{grid}/{area}/alert               P/{gateway}/status
    P/{gateway}/{grid}/{area}/alerts/active       P/{gateway}/health
    P/{gateway}/{grid}/{area}/summary/realtime
    P/{gateway}/{grid}/{area}/summary/interval
    P/{gateway}/{grid}/{area}/summary/daily
    P/{gateway}/{grid}/{area}/meters/interval

Every topic of a gateway is under ``P/{gateway}/``, so one broker ACL line binds each gateway to its own
subtree (mosquitto: ``pattern write P/%u/#`` with the gateway id as user name). Area topics have at least
four levels after the prefix and gateway topics exactly two, so a topic parses without ambiguity whatever
the ids are called.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from wire.kinds import KINDS

__all__ = ["DEFAULT_PREFIX", "MAX_PREFIX_BYTES", "MAX_PREFIX_LEVELS", "Topic", "TopicError", "area_topic", "build",
           "filters", "gateway_topic", "parse", "topic_problem"]

DEFAULT_PREFIX = "meterwatch/v2"

_BY_SUFFIX = {(k.scope, k.suffix): k.name for k in KINDS.values()}


class TopicError(ValueError):
    """A topic that is not in the layout (or not under the prefix)."""


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic: who publishes it, about which area (empty for gateway kinds), which kind."""

    gateway: str
    kind: str
    grid: str = ""
    area: str = ""


def area_topic(prefix: str, gateway: str, grid: str, area: str, kind: str) -> str:
    k = KINDS[kind]
    if k.scope != "area":
        raise ValueError(f"{kind} is a gateway kind, not an area kind")
    return f"{prefix}/{gateway}/{grid}/{area}/{k.suffix}"


def gateway_topic(prefix: str, gateway: str, kind: str) -> str:
    k = KINDS[kind]
    if k.scope != "gateway":
        raise ValueError(f"{kind} is an area kind, not a gateway kind")
    return f"{prefix}/{gateway}/{k.suffix}"


def build(prefix: str, t: Topic) -> str:
    if KINDS[t.kind].scope == "gateway":
        return gateway_topic(prefix, t.gateway, t.kind)
    return area_topic(prefix, t.gateway, t.grid, t.area, t.kind)


def parse(prefix: str, topic: str) -> Topic:
    """``Topic`` of a concrete topic; raises ``TopicError`` saying what does not fit."""
    if not topic.startswith(prefix + "/"):
        raise TopicError(f"topic is not under {prefix!r}")
    parts = topic[len(prefix) + 1:].split("/")
    if any(not p for p in parts):
        raise TopicError("topic has an empty level")
    if len(parts) == 2:
        kind = _BY_SUFFIX.get(("gateway", parts[1]))
        if kind is None:
            raise TopicError(f"{parts[1]!r} is not a gateway topic (status, health)")
        return Topic(gateway=parts[0], kind=kind)
    if len(parts) >= 4:
        suffix = "/".join(parts[3:])
        kind = _BY_SUFFIX.get(("area", suffix))
        if kind is None:
            raise TopicError(f"{suffix!r} names no area payload kind")
        return Topic(gateway=parts[0], kind=kind, grid=parts[1], area=parts[2])
    raise TopicError("topic has neither P/{gateway}/{suffix} nor P/{gateway}/{grid}/{area}/{suffix} levels")


def filters(prefix: str, kinds: Iterable[str] | None = None, *, gateway: str = "+", grid: str = "+",
            area: str = "+") -> list[str]:
    """Subscription filters for ``kinds`` (all when None), optionally narrowed to a gateway/grid/area."""
    names = list(KINDS) if kinds is None else list(kinds)
    if kinds is None and (gateway, grid, area) == ("+", "+", "+"):
        return [f"{prefix}/#"]
    out = []
    for name in names:
        k = KINDS[name]
        if k.scope == "gateway":
            if (grid, area) == ("+", "+"):
                out.append(f"{prefix}/{gateway}/{k.suffix}")
        else:
            out.append(f"{prefix}/{gateway}/{grid}/{area}/{k.suffix}")
    return out


# What a topic we publish to (or a prefix of one) must be, for the edge's [mqtt] topic_prefix and the
# collector's own topics alike. MQTT 5.0 §4.7: topic names are UTF-8 without U+0000 (and brokers such as
# mosquitto refuse the control characters U+0001–U+001F, U+007F–U+009F), carry no wildcard ``+``/``#``,
# and at most 65 535 bytes; names starting with ``$`` are the broker's (``$SYS``): a broker refuses our
# publishes there. A topic longer than 65 535 bytes makes paho's network thread raise and die without a
# word. We also refuse what works but is always a mistake: empty levels (leading, trailing or doubled
# ``/``) and white space; and we keep it to 256 bytes and 16 levels, far below the broker limits
# (mosquitto: 200 levels), so gateway, grid, area and kind always fit after it.
MAX_PREFIX_BYTES = 256
MAX_PREFIX_LEVELS = 16


def _control(ch: str) -> bool:
    return ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F


def topic_problem(topic: str) -> str | None:
    """Why ``topic`` cannot be a topic (or topic prefix) we publish to; None when it can."""
    if not topic:
        return "must not be empty"
    if "\x00" in topic:
        return f"contains a NUL character at position {topic.index(chr(0))} (MQTT forbids U+0000 in topics)"
    bad = next((ch for ch in topic if _control(ch)), None)
    if bad is not None:
        return f"contains the control character U+{ord(bad):04X} (brokers refuse it in topics)"
    if any(ch.isspace() for ch in topic):
        return "contains white space"
    if "+" in topic or "#" in topic:
        return "contains a wildcard (+ or #): a topic name we publish to cannot"
    if topic.startswith("$"):
        return (f"starts with '$': topics beginning with $ (like $SYS) belong to the broker, which refuses "
                f"our messages there ({topic.split('/')[0]!r})")
    if topic.startswith("/") or topic.endswith("/") or "//" in topic:
        return "has an empty level (a leading, trailing or doubled '/')"
    size = len(topic.encode("utf-8"))
    if size > MAX_PREFIX_BYTES:
        return (f"is {size} bytes long; at most {MAX_PREFIX_BYTES} (MQTT topics end at 65 535 bytes and a "
                "longer topic kills paho's network thread without an error)")
    if topic.count("/") + 1 > MAX_PREFIX_LEVELS:
        return f"has {topic.count('/') + 1} levels; at most {MAX_PREFIX_LEVELS}"
    return None
