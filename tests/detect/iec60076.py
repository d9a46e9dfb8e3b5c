"""An independent implementation of the transformer thermal models, for tests only.

Written from the standards' differential equations, not from ``detect/``: classic 4th-order Runge-Kutta
with a fixed small step, load factor and ambient linear between their samples, loss of life by the
trapezoidal rule on the step grid. Its constants are restated here from the standards' tables, so a
wrong constant in ``detect.cooling`` shows up as a difference too.

IEC 60076-7 (oil-immersed), clause 8.2 differential equations::

    k11·τo · dθo/dt  = [(1 + K²R)/(1 + R)]^x · Δθor − (θo − θa)
    k22·τw · dΔθ1/dt = k21·Δθhr·K^y − Δθ1
    (τo/k22) · dΔθ2/dt = (k21 − 1)·Δθhr·K^y − Δθ2
    θh = θo + Δθ1 − Δθ2

IEC 60076-12 (dry type): τw · dΔθh/dt = Δθhr·K^q − Δθh, θh = θa + Δθh.
Ageing: V = 2^((θh − 98)/6) for normal paper; V = 2^((θh − θr)/6) at a dry type's rated hot-spot θr.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Oil:
    dtor: float      # Δθor K
    dthr: float      # Δθhr (H·gr) K
    tau_o: float     # min
    tau_w: float     # min
    r: float
    x: float
    y: float
    k11: float
    k21: float
    k22: float


@dataclass(frozen=True)
class Dry:
    dthr: float      # hot-spot rise over ambient at rated load, K
    tau_w: float     # min
    q: float
    rated_c: float   # rated hot-spot: ageing rate 1


# IEC 60076-7 Table 5 (and the Δθor / H·gr / R of the same columns)
ONAN = Oil(dtor=55, dthr=23, tau_o=180, tau_w=4, r=5, x=0.8, y=1.6, k11=1.0, k21=1.0, k22=2.0)
ONAF = Oil(dtor=52, dthr=26, tau_o=150, tau_w=7, r=6, x=0.8, y=1.3, k11=0.5, k21=2.0, k22=2.0)
# IEC 60076-12: class 155 (F), rated hot-spot 145 °C at 20 °C ambient; natural air cooling q = 1.6
DRY_AN_155 = Dry(dthr=125.0, tau_w=60.0, q=1.6, rated_c=145.0)


def _interp(t: float, ts: F64, v: F64) -> float:
    return float(np.interp(t, ts, v))


def run(model: Oil | Dry, ts: F64, k: F64, amb_ts: F64, amb: F64, out_ts: F64,
        step_s: float = 10.0) -> dict[str, F64]:
    """Top-oil (NaN for a dry type), hot-spot and loss of life (h) at ``out_ts``, starting from the steady
    state of the first load and ambient. ``k`` is sampled at ``ts``; ambient at ``amb_ts``."""
    t0, t_end = float(ts[0]), float(out_ts[-1])
    kf: Callable[[float], float] = lambda t: _interp(t, ts, k)          # noqa: E731
    af: Callable[[float], float] = lambda t: _interp(t, amb_ts, amb)    # noqa: E731
    if isinstance(model, Oil):
        m = model

        def deriv(t: float, z: list[float]) -> list[float]:
            kk, aa = kf(t), af(t)
            ult = ((1 + kk * kk * m.r) / (1 + m.r)) ** m.x * m.dtor
            return [(ult - (z[0] - aa)) / (m.k11 * m.tau_o * 60),
                    (m.k21 * m.dthr * kk ** m.y - z[1]) / (m.k22 * m.tau_w * 60),
                    ((m.k21 - 1) * m.dthr * kk ** m.y - z[2]) / (m.tau_o * 60 / m.k22)]

        k0, a0 = kf(t0), af(t0)
        z = [a0 + ((1 + k0 * k0 * m.r) / (1 + m.r)) ** m.x * m.dtor, m.k21 * m.dthr * k0 ** m.y,
             (m.k21 - 1) * m.dthr * k0 ** m.y]

        def hot(t: float, z: list[float]) -> float:
            return z[0] + z[1] - z[2]

        def ageing(h: float) -> float:
            return 2.0 ** ((h - 98.0) / 6.0)
    else:
        d = model

        def deriv(t: float, z: list[float]) -> list[float]:
            return [(d.dthr * kf(t) ** d.q - z[0]) / (d.tau_w * 60)]

        z = [d.dthr * kf(t0) ** d.q]

        def hot(t: float, z: list[float]) -> float:
            return af(t) + z[0]

        def ageing(h: float) -> float:
            return 2.0 ** ((h - d.rated_c) / 6.0)

    grid = np.unique(np.concatenate([np.arange(t0, t_end, step_s), out_ts, [t_end]]))
    top, hs, lol = np.empty(len(grid)), np.empty(len(grid)), np.empty(len(grid))
    life = 0.0
    prev_v = ageing(hot(t0, z))
    for i, t in enumerate(grid):
        if i:
            h = t - grid[i - 1]
            tp = grid[i - 1]
            k1 = deriv(tp, z)
            k2 = deriv(tp + h / 2, [a + h / 2 * b for a, b in zip(z, k1, strict=True)])
            k3 = deriv(tp + h / 2, [a + h / 2 * b for a, b in zip(z, k2, strict=True)])
            k4 = deriv(t, [a + h * b for a, b in zip(z, k3, strict=True)])
            z = [a + h / 6 * (b + 2 * c + 2 * e + f) for a, b, c, e, f in zip(z, k1, k2, k3, k4, strict=True)]
            v = ageing(hot(t, z))
            life += (prev_v + v) / 2 * h / 3600.0
            prev_v = v
        top[i] = z[0] if isinstance(model, Oil) else math.nan
        hs[i] = hot(t, z)
        lol[i] = life
    pick = np.searchsorted(grid, out_ts)
    return {"top_oil": top[pick], "hot": hs[pick], "loss_of_life_h": lol[pick]}


def heat_wave(days: int = 3, poll_s: float = 300.0) -> tuple[F64, F64, F64, F64]:
    """A heat wave: hourly ambient from 15 °C (first night) to 42 °C (last afternoon), and a load factor
    between 0.3 and 1.2 (evening peaks 0.9, 1.05, 1.2) sampled every ``poll_s``. Returns (poll times,
    load factor, ambient sample times, ambient)."""
    amb_ts = np.arange(0, days * 86400 + 1, 3600.0)
    h = amb_ts / 3600.0
    level = 14.0 + 14.0 * h / (days * 24)                          # the nights warm from 15 °C
    swing = 15.5 * (1 - np.cos(2 * np.pi * (h - 5) / 24)) / 2      # coolest at 05:00, warmest at 17:00
    amb = level + swing
    ts = np.arange(0, days * 86400 + 1, poll_s)
    hour = (ts / 3600.0) % 24
    day = np.minimum(ts // 86400, days - 1)
    bump = np.clip(np.cos(2 * np.pi * (hour - 19) / 24), 0, None) ** 2     # evening peak at 19:00
    k = 0.3 + (0.6 + 0.15 * day) * bump
    return ts, k, amb_ts, amb
