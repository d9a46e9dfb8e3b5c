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

__all__ = ["DEFAULT_PREFIX", "Topic", "TopicError", "area_topic", "build", "filters", "gateway_topic", "parse"]

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
