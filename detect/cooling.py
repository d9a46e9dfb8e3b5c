"""The thermal model of one transformer, resolved from its cooling mode and the ``[detection.thermal]``
overrides: the constants of IEC 60076-7 (oil) or IEC 60076-12 (dry type), the insulation's ageing law and
the hot-spot alarm limit. Sources of every constant: docs/detection.md, "Transformer heat".

The kernel (``detect.kernels.thermal``) does not know about cooling modes: it integrates three first-order
components whose inputs, gains and time constants ``ThermalModel.kernel_params`` lays out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np
import numpy.typing as npt

from detect.params import ThermalParams

__all__ = ["COOLING_MODES", "DRY_CLASSES", "OIL", "ThermalModel", "resolve"]


@dataclass(frozen=True)
class _Oil:
    delta_theta_or_k: float      # top-oil rise over ambient at rated losses
    delta_theta_hr_k: float      # hot-spot to top-oil gradient at rated current (H·gr)
    tau_o_min: float             # average oil time constant
    tau_w_min: float             # winding time constant
    r_ratio: float               # load losses at rated current / no-load losses
    x_exp: float                 # oil exponent
    y_exp: float                 # winding exponent
    k11: float
    k21: float
    k22: float


# IEC 60076-7:2005 Table 5 ("recommended thermal characteristics for exponential equations": x, y, k11,
# k21, k22, τo, τw) with Δθor, H·gr and R of the same columns (IEC 60354:1991 Table 1, carried into
# IEC 60076-7). ONAN is the distribution-transformer column (what a 台区 transformer is); ONAF, OFAF (OF)
# and ODAF (OD) are the medium/large power columns, the standard's only ones for forced cooling.
OIL: dict[str, _Oil] = {
    "ONAN": _Oil(55.0, 23.0, 180.0, 4.0, 5.0, 0.8, 1.6, 1.0, 1.0, 2.0),
    "ONAF": _Oil(52.0, 26.0, 150.0, 7.0, 6.0, 0.8, 1.3, 0.5, 2.0, 2.0),
    "OFAF": _Oil(56.0, 22.0, 90.0, 7.0, 6.0, 1.0, 1.3, 1.0, 1.45, 1.0),
    "ODAF": _Oil(49.0, 29.0, 90.0, 7.0, 6.0, 1.0, 2.0, 1.0, 1.0, 1.0),
}
# Dry type (IEC 60076-12:2008 §6): hot-spot rise over ambient Δθ = Δθ_r·K^q, q = 1.6 (AN) / 1.8 (AF),
# one winding time constant.
DRY_Q = {"AN": 1.6, "AF": 1.8}
DRY_TAU_MIN = 60.0       # typical cast-resin winding time constant; the heat-run test gives the unit's own
# Insulation system thermal class (IEC 60085) -> (rated hot-spot, maximum hot-spot) °C, IEC 60076-12:2008
# Table 1; the rated hot-spot holds at 20 °C yearly mean ambient with IEC 60076-11's average winding rise.
DRY_CLASSES: dict[str, tuple[float, float]] = {
    "105": (95.0, 130.0), "120": (110.0, 145.0), "130": (120.0, 155.0), "155": (145.0, 180.0),
    "180": (170.0, 205.0), "200": (190.0, 225.0), "220": (210.0, 245.0)}
DRY_RATED_AMBIENT_C = 20.0
COOLING_MODES = (*OIL, *DRY_Q, "dry")           # "dry": AN (the choice the configuration had before)
OIL_HOTSPOT_LIMIT_C = 120.0                     # IEC 60076-7 Table 4: normal cyclic loading
PAPER_REF_C = {"normal": 98.0, "tup": 110.0}    # ageing rate 1 (IEC 60076-7 §6.3)

# kernel parameter vector (detect.kernels.thermal)
P_A0, P_A1, P_A2, P_TAU0, P_TAU1, P_TAU2, P_R, P_X, P_Y, P_SUB, P_REF, P_AGEING, P_DRY = range(13)
AGEING_DOUBLING, AGEING_ARRHENIUS = 0.0, 1.0


@dataclass(frozen=True)
class ThermalModel:
    """Everything the thermal stage integrates with, resolved: cooling mode, constants, ageing, limit."""

    cooling: str              # ONAN | ONAF | OFAF | ODAF | AN | AF
    dry: bool
    delta_theta_or_k: float   # oil only
    delta_theta_hr_k: float   # oil: hot-spot to top-oil gradient; dry: hot-spot rise over ambient
    tau_o_min: float          # oil only
    tau_w_min: float
    r_ratio: float            # oil only
    x_exp: float              # oil only
    y_exp: float              # oil: winding exponent y; dry: q
    k11: float
    k21: float
    k22: float
    ageing: str               # normal | tup | dry
    ref_c: float              # hot-spot at which the ageing rate is 1
    limit_c: float            # hot-spot alarm limit
    substep_s: float

    @cached_property
    def kernel_params(self) -> npt.NDArray[np.float64]:
        """The float64[13] vector ``detect.kernels.thermal`` integrates with (module doc there); made once
        per model (the kernels only read it)."""
        p = np.zeros(13)
        if self.dry:
            p[P_A1], p[P_TAU1] = self.delta_theta_hr_k, self.tau_w_min * 60.0
            p[P_TAU2], p[P_Y], p[P_DRY] = 1.0, self.y_exp, 1.0
        else:
            p[P_A0], p[P_A1], p[P_A2] = self.delta_theta_or_k, self.k21 * self.delta_theta_hr_k, \
                (self.k21 - 1.0) * self.delta_theta_hr_k
            p[P_TAU0], p[P_TAU1], p[P_TAU2] = self.k11 * self.tau_o_min * 60.0, self.k22 * self.tau_w_min * 60.0, \
                self.tau_o_min * 60.0 / self.k22
            p[P_R], p[P_X], p[P_Y] = self.r_ratio, self.x_exp, self.y_exp
        p[P_SUB], p[P_REF] = self.substep_s, self.ref_c
        p[P_AGEING] = AGEING_ARRHENIUS if self.ageing == "tup" else AGEING_DOUBLING
        return p


def _pick(override: float, standard: float) -> float:
    """A configured constant (> 0) wins over the standard's."""
    return override if override > 0 else standard


@cache
def resolve(tp: ThermalParams, cooling: str) -> ThermalModel:
    """The model of a transformer with ``cooling`` (an ``Area.cooling``) under parameters ``tp``."""
    mode = "AN" if cooling == "dry" else cooling
    if mode not in OIL and mode not in DRY_Q:
        raise ValueError(f"cooling {cooling!r} is not one of {', '.join(COOLING_MODES)}")
    if mode in DRY_Q:
        rated, max_c = DRY_CLASSES[tp.dry_insulation_class]
        return ThermalModel(
            cooling=mode, dry=True, delta_theta_or_k=math.nan,
            delta_theta_hr_k=_pick(tp.delta_theta_hr_k, rated - DRY_RATED_AMBIENT_C), tau_o_min=math.nan,
            tau_w_min=_pick(tp.tau_w_min, DRY_TAU_MIN), r_ratio=math.nan, x_exp=math.nan,
            y_exp=_pick(tp.y_exp, DRY_Q[mode]), k11=math.nan, k21=math.nan, k22=math.nan, ageing="dry",
            ref_c=rated, limit_c=_pick(tp.hotspot_limit_c, max_c), substep_s=tp.substep_s)
    std = OIL[mode]
    return ThermalModel(
        cooling=mode, dry=False, delta_theta_or_k=_pick(tp.delta_theta_or_k, std.delta_theta_or_k),
        delta_theta_hr_k=_pick(tp.delta_theta_hr_k, std.delta_theta_hr_k),
        tau_o_min=_pick(tp.tau_o_min, std.tau_o_min), tau_w_min=_pick(tp.tau_w_min, std.tau_w_min),
        r_ratio=_pick(tp.r_ratio, std.r_ratio), x_exp=_pick(tp.x_exp, std.x_exp), y_exp=_pick(tp.y_exp, std.y_exp),
        k11=_pick(tp.k11, std.k11), k21=_pick(tp.k21, std.k21), k22=_pick(tp.k22, std.k22),
        ageing=tp.insulation, ref_c=PAPER_REF_C[tp.insulation],
        limit_c=_pick(tp.hotspot_limit_c, OIL_HOTSPOT_LIMIT_C), substep_s=tp.substep_s)
