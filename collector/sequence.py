"""Per gateway and topic, the ``topic_seq`` sequence: lost messages (gaps), duplicates, late arrivals.

Every stream topic numbers its messages 1, 2, 3 … in the gateway's outbox (``wire.message``). The
collector remembers, per topic, the highest number seen, the ``msg_id`` sequence that carried it and
which of the last ``WINDOW`` numbers arrived:

- a number above the highest is **new**; a jump of more than one is a **gap** (messages lost by the
  broker — a full queue, an expired session — or by the outbox's drop policy): reported at once;
- a number at or below it that already arrived is a **duplicate** (at-least-once delivery, or the
  outbox resending after a crash): acknowledged and not written again, so an old value can never
  overwrite a newer one of the same point;
- one that did not arrive yet is **late**: it fills (part of) a reported gap and is written;
- a lower number with a *higher* ``msg_id`` sequence is a **restart** of the stream: the gateway lost
  its state directory and a new outbox counts from 1 again (its msg_ids start at the wall clock, above
  every old one). Not a gap.

The state can be saved to a file and loaded at start, so a gap that straddles a collector restart is
still seen. With several collectors on a shared subscription each sees only part of every topic
unless the broker routes a gateway to one member (EMQX ``hash_clientid``/``hash_topic``); tracking is
then off by default (``[mqtt] gap_tracking``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

__all__ = ["WINDOW", "Gap", "Sequences", "Verdict"]

WINDOW = 1024
_MASK = (1 << WINDOW) - 1


class Verdict(Enum):
    NEW = "new"
    DUPLICATE = "duplicate"
    LATE = "late"
    RESTART = "restart"


@dataclass(frozen=True, slots=True)
class Gap:
    """``first``..``last`` (``topic_seq``) of ``topic`` never arrived before the message at ``ts``."""

    gateway: str
    topic: str
    kind: str
    first: int
    last: int
    ts: str

    @property
    def missing(self) -> int:
        return self.last - self.first + 1


class _Stream:
    __slots__ = ("high", "msg_seq", "seen")

    def __init__(self, high: int, msg_seq: int, seen: int = 1) -> None:
        self.high, self.msg_seq, self.seen = high, msg_seq, seen


class Sequences:
    """Not thread-safe: the collector's decoding thread owns it."""

    def __init__(self) -> None:
        self._streams: dict[str, _Stream] = {}
        self.counters = {"gaps": 0, "missing": 0, "duplicates": 0, "late": 0, "restarts": 0}

    def __len__(self) -> int:
        return len(self._streams)

    def observe(self, gateway: str, topic: str, kind: str, topic_seq: int, msg_seq: int,
                ts: str) -> tuple[Verdict, Gap | None]:
        st = self._streams.get(topic)
        if st is None:
            self._streams[topic] = _Stream(topic_seq, msg_seq)
            return Verdict.NEW, None
        if topic_seq > st.high:
            jump = topic_seq - st.high
            gap = Gap(gateway, topic, kind, st.high + 1, topic_seq - 1, ts) if jump > 1 else None
            st.seen = ((st.seen << jump) | 1) & _MASK if jump < WINDOW else 1
            st.high, st.msg_seq = topic_seq, msg_seq
            if gap is not None:
                self.counters["gaps"] += 1
                self.counters["missing"] += gap.missing
            return Verdict.NEW, gap
        if msg_seq > st.msg_seq:
            self._streams[topic] = _Stream(topic_seq, msg_seq)
            self.counters["restarts"] += 1
            return Verdict.RESTART, None
        back = st.high - topic_seq
        if back < WINDOW and st.seen >> back & 1:
            self.counters["duplicates"] += 1
            return Verdict.DUPLICATE, None
        if back < WINDOW:
            st.seen |= 1 << back
        self.counters["late"] += 1
        return Verdict.LATE, None

    # -- persistence: a JSON object {topic: [high, msg_seq, seen as hex]}, written atomically ---------
    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({t: [s.high, s.msg_seq, format(s.seen, "x")] for t, s in self._streams.items()}, fh,
                      separators=(",", ":"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def load(self, path: Path) -> int:
        """Streams read from ``path`` (0 when it does not exist); raises ``ValueError`` naming the file
        when it is not what ``save`` wrote."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            streams = {t: _Stream(int(h), int(m), int(seen, 16) & _MASK) for t, (h, m, seen) in data.items()}
        except FileNotFoundError:
            return 0
        except (ValueError, TypeError, AttributeError) as e:
            raise ValueError(f"{path}: not a sequence state file ({type(e).__name__}: {e})") from None
        self._streams.update(streams)
        return len(streams)
