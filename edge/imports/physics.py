"""Units and kinds of energy and power columns, decided against physics on a sample of the readings.

- **Kind.** A register only grows; interval consumption goes up and down. Pooled over the devices of a
  class (meters or master), the share of decreasing steps of the energy readings is ≤ 2 % for a register and
  ≥ 10 % for interval consumption; in between, or against what the header says (示值 / 电量), is ambiguous.
- **Unit.** Each candidate (Wh, kWh, MWh; W, kW, MW) is tried as a physical claim: a device's high draw (95th
  percentile of its rates) within 1.5 × its rating for 90 % of the devices (a meter: phases × nominal voltage ×
  100 A, 10 A secondary behind a CT; the master: the transformer's kVA); the class's mean draw between 0.2 %
  and 150 % of the transformer; the meters' energy between 0.5 and 2 × the master's; power consistent with the
  energy's rate. A stated unit is taken as is (a warning when physics disagrees); a unit from the header is
  checked; otherwise exactly one candidate must pass, or the import stops with the figures of each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from detect.area import KIND_THREE, Area
from detect.quantities import QUANTITIES, QUANTITY_CODE
from edge.imports.vocab import ENERGY, POWER

__all__ = ["Conversion", "PhysicsError", "Stated", "decide"]

NQ = len(QUANTITIES)
CLASSES = ("meters", "master")
_UNIT_NAMES = {"energy": {0.001: "Wh", 1.0: "kWh", 1000.0: "MWh"}, "power": {0.001: "W", 1.0: "kW", 1000.0: "MW"}}
_CANDIDATES = (0.001, 1.0, 1000.0)
_E = [QUANTITY_CODE[q] for q in ENERGY]
_P = [QUANTITY_CODE[q] for q in POWER]


class PhysicsError(ValueError):
    """A unit or kind cannot be told (or the data contradict the header); the message says how to state it."""


@dataclass
class Stated:
    """What the user stated (mapping or options) and what the headers say, per class and quantity."""

    units: dict[tuple[str, str], float] = field(default_factory=dict)    # (class, quantity) -> factor
    kinds: dict[tuple[str, str], str] = field(default_factory=dict)
    unit_hints: dict[str, tuple[float, str]] = field(default_factory=dict)
    kind_hints: dict[str, str] = field(default_factory=dict)
    interval_label: str = "end"
    ours: bool = False          # our own long format: its quantities carry our units by definition


@dataclass
class Conversion:
    """Per class (0 meters, 1 master) and quantity: a factor to our unit and whether values are interval
    consumption to be turned into a register (running sum per device, from 0 one cadence before the first)."""

    scale: npt.NDArray[np.float64]
    interval: npt.NDArray[np.bool_]
    cadence: npt.NDArray[np.float64]
    label_shift: bool = False
    decisions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    state: npt.NDArray[np.float64] | None = None

    @classmethod
    def identity(cls) -> Conversion:
        return cls(np.ones((2, NQ)), np.zeros((2, NQ), bool), np.zeros((2, NQ)))

    @property
    def active(self) -> bool:
        return bool(np.any(self.scale != 1.0) or np.any(self.interval))

    def apply(self, dev: np.ndarray, q: np.ndarray, val: np.ndarray, ts: np.ndarray, master: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if not self.active or dev.size == 0:
            return dev, q, val, ts
        cls = (dev == master).astype(np.intp)
        val = val * self.scale[cls, q]
        sel = self.interval[cls, q]
        if not sel.any():
            return dev, q, val, ts
        return _to_register(self, dev, q, val, ts, cls, sel, master)


def _to_register(conv: Conversion, dev: np.ndarray, q: np.ndarray, val: np.ndarray, ts: np.ndarray,
                 cls: np.ndarray, sel: np.ndarray, master: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if conv.state is None:
        conv.state = np.full((master + 1, NQ), np.nan)
    idx = np.flatnonzero(sel)
    d, qq, v = dev[idx], q[idx], val[idx]
    cad = conv.cadence[cls[idx], qq]
    t = ts[idx] + (cad if conv.label_shift else 0.0)
    order = np.lexsort((t, qq, d))
    d, qq, v, t, cad, idx = d[order], qq[order], v[order], t[order], cad[order], idx[order]
    key = d.astype(np.int64) * NQ + qq
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    base = conv.state[d[starts], qq[starts]]
    new = np.isnan(base)
    base = np.where(new, 0.0, base)
    run = np.cumsum(v)
    offset = np.repeat(run[starts] - v[starts] - base, np.diff(np.r_[starts, v.size]))
    reg = run - offset
    ends = np.r_[starts[1:], v.size] - 1
    conv.state[d[ends], qq[ends]] = reg[ends]
    val, ts = val.copy(), ts.copy()
    val[idx], ts[idx] = reg, t
    first = starts[new & (cad[starts] > 0)]
    if first.size == 0:
        return dev, q, val, ts
    return (np.r_[dev, d[first]].astype(dev.dtype), np.r_[q, qq[first]].astype(q.dtype),
            np.r_[val, np.zeros(first.size)], np.r_[ts, t[first] - cad[first]])


def _ratings(area: Area) -> npt.NDArray[np.float64]:
    """kW each device can draw as its registers count it (meters' CT secondary), master last."""
    phases = np.where(area.meter_kind == KIND_THREE, 3.0, 1.0)
    amps = np.where(area.meter_ct_ratio > 1.0, 10.0, 100.0)
    phase_v = area.lv_voltage_v / np.sqrt(3.0)
    return np.r_[phases * phase_v * amps / 1000.0, area.rated_kva]


@dataclass
class _Rates:
    """Per device of one class: high and mean draw (as if the unit were ours), and the cadence."""

    devices: npt.NDArray[np.int64]
    peak: npt.NDArray[np.float64]
    mean: npt.NDArray[np.float64]
    cadence: float


@dataclass
class _Sorted:
    """Readings of one class and quantity sorted by (device, ts), with the consecutive pairs of a device."""

    dev: np.ndarray
    ts: np.ndarray
    val: np.ndarray
    pair: np.ndarray            # index i of each pair (i, i + 1) of the same device

    @classmethod
    def of(cls, dev: np.ndarray, ts: np.ndarray, val: np.ndarray) -> _Sorted:
        order = np.lexsort((ts, dev))
        d, t, v = dev[order], ts[order], val[order]
        return cls(d, t, v, np.flatnonzero(d[1:] == d[:-1]))


def _group_quantile(groups: np.ndarray, values: np.ndarray, frac: float) -> tuple[np.ndarray, np.ndarray]:
    """(group ids, the ``frac`` quantile of each group's values, nearest rank)."""
    order = np.lexsort((values, groups))
    g, v = groups[order], values[order]
    ids, start, count = np.unique(g, return_index=True, return_counts=True)
    return ids, v[start + np.floor(frac * (count - 1)).astype(np.int64)]


def _typical(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mask without the largest ``n // 50`` values of each group: the glitches a meter sends now and then
    with a valid checksum (a register jumping 800 000 kWh and back, 50 000 kW once). The plausibility
    checks reject those reading by reading; the unit of a whole export is decided on the typical draw."""
    order = np.lexsort((values, groups))
    _, start, count = np.unique(groups[order], return_index=True, return_counts=True)
    rank = np.arange(order.size) - np.repeat(start, count)
    keep = np.empty(order.size, bool)
    keep[order] = rank < np.repeat(count - count // 50, count)
    return keep


def _decreasing_share(s: _Sorted) -> tuple[float, int]:
    dv = s.val[s.pair + 1] - s.val[s.pair]
    tol = 1e-9 * np.maximum(1.0, np.abs(s.val[s.pair + 1]))
    moved = int(np.count_nonzero(np.abs(dv) > tol))
    dec = int(np.count_nonzero(dv < -tol))
    return (dec / moved if moved else float("nan")), moved


def _rates(s: _Sorted, interval: bool) -> _Rates | None:
    i = s.pair[s.ts[s.pair + 1] > s.ts[s.pair]]
    if i.size == 0:
        return None
    pd, dt = s.dev[i], s.ts[i + 1] - s.ts[i]
    devs, cad = _group_quantile(pd, dt, 0.5)
    if interval:                                    # kWh per interval -> kW
        known = np.isin(s.dev, devs)
        k = np.searchsorted(devs, s.dev[known])
        r = s.val[known] * 3600.0 / cad[k]
        t = _typical(k, r)
        mean = (np.bincount(k[t], weights=r[t], minlength=devs.size)
                / np.maximum(np.bincount(k[t], minlength=devs.size), 1))
        _, peak = _group_quantile(s.dev[known], r, 0.95)
    else:
        rise = np.maximum(s.val[i + 1] - s.val[i], 0.0)
        k = np.searchsorted(devs, pd)
        t = _typical(k, rise / dt)
        mean = (np.bincount(k[t], weights=rise[t], minlength=devs.size) * 3600.0
                / np.bincount(k[t], weights=dt[t], minlength=devs.size))
        _, peak = _group_quantile(pd, rise * 3600.0 / dt, 0.95)
    return _Rates(devs.astype(np.int64), peak, mean, float(np.median(cad)))


def _who(cname: str) -> str:
    return "meters'" if cname == "meters" else "master's"


def _stated(table: dict[tuple[str, str], object], cname: str, q: str, fam: str) -> object | None:
    for key in ((cname, q), ("", q), (cname, fam), ("", fam)):
        if key in table:
            return table[key]
    return None


def _how(key: str) -> str:
    return f'[kinds] "{key}" = "register" or "interval" in a mapping file (or --kind {key}=...)'


def _kind(cname: str, q: str, groups: _Sorted, stated: Stated,
          fallback: str | None) -> tuple[str, str]:
    """(register | interval, why) of one energy quantity of one class."""
    said = _stated(stated.kinds, cname, q, "energy")  # type: ignore[arg-type]
    if said is not None:
        return str(said), "stated"
    share, moved = _decreasing_share(groups)
    hint = stated.kind_hints.get(q)
    if moved < 5:
        kind = hint or fallback or "register"
        return kind, f"{'header' if hint else 'assumed'}: too few changing readings to check"
    found = "register" if share <= 0.02 else "interval" if share >= 0.10 else None
    what = f"{share:.0%} of {moved} steps decrease"
    if found is None:
        raise PhysicsError(f"{_who(cname)} {q}: {what}: neither a register (never decreases) nor interval consumption "
                           f"(goes up and down). State it: {_how(f'{cname}.{q}')}")
    if hint and hint != found:
        raise PhysicsError(f"{_who(cname)} {q}: the header says {hint} but {what}, as {found} values do. State it: "
                           f"{_how(f'{cname}.{q}')}")
    return found, f"detected: {what}"


def _figures(rates: _Rates, ratings: np.ndarray, area: Area, s: float, cls: int) -> tuple[float, float]:
    """(90th percentile of high draw / rating, class mean draw / transformer kVA) with factor s."""
    util = float(np.percentile(rates.peak / ratings[rates.devices], 90)) * s
    total = float(rates.mean.sum()) * s
    if cls == 0:
        total *= area.n_meters / max(rates.devices.size, 1)
    return util, total / area.rated_kva


def _plausible(util: float, load: float, ratio: float | None) -> bool:
    return util <= 1.5 and 0.002 <= load <= 1.5 and (ratio is None or 0.5 <= ratio <= 2.0)


def _describe(fam: str, s: float, util: float, load: float, ratio: float | None) -> str:
    text = (f"as {_UNIT_NAMES[fam][s]}: high draw {util:.3g} × rating (90th percentile), "
            f"mean {load:.3g} × the transformer")
    return text + (f", {ratio:.3g} × the master's energy" if ratio is not None else "")


def _unit(cname: str, fam: str, q: str, rates: _Rates | None, ratings: np.ndarray, area: Area, stated: Stated,
          master_mean: float | None) -> tuple[float, str, str | None]:
    """(factor, why, warning) for one family of one class; ``PhysicsError`` when it cannot be told."""
    cls = CLASSES.index(cname)
    said = _stated(stated.units, cname, q, fam)  # type: ignore[arg-type]
    hint = stated.unit_hints.get(q)
    key = f"{cname}.{fam}"
    how = f'[units] "{key}" = "..." in a mapping file (or --unit {key}=...)'
    if rates is not None and not (np.any(rates.peak > 0) and rates.mean.sum() > 0):
        rates = None                            # all zero: no evidence of the unit
    if rates is None:
        if said is not None:
            return float(said), "stated", None  # type: ignore[arg-type]
        if hint is not None:
            return hint[0], "header", None
        if fam == "power" or stated.ours:
            return 1.0, "our unit, not checked: too few readings", None
        raise PhysicsError(f"{_who(cname)} {fam} ({q}): cannot tell {'/'.join(_UNIT_NAMES[fam].values())}: no device "
                           f"has two readings in the head of the file. State it: {how}")
    found = {}
    for s in _CANDIDATES:
        util, load = _figures(rates, ratings, area, s, cls)
        ratio = (float(rates.mean.sum()) * s * area.n_meters / max(rates.devices.size, 1) / master_mean
                 if master_mean and cls == 0 and fam == "energy" else None)
        found[s] = (_plausible(util, load, ratio), _describe(fam, s, util, load, ratio))
    if said is not None:
        s = float(said)  # type: ignore[arg-type]
        warn = None if found[s][0] else f"{_who(cname)} {fam} stated {_UNIT_NAMES[fam][s]}, yet {found[s][1]}"
        return s, "stated", warn
    ok = [s for s, (good, _) in found.items() if good]
    figures = "; ".join(text for _, text in found.values())
    if hint is not None:
        if hint[0] in ok:
            return hint[0], f"header {hint[1]}, checked", None
        raise PhysicsError(f"{_who(cname)} {q}: the header says {hint[1]} but {found[hint[0]][1]}. Figures: {figures}. "
                           f"State it: {how}")
    if len(ok) != 1:
        raise PhysicsError(f"{_who(cname)} {fam} ({q}): cannot tell the unit ({'none' if not ok else 'several'} of "
                           f"{'/'.join(_UNIT_NAMES[fam].values())} fit). Figures: {figures}. State it: {how}")
    return ok[0], "detected: " + found[ok[0]][1], None


def _power_ratio(prates: _Rates, erates: _Rates | None, escale: float) -> float | None:
    if erates is None:
        return None
    common, pi, ei = np.intersect1d(prates.devices, erates.devices, return_indices=True)
    good = erates.mean[ei] > 0
    if common.size == 0 or not good.any():
        return None
    return float(np.median(prates.mean[pi][good] / (erates.mean[ei][good] * escale)))


def decide(dev: np.ndarray, q: np.ndarray, val: np.ndarray, ts: np.ndarray, area: Area, stated: Stated) -> Conversion:
    """Units and kinds of the energy and power readings in a sample (accepted readings, our codes)."""
    conv = Conversion.identity()
    conv.label_shift = stated.interval_label == "start"
    ratings = _ratings(area)
    master_mean: float | None = None
    for cls in (1, 0):                          # master first: the meters' energy is checked against it
        cname = CLASSES[cls]
        in_cls = (dev == area.master_index) if cls == 1 else (dev < area.master_index)
        erates, escale = _energy(conv, cname, cls, in_cls, dev, q, val, ts, area, stated, ratings, master_mean)
        if cls == 1 and erates is not None:
            master_mean = float(erates.mean.sum()) * escale
        _power(conv, cname, cls, in_cls, dev, q, val, ts, area, stated, ratings, erates, escale)
    return conv


def _energy(conv: Conversion, cname: str, cls: int, in_cls: np.ndarray, dev: np.ndarray, q: np.ndarray,
            val: np.ndarray, ts: np.ndarray, area: Area, stated: Stated, ratings: np.ndarray,
            master_mean: float | None) -> tuple[_Rates | None, float]:
    present = [c for c in _E if np.any(in_cls & (q == c))]
    if not present:
        return None, 1.0
    groups = {c: _Sorted.of(dev[in_cls & (q == c)], ts[in_cls & (q == c)], val[in_cls & (q == c)]) for c in present}
    kinds: dict[int, str] = {}
    fallback = None
    for c in present:
        kind, why = _kind(cname, QUANTITIES[c], groups[c], stated, fallback)
        fallback = fallback or (kind if why.startswith(("detected", "stated")) else None)
        kinds[c] = kind
        conv.interval[cls, c] = kind == "interval"
        conv.decisions.append(f"{_who(cname)} {QUANTITIES[c]}: {kind} ({why})")
    lead = present[0]
    rates = _rates(groups[lead], kinds[lead] == "interval")
    for c in present:
        r = _rates(groups[c], kinds[c] == "interval")
        conv.cadence[cls, c] = r.cadence if r is not None else 0.0
    s, why, warn = _unit(cname, "energy", QUANTITIES[lead], rates, ratings, area, stated, master_mean)
    conv.scale[cls, _E] = s
    conv.decisions.append(f"{_who(cname)} energy: {_UNIT_NAMES['energy'][s]} ({why})")
    if warn:
        conv.warnings.append(warn)
    return rates, s


def _power(conv: Conversion, cname: str, cls: int, in_cls: np.ndarray, dev: np.ndarray, q: np.ndarray,
           val: np.ndarray, ts: np.ndarray, area: Area, stated: Stated, ratings: np.ndarray,
           erates: _Rates | None, escale: float) -> None:
    pcode = QUANTITY_CODE["p"]
    sel = in_cls & (q == pcode)
    if not sel.any():
        return
    devs, peak = _group_quantile(dev[sel], np.abs(val[sel]), 0.95)
    k = np.searchsorted(devs, dev[sel])
    t = _typical(k, np.abs(val[sel]))
    mean = np.bincount(k[t], weights=np.abs(val[sel])[t], minlength=devs.size) / np.bincount(k[t], minlength=devs.size)
    prates = _Rates(devs.astype(np.int64), peak, mean, 0.0)
    ratio = _power_ratio(prates, erates, escale)
    said = _stated(stated.units, cname, "p", "power")  # type: ignore[arg-type]
    if said is None and "p" not in stated.unit_hints and ratio is not None:
        s = min(_CANDIDATES, key=lambda c: abs(np.log(ratio * c)))
        if not 0.33 <= ratio * s <= 3.0:
            raise PhysicsError(f"{_who(cname)} power (p): its mean is {ratio:.3g} × the energy's rate in kW; no unit "
                               f"W/kW/MW makes them agree. State it: [units] \"{cname}.power\" = \"...\" "
                               f"(or --unit {cname}.power=...)")
        why = f"detected: mean power {ratio * s:.2f} × the energy's rate"
    else:
        s, why, warn = _unit(cname, "power", "p", prates, ratings, area, stated, None)
        if warn:
            conv.warnings.append(warn)
    conv.scale[cls, _P] = s
    conv.decisions.append(f"{_who(cname)} power: {_UNIT_NAMES['power'][s]} ({why})")
