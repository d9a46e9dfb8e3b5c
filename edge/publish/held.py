"""Messages held in memory while the disk refuses them, bounded, with the outbox's drop policy.

Items stay in submission order and are stored together, in one transaction, once the disk takes them
again, with the latest engine state of each key (older held states are superseded: the one stored
transaction explains every held message). The bound is what one transaction may add to the WAL
(half the reserve, ``edge.publish.budget``), so the catch-up write cannot break the disk budget.
Over the bound:
1. the oldest held summaries are dropped (counted ``dropped_summaries``);
2. only when alerts alone exceed it, the oldest held alerts (``dropped_alerts``).
A retained item (``alerts/active``) supersedes a held one of the same topic (``superseded``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from edge.publish.outbox import ALERT_CLASS, Encoded

__all__ = ["HeldMessages"]


class HeldMessages:
    """Held items and state; ``count(counter, n)`` is told about every drop."""

    def __init__(self, max_bytes: int, count: Callable[[str, int], None]) -> None:
        self.max_bytes = max_bytes
        self._count = count
        self.items: list[Encoded] = []
        self.state: dict[str, bytes] = {}
        self.bytes = 0

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items or self.state)

    def clear(self) -> None:
        self.items = []
        self.state = {}
        self.bytes = 0

    def add(self, items: Sequence[Encoded], state: Mapping[str, bytes]) -> None:
        self.state.update(state)
        retained = {e.topic for e in items if e.retain}
        if retained:
            self._drop(lambda e: e.retain and e.topic in retained, "superseded", limit=None)
        self.items.extend(items)
        self.bytes += sum(e.size for e in items)
        for is_class, counter in ((lambda e: e.priority > ALERT_CLASS, "dropped_summaries"),
                                  (lambda e: e.priority == ALERT_CLASS, "dropped_alerts")):
            while self.bytes > self.max_bytes and self._drop(is_class, counter, limit=1):
                pass

    def _drop(self, match: Callable[[Encoded], bool], counter: str, *, limit: int | None) -> int:
        """Drop up to ``limit`` (None: all) matching items, oldest first; returns how many."""
        kept: list[Encoded] = []
        dropped = 0
        for e in self.items:
            if match(e) and (limit is None or dropped < limit):
                dropped += 1
                self.bytes -= e.size
            else:
                kept.append(e)
        if dropped:
            self.items = kept
            self._count(counter, dropped)
        return dropped
