"""The exception hierarchy of meterwatch. Exceptions carry the data that explains them."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ConfigError",
    "ConfigIssue",
    "DeviceError",
    "MeterwatchError",
    "ProtocolError",
    "TransportError",
]


class MeterwatchError(Exception):
    """Base of every error meterwatch raises on purpose."""


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a configuration: where it is and what is wrong."""

    file: str
    line: int | None          # 1-based line in ``file``; None when the problem has no single line
    key: str                  # dotted key path, e.g. "bus[1].baud" or "area[A01].meters[0301].phase"
    message: str
    device: str | None = None  # 'bus "rs485-1"', 'meter "0301"' ... where there is one

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        dev = f" {self.device}:" if self.device else ""
        return f"{where}: {self.key}:{dev} {self.message}"


class ConfigError(MeterwatchError):
    """A configuration was rejected. ``issues`` lists every problem found, not only the first."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))

    def report(self, file: str, note: str = "") -> str:
        """What a command prints: ``FILE: N error(s)[; note]`` and every issue indented below."""
        head = f"{file}: {len(self.issues)} error(s)" + (f"; {note}" if note else "")
        return "\n".join([head, *(f"  {issue}" for issue in self.issues)])


class ProtocolError(MeterwatchError):
    """A frame or reply that violates its protocol (bad checksum, length, BCD, unexpected reply)."""


class TransportError(MeterwatchError):
    """The port or connection failed (cannot open, closed under us, no reply before the deadline)."""


class DeviceError(MeterwatchError):
    """A device answered, but not with what was asked (exception reply, unsupported item)."""

    def __init__(self, device: str, reason: str) -> None:
        self.device = device
        self.reason = reason
        super().__init__(f"{device}: {reason}")
