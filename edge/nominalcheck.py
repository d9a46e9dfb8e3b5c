"""Does an area's configured low-voltage system fit its readings? (``transformer.lv_system``)

Voltage quality is judged against the phase value of ``lv_system`` (220 V for China's 380/220). An area
on a 400/230 system configured with the default reads about 5 % high all the time and raises
``high_voltage`` everywhere; one on 380/220 configured as 400/230 hides real low voltage. The median of
the live phase voltages (above half the nominal) tells: more than ``TOLERANCE`` away from the nominal is
reported by ``meterwatch check-config --readings`` and by ``meterwatch replay``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from detect.quantities import QUANTITY_CODE

__all__ = ["MAX_SAMPLES", "TOLERANCE", "VOLTAGE_CODES", "VoltageSample", "nominal_warning"]

TOLERANCE = 0.05
MAX_SAMPLES = 200_000
VOLTAGE_CODES = np.array([QUANTITY_CODE[q] for q in ("u_a", "u_b", "u_c")], np.int16)


class VoltageSample:
    """Phase voltages of an area's readings, the first ``MAX_SAMPLES`` kept."""

    def __init__(self) -> None:
        self.parts: list[npt.NDArray[np.float64]] = []
        self.n = 0

    def add(self, quantity: npt.NDArray[np.int16], value: npt.NDArray[np.float64]) -> None:
        if self.n >= MAX_SAMPLES:
            return
        v = value[np.isin(quantity, VOLTAGE_CODES)]
        v = v[np.isfinite(v)][: MAX_SAMPLES - self.n]
        self.parts.append(v)
        self.n += len(v)

    def values(self) -> npt.NDArray[np.float64]:
        return np.concatenate(self.parts) if self.parts else np.zeros(0)


def nominal_warning(area_id: str, nominal_v: float, volts: npt.NDArray[np.float64]) -> str | None:
    """A warning when the median live phase voltage is more than ``TOLERANCE`` off ``nominal_v``."""
    live = volts[volts > 0.5 * nominal_v]
    if len(live) < 10:
        return None
    median = float(np.median(live))
    off = median / nominal_v - 1.0
    if abs(off) <= TOLERANCE:
        return None
    return (f"area {area_id}: the readings' median phase voltage is {median:.1f} V, {off * 100:+.1f} % from the "
            f"nominal {nominal_v:g} V voltage quality is judged against; is transformer.lv_system right "
            f"(380/220, 400/230, ...)?")
