"""Plausibility at the edge: every reading is checked against the physics of its device before it
reaches detection (``edge.pipeline.AreaRunner`` calls it for the daemon and for ``meterwatch replay``
alike).

    plaus = Plausibility(area, Limits.build(area, cfg, meter_i_max_a=...))
    keep = plaus.check(device, quantity, value, ts)       # columnar, like ``detect.ReadingBatch``
    alerts = plaus.take_alerts()                          # implausible_reading raised / cleared

A rejected value never reaches the engine (so never appears as a measurement in any summary); it is
counted per device and reason (``rejected_by_device``, published in ``health``), its first occurrence
per device and reason is logged with the value and the limit, and a device whose rejections persist
gets an ``implausible_reading`` alert (``edge.plausibility.alerts``). Ranges: ``limits``; energy steps,
registers running backwards and replaced meters: ``registers``.
"""

from __future__ import annotations

import json
import logging
import zlib
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.alarms import Alert
from detect.area import Area
from detect.quantities import QUANTITIES, QUANTITY_CODE, UNITS
from edge.plausibility.alerts import KIND, DeviceAlerts
from edge.plausibility.limits import REASONS, Limits, limits_for
from edge.plausibility.registers import Rebaseline, RegisterTracker

__all__ = ["KIND", "REASONS", "Limits", "Plausibility", "limits_for"]

log = logging.getLogger(__name__)

_E_FWD, _E_REV = QUANTITY_CODE["e_fwd"], QUANTITY_CODE["e_rev"]
_STATE_VERSION = 1


class Plausibility:
    """Checks, counters, register baselines and device alerts of one area."""

    def __init__(self, area: Area, limits: Limits | None = None) -> None:
        self.area = area
        self.limits = limits or Limits.build(area)
        self.enabled = self.limits.cfg.enabled
        self.n_devices = area.n_meters + 1
        self.names = [*area.meter_ids, area.master_id]
        self.registers = RegisterTracker(self.limits, self.n_devices)
        self.alerts = DeviceAlerts(area, self.limits.cfg)
        self.counts = np.zeros((self.n_devices, len(REASONS)), np.int64)
        self.rejected_total = 0

    def check(self, dev: npt.NDArray[np.integer[Any]], qty: npt.NDArray[np.integer[Any]],
              val: npt.NDArray[np.float64], ts: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """The readings to keep (True) of a columnar batch; updates counters, baselines and alerts."""
        if not self.enabled or not len(dev):
            return np.ones(len(dev), np.bool_)
        lim = self.limits
        reason = np.full(len(dev), -1, np.int8)
        with np.errstate(invalid="ignore"):
            low = val < lim.lo[dev, qty]
            high = val > lim.hi[dev, qty]
        reason[low] = lim.reason_lo[qty[low]]
        reason[high] = lim.reason_hi[qty[high]]
        energy = ((qty == _E_FWD) | (qty == _E_REV)) & (reason < 0)
        events: list[Rebaseline] = []
        if energy.any():
            codes, events = self.registers.check(dev[energy], (qty[energy] == _E_REV).astype(np.intp),
                                                 val[energy], ts[energy])
            reason[energy] = codes
        bad = reason >= 0
        if bad.any():
            self._count(dev[bad], qty[bad], val[bad], reason[bad])
        self.alerts.observe(dev, qty, ts, reason, events)
        for ev in events:
            log.warning("area %s: %s %s re-baselined from %.2f to %.2f kWh after %d consistent readings off the "
                        "old baseline (meter replaced or register reset?)", self.area.id, self.names[ev.device],
                        ("e_fwd", "e_rev")[ev.register], ev.old, ev.new, self.limits.cfg.rebaseline_after)
        return ~bad

    def _count(self, dev: npt.NDArray[np.integer[Any]], qty: npt.NDArray[np.integer[Any]], val: npt.NDArray[np.float64],
               reason: npt.NDArray[np.int8]) -> None:
        first = self.counts[dev, reason] == 0
        np.add.at(self.counts, (dev, reason), 1)
        self.rejected_total += len(dev)
        for i in np.flatnonzero(first).tolist():
            d, q = int(dev[i]), int(qty[i])
            name = QUANTITIES[q]
            unit = UNITS.get(name, "")
            limit = (f"allowed {self.limits.lo[d, q]:g} … {self.limits.hi[d, q]:g} {unit}"
                     if REASONS[reason[i]] not in ("energy_step", "energy_backwards") else
                     f"baseline {self.registers.base_v[2 * d + (q == _E_REV)]:.2f} kWh")
            log.warning("area %s: %s %s = %g %s rejected as implausible (%s; %s); further ones are counted in "
                        "health", self.area.id, self.names[d], name, float(val[i]), unit, REASONS[reason[i]], limit)

    def take_alerts(self) -> list[Alert]:
        return self.alerts.take()

    def active_alerts(self) -> list[Alert]:
        return self.alerts.active()

    def rejected_by_device(self) -> dict[str, dict[str, int]]:
        """``{device: {reason: count}}`` since start, devices with rejections only."""
        out: dict[str, dict[str, int]] = {}
        for d, r in zip(*np.nonzero(self.counts), strict=True):
            out.setdefault(self.names[int(d)], {})[REASONS[int(r)]] = int(self.counts[d, r])
        return out

    def snapshot(self) -> bytes:
        state = {"version": _STATE_VERSION, "devices": self.names, "registers": self.registers.arrays(),
                 "alerts": self.alerts.to_json()}
        return zlib.compress(json.dumps(state, allow_nan=True).encode(), 1)

    def restore(self, blob: bytes) -> None:
        """Load a ``snapshot()``; ``ValueError`` when it does not fit this area (nothing is changed then)."""
        state: dict[str, Any] = json.loads(zlib.decompress(blob))
        if state.get("version") != _STATE_VERSION or state.get("devices") != self.names:
            raise ValueError(f"plausibility state of another area layout ({len(state.get('devices', ()))} devices)")
        fresh_reg, fresh_alerts = RegisterTracker(self.limits, self.n_devices), DeviceAlerts(self.area, self.limits.cfg)
        fresh_reg.load(state["registers"])
        fresh_alerts.load_json(state["alerts"])
        self.registers, self.alerts = fresh_reg, fresh_alerts
