"""The exception hierarchy of meterwatch. Exceptions carry the data that explains them.

``ConfigError``/``ConfigIssue`` come from ``tomlconf`` (shared with the collector, which must not import
the edge) and are re-exported here. A ``ConfigError`` is not a ``MeterwatchError``: a command that can
meet both catches both.
"""

from __future__ import annotations

from tomlconf import ConfigError, ConfigIssue

__all__ = [
    "ConfigError",
    "ConfigIssue",
    "DeviceError",
    "MeterwatchError",
    "PortError",
    "ProtocolError",
    "TransportError",
]


class MeterwatchError(Exception):
    """Base of every error meterwatch raises on purpose."""


class ProtocolError(MeterwatchError):
    """A frame or reply that violates its protocol (bad checksum, length, BCD, unexpected reply)."""


class TransportError(MeterwatchError):
    """The port or connection failed (cannot open, closed under us, no reply before the deadline)."""


class PortError(TransportError):
    """The port itself is missing or failed (cannot be opened, hung up, connection lost or refused):
    every device behind it is unreachable until the port is reopened. Not a device's silence."""


class DeviceError(MeterwatchError):
    """A device answered, but not with what was asked (exception reply, unsupported item)."""

    def __init__(self, device: str, reason: str) -> None:
        self.device = device
        self.reason = reason
        super().__init__(f"{device}: {reason}")
