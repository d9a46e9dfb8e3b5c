"""What travels: an ``Outgoing`` message (the edge hands it to its outbox) and the message ids.

The outbox owns ``msg_id`` and ``topic_seq``: producers (serialisers, health) build payloads without
them and the outbox ``stamp``s each payload when it stores it durably, in the same transaction that
advances its sequences, so an id is never reused and a topic's sequence never skips on the gateway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wire.kinds import KINDS

__all__ = ["Outgoing", "format_msg_id", "parse_msg_id", "stamp"]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to publish: its topic, payload kind and payload (without ``msg_id``/``topic_seq``)."""

    topic: str
    kind: str
    payload: dict[str, Any]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown payload kind {self.kind!r} for topic {self.topic!r}; "
                             f"known: {', '.join(KINDS)}")

    @property
    def retain(self) -> bool:
        """Retained kinds (``alerts_active``, ``status``) are state: the broker keeps the latest."""
        return KINDS[self.kind].retained

    @property
    def stream(self) -> bool:
        return KINDS[self.kind].stream


def format_msg_id(gateway: str, seq: int) -> str:
    return f"{gateway}:{seq}"


def parse_msg_id(msg_id: str) -> tuple[str, int]:
    """``"gw-0042:1732350000123"`` -> ``("gw-0042", 1732350000123)``; ``ValueError`` otherwise."""
    gateway, sep, seq = msg_id.rpartition(":")
    if not sep or not gateway or not seq.isdigit():
        raise ValueError(f"msg_id {msg_id!r} is not <gateway>:<sequence>")
    return gateway, int(seq)


def stamp(payload: dict[str, Any], *, msg_id: str, topic_seq: int | None) -> dict[str, Any]:
    """A copy of ``payload`` with the outbox's ids set (``topic_seq`` only for stream kinds)."""
    out = {**payload, "msg_id": msg_id}
    if topic_seq is not None:
        out["topic_seq"] = topic_seq
    return out
