"""A fixed-value ``ValueSource`` for protocol tests and commissioning: values do not change with time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["StaticSource"]


class StaticSource:
    """``{device: {quantity: value}}``; a device not in the mapping is absent (``LookupError``: silent).

    The mapping is held by reference, so a test can change a value or remove a device while a simulated
    device is serving it.
    """

    def __init__(self, values: Mapping[str, Mapping[str, float]]) -> None:
        self.devices: dict[str, dict[str, float]] = {d: dict(v) for d, v in values.items()}

    def values(self, device: str, quantities: Sequence[str], now: float) -> dict[str, float]:
        try:
            have = self.devices[device]
        except KeyError:
            raise LookupError(f"no device {device!r}") from None
        return {q: have[q] for q in quantities if q in have}
