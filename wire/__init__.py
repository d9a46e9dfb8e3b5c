"""The wire format shared by the edge and the collector (and nothing else is shared between them).

- ``wire.kinds``: every payload kind, its schema version, topic suffix, retention and documented fields;
- ``wire.topics``: the topic layout (``P/{gateway}/{grid}/{area}/...``, ``P/{gateway}/status``), build
  and parse;
- ``wire.message``: ``Outgoing`` (what the edge publishes), ``msg_id`` format, ``stamp`` (the outbox
  sets ``msg_id`` and ``topic_seq``);
- ``wire.schemas``: JSON Schemas generated from the kinds (``schemas/*.json``) and validation;
- ``wire.timefmt``: RFC 3339 timestamps, written and parsed.

The edge imports it to publish, the collector to read; ``wire`` imports neither.
"""

from wire.kinds import KINDS
from wire.message import Outgoing, format_msg_id, parse_msg_id, stamp
from wire.spec import Kind
from wire.timefmt import rfc3339
from wire.topics import DEFAULT_PREFIX, Topic, TopicError

__all__ = ["DEFAULT_PREFIX", "KINDS", "Kind", "Outgoing", "Topic", "TopicError", "format_msg_id", "parse_msg_id",
           "rfc3339", "stamp"]
