"""Detection parameters: every threshold is configurable, with the documented default.

Defaults and sources: each group names the standard or publication its defaults come from (docs/detection.md).
The configuration loader maps ``[detection.<group>]`` tables onto these dataclasses by field name and
checks each value against the ``min``/``max`` in its metadata, so adding a parameter here is all it takes
to make it configurable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AlarmParams",
    "CollectionParams",
    "ImbalanceParams",
    "LineLossParams",
    "LoadParams",
    "MappingParams",
    "OutageParams",
    "Params",
    "TechLossParams",
    "TheftParams",
    "ThermalParams",
    "VoltageParams",
]


def p(default: Any, *, lo: float | None = None, hi: float | None = None, unit: str = "", doc: str = "",
      choices: tuple[str, ...] | None = None, check: Callable[[Any], str | None] | None = None) -> Any:
    """A parameter field with its default, allowed range or choices (or a ``check`` returning why a value
    cannot work), unit and a one-line description."""
    meta = {"min": lo, "max": hi, "unit": unit, "doc": doc, "choices": choices, "check": check}
    return field(default=default, metadata=meta)


@dataclass(frozen=True, kw_only=True)
class LoadParams:
    """Transformer load rate β (detection.md §3.1–3.2)."""

    overload_pct: float = p(95.0, lo=1, hi=300, unit="%", doc="real-time overload threshold on β_max")
    overload_persist_s: float = p(60.0, lo=0, hi=86400, unit="s", doc="β must stay above it this long")
    overload_clear_pct: float = p(90.0, lo=1, hi=300, unit="%", doc="clear below this (hysteresis)")
    overload_clear_persist_s: float = p(60.0, lo=0, hi=86400, unit="s", doc="and stay below this long")
    heavy_load_pct: float = p(80.0, lo=1, hi=300, unit="%", doc="heavy load (重载): above this ...")
    heavy_load_max_pct: float = p(100.0, lo=1, hi=300, unit="%", doc="... and at most this")
    heavy_load_persist_s: float = p(7200.0, lo=0, hi=7 * 86400, unit="s", doc="sustained this long")
    overload_2h_pct: float = p(100.0, lo=1, hi=300, unit="%", doc="overload (过载) above this ...")
    overload_2h_persist_s: float = p(7200.0, lo=0, hi=7 * 86400, unit="s", doc="... sustained this long")
    band_hysteresis_pct: float = p(5.0, lo=0, hi=50, unit="%", doc="heavy_load/overload_2h clear this far inside the band")
    band_clear_persist_s: float = p(300.0, lo=0, hi=86400, unit="s", doc="heavy_load/overload_2h clear after this long")
    overload_critical_pct: float = p(120.0, lo=1, hi=300, unit="%", doc="overload severity becomes critical above this")


def _twelve(v: tuple[float, ...]) -> str | None:
    if len(v) not in (0, 12):
        return f"needs 12 values (January to December) or none, got {len(v)}"
    bad = [x for x in v if not -50 <= x <= 60]
    return f"{bad[0]!r} °C is outside -50 … 60" if bad else None


@dataclass(frozen=True, kw_only=True)
class ThermalParams:
    """Transformer heat: IEC 60076-7 (oil) and IEC 60076-12 (dry type) with the constants of the area's
    ``transformer.cooling`` (detection.md, "Transformer heat"); a model constant set here (> 0) wins."""

    delta_theta_or_k: float = p(0.0, lo=0, hi=120, unit="K", doc="top-oil rise at rated losses (0: by cooling; ONAN 55)")
    delta_theta_hr_k: float = p(0.0, lo=0, hi=250, unit="K",
                                doc="hot-spot to top-oil gradient at rated current; dry type: hot-spot rise over ambient (0: by cooling / class)")
    tau_o_min: float = p(0.0, lo=0, hi=1000, unit="min", doc="oil time constant (0: by cooling; ONAN 180)")
    tau_w_min: float = p(0.0, lo=0, hi=600, unit="min", doc="winding time constant (0: by cooling; ONAN 4, dry 60)")
    r_ratio: float = p(0.0, lo=0, hi=50, doc="load loss / no-load loss at rated current (0: by cooling; ONAN 5)")
    x_exp: float = p(0.0, lo=0, hi=3, doc="oil exponent (0: by cooling; ONAN 0.8)")
    y_exp: float = p(0.0, lo=0, hi=3, doc="winding exponent; dry type: q (0: by cooling; ONAN 1.6, AN 1.6, AF 1.8)")
    k11: float = p(0.0, lo=0, hi=5, doc="thermal model constant (0: by cooling)")
    k21: float = p(0.0, lo=0, hi=5, doc="thermal model constant (0: by cooling)")
    k22: float = p(0.0, lo=0, hi=5, doc="thermal model constant (0: by cooling)")
    ambient_c: float = p(30.0, lo=-50, hi=60, unit="degC",
                         doc="design ambient: used when no reading, weather value or monthly value is there")
    monthly_ambient_c: tuple[float, ...] = p((), unit="degC", check=_twelve,
                                             doc="12 monthly mean ambients, January first (local months); before the design ambient")
    ambient_max_age_s: float = p(7200.0, lo=0, hi=86400, unit="s", doc="an ambient reading is held this long")
    substep_s: float = p(60.0, lo=1, hi=600, unit="s", doc="longest integration step (accuracy; every step is stable)")
    insulation: str = p("normal", choices=("normal", "tup"), doc="oil: paper normal (98 °C) or thermally upgraded (110 °C)")
    dry_insulation_class: str = p("155", choices=("105", "120", "130", "155", "180", "200", "220"),
                                  doc="dry type: insulation system class (°C, IEC 60085); sets rated and limit hot-spot")
    hotspot_limit_c: float = p(0.0, lo=0, hi=300, unit="degC", doc="alarm limit (0: oil 120 normal cyclic; dry type by class)")
    hotspot_horizon_min: float = p(120.0, lo=0, hi=1440, unit="min", doc="alarm when projected to reach the limit within")
    hotspot_clear_margin_k: float = p(5.0, lo=0, hi=50, unit="K", doc="clear once this far below the limit and not projected")
    hotspot_clear_persist_s: float = p(300.0, lo=0, hi=86400, unit="s", doc="hotspot clears after this long")


@dataclass(frozen=True, kw_only=True)
class VoltageParams:
    """GB/T 12325 voltage deviation (detection.md §5)."""

    nominal_v: float = p(0.0, lo=0, hi=1000, unit="V",
                         doc="phase-to-neutral nominal voltage (0: the area's transformer.lv_system, 220 V for 380/220)")
    low_pct: float = p(-10.0, lo=-50, hi=0, unit="%", doc="low-voltage limit as deviation from nominal")
    high_pct: float = p(7.0, lo=0, hi=50, unit="%", doc="high-voltage limit as deviation from nominal")
    persist_s: float = p(3600.0, lo=0, hi=86400, unit="s", doc="low/high voltage must last this long")
    phase_loss_pct: float = p(60.0, lo=1, hi=100, unit="%", doc="master phase below this % of nominal = phase loss")
    hysteresis_pct: float = p(1.0, lo=0, hi=10, unit="%", doc="low/high voltage clear this far back inside the limits")
    clear_persist_s: float = p(600.0, lo=0, hi=86400, unit="s", doc="low/high voltage clear after this long")
    phase_loss_persist_s: float = p(60.0, lo=0, hi=3600, unit="s", doc="phase loss must last this long")


@dataclass(frozen=True, kw_only=True)
class ImbalanceParams:
    """Three-phase current imbalance (detection.md §4)."""

    formula: str = p("max_min_over_max", choices=("max_min_over_max", "max_min_over_avg", "max_avg_over_avg"))
    threshold_pct: float = p(25.0, lo=1, hi=100, unit="%", doc="imbalance alarm threshold")
    load_gate_pct: float = p(50.0, lo=0, hi=100, unit="%", doc="only while β_max is at least this")
    neutral_pct: float = p(25.0, lo=1, hi=200, unit="%", doc="neutral current limit, % of rated")
    persist_s: float = p(7200.0, lo=0, hi=86400, unit="s", doc="imbalance / neutral current must last this long")
    hysteresis_pct: float = p(5.0, lo=0, hi=50, unit="%", doc="clear this far below the thresholds")
    clear_persist_s: float = p(900.0, lo=0, hi=86400, unit="s", doc="imbalance / neutral current clear after this long")


@dataclass(frozen=True, kw_only=True)
class OutageParams:
    """Outages told apart from communication failures (detection.md §6)."""

    area_voltage_pct: float = p(10.0, lo=0, hi=100, unit="%", doc="all master phases below this = area outage")
    branch_min_meters: int = p(3, lo=1, hi=1000, doc="at least this many meters of a branch ...")
    branch_min_fraction: float = p(0.3, lo=0.01, hi=1, doc="... or this fraction of it, silent or dead")
    branch_window_s: float = p(120.0, lo=1, hi=3600, unit="s", doc="within this window")
    meter_silent_rounds: int = p(2, lo=1, hi=100, doc="a meter missing this many rounds is offline")
    master_silent_s: float = p(60.0, lo=1, hi=3600, unit="s", doc="no master reading this long (and 1.5 polls) = master silent")
    master_cadence_s: float = p(60.0, lo=1, hi=3600, unit="s", doc="expected master poll cadence until learned")
    meter_cadence_s: float = p(900.0, lo=1, hi=86400, unit="s", doc="expected meter read cadence until learned")
    cadence: str = p("learn", choices=("learn", "fixed"),
                     doc="learn each device's read cadence from its reads (the daemon seeds the two above from "
                         "its reading plans), or use them as given")
    dead_voltage_pct: float = p(10.0, lo=0, hi=100, unit="%", doc="a meter voltage below this % of nominal = no supply")
    area_silent_fraction: float = p(0.9, lo=0.1, hi=1, doc="master silent and this fraction of meters silent = area outage")
    area_silent_min_due: float = p(2.0, lo=0.1, hi=1000, doc="... or this many meter reads due since the master went silent and none came")
    balance_fraction: float = p(0.5, lo=0, hi=1, doc="master power must drop by this share of the silent meters' load for a branch outage")
    balance_min_kw: float = p(0.5, lo=0, hi=1000, unit="kW", doc="below this expected drop the balance cannot tell (comm failure assumed)")
    check_s: float = p(10.0, lo=1, hi=600, unit="s",
                       doc="who is silent is judged at every multiple of this on event time (replay and live alike)")


@dataclass(frozen=True, kw_only=True)
class AlarmParams:
    """Alarm lifecycle publication (``detect.alarms``)."""

    update_min_s: float = p(900.0, lo=0, hi=86400, unit="s", doc="at most one 'updated' per alarm this often ...")
    update_rel: float = p(0.1, lo=0, hi=10, doc="... and only when the value moved by this share of the threshold")


@dataclass(frozen=True, kw_only=True)
class CollectionParams:
    target_pct: float = p(99.0, lo=0, hi=100, unit="%", doc="daily collection success rate target")


@dataclass(frozen=True, kw_only=True)
class LineLossParams:
    """Line-loss bands (detection.md §1.2)."""

    negative_pct: float = p(-1.0, lo=-100, hi=0, unit="%", doc="below this the day is 'negative'")
    high_pct: float = p(10.0, lo=0, hi=100, unit="%", doc="above this the day is 'high'")
    persistent_days: int = p(3, lo=1, hi=365, doc="abnormal this many consecutive days = persistent")
    min_coverage_pct: float = p(90.0, lo=0, hi=100, unit="%", doc="below this coverage the loss is not computable")
    estimate_days: int = p(7, lo=1, hi=60, unit="d", doc="a gap is estimated from the same interval of this many previous days")
    estimate_min_days: int = p(2, lo=1, hi=60, doc="... of which at least this many must have been read")


@dataclass(frozen=True, kw_only=True)
class TheftParams:
    """Meter physical checks and suspect ranking (detection.md §2.3–2.5)."""

    neutral_mismatch_ratio: float = p(0.25, lo=0.01, hi=1, doc="|I_L − I_N| / max(I_L, I_N) above this")
    neutral_mismatch_min_a: float = p(0.5, lo=0, hi=100, unit="A", doc="... and |I_L − I_N| above this (meters are inexact at small currents)")
    start_current_a: float = p(0.05, lo=0, hi=10, unit="A", doc="below this a current counts as zero")
    energy_power_tolerance: float = p(0.05, lo=0, hi=1, doc="|ΔE − ∫P dt| / ∫P dt above this")
    energy_power_min_kwh: float = p(0.5, lo=0, hi=1e6, unit="kWh", doc="check energy vs power only above this ∫P dt")
    basic_current_a: float = p(5.0, lo=0.1, hi=100, unit="A", doc="meter basic current I_b")
    voltage_loss_pct: float = p(78.0, lo=1, hi=100, unit="%", doc="voltage loss below this % of nominal ...")
    voltage_loss_current_pct: float = p(0.5, lo=0, hi=100, unit="%", doc="... while the phase current exceeds this % of I_b")
    voltage_recover_pct: float = p(85.0, lo=1, hi=100, unit="%", doc="voltage normal at/above this % of nominal")
    current_loss_pct: float = p(0.5, lo=0, hi=100, unit="%", doc="current loss below this % of I_b ...")
    current_loss_others_pct: float = p(5.0, lo=0, hi=100, unit="%", doc="... while another phase exceeds this % of I_b")
    reverse_min_kwh: float = p(0.01, lo=0, hi=100, unit="kWh", doc="reverse register advance that counts on a non-PV meter")
    zero_energy_min_kwh: float = p(0.05, lo=0, hi=100, unit="kWh", doc="zero-energy check needs at least this ∫P dt")
    relay_ntl_fraction: float = p(0.5, lo=0, hi=10, doc="relay open and area NTL ≥ this × the meter's usual energy")
    window_days: int = p(14, lo=2, hi=90, unit="d", doc="suspect ranking: the window of interval energies (correlation, swing)")
    baseline_days: int = p(14, lo=1, hi=60, unit="d", doc="drop evidence: a meter's share of the consumption over at most this many days before the NTL change point")
    drop_z: float = p(3.0, lo=0.5, hi=100, doc="drop evidence starts at this many standard deviations of the meter's own daily scatter (full at twice)")
    drop_max_explained: float = p(1.5, lo=1, hi=10, doc="... and counts only while the drop, less one standard deviation of the meter's own daily scatter, is at most this many times the NTL rise")
    drop_min_share: float = p(0.25, lo=0, hi=1, doc="... in full when it accounts for at least this share of the rise (proportionally less below)")
    voltage_z: float = p(1.5, lo=0.5, hi=100, doc="voltage evidence starts at this correlation z of unexplained drop and current (full at twice)")
    voltage_min_ohm: float = p(0.02, lo=0, hi=10, unit="Ω", doc="... with at least this much unexplained drop per ampere of the phase's unexplained current")
    voltage_days: int = p(7, lo=1, hi=30, unit="d", doc="... over this many days of hourly means")
    low_energy_kwh: float = p(0.2, lo=0, hi=1000, unit="kWh", doc="meters that registered less than this on the day are checked for unmetered current in their voltage")
    zero_max: int = p(3, lo=0, hi=100, doc="zero evidence: on a phase in ntl_phase without a change point and with no one listed, its meters that registered less than low_energy_kwh on every stored day are listed (at the listing score) when there are at most this many (0: off)")
    corr_z: float = p(3.0, lo=0.5, hi=100, doc="correlation evidence starts at this z of the meter's power changes against its phase's NTL changes (full at twice)")
    share_z: float = p(2.0, lo=0.5, hi=100, doc="joint-share evidence (a phase in ntl_phase without a change point) starts at this t of the meter's coefficient in the phase's hourly NTL regressed on all its meters' hourly energies at once, coefficients ≥ 0 (full at twice; listed from 1.5 × this)")
    share_min_b: float = p(0.05, lo=0, hi=100, doc="... with a coefficient (kWh of NTL per metered kWh) of at least this; a meter's gain error is about 0.01")
    share_min_hours: int = p(36, lo=24, hi=2160, unit="h", doc="... fitted on at least this many hours of the last window_days (hours with at least two intervals in which all the phase's meters were read); more than the first day: on it alone a bypass present from the start (its voltage not yet seen) went to the meters most like it")
    weight_shape: float = p(1.0, lo=0, hi=10, doc="evidence strength: within-day shape lost to the NTL (flattened or reversed profile, ntl_swing)")
    weight_physical: float = p(0.5, lo=0, hi=1, doc="evidence strength: a physical-check alert active on the meter")
    top_k: int = p(10, lo=1, hi=100, doc="suspects listed in the daily summary, at most")
    min_score: float = p(0.5, lo=0, hi=1, doc="a suspect needs at least this score (0–1) to be listed or alerted")
    swing_ratio: float = p(2.0, lo=1, hi=100, doc="NTL within-day variance this many times its baseline = ntl_swing")
    swing_days: int = p(2, lo=1, hi=30, unit="d", doc="... on this many consecutive days")
    physical_persist_s: float = p(1800.0, lo=0, hi=86400, unit="s", doc="measured physical checks must hold this long")
    physical_clear_s: float = p(3600.0, lo=0, hi=7 * 86400, unit="s", doc="physical-check alerts clear after this long without the condition")
    tamper_max_age_s: float = p(7500.0, lo=60, hi=86400, unit="s", doc="status words / event counters older than this are not used")


@dataclass(frozen=True, kw_only=True)
class TechLossParams:
    """Technical loss (by physics from the meters' voltages and currents, else the online model L = a + b·ΣI²;
    lineloss.md §1.3) and the daily NTL alarms per phase (§4)."""

    forgetting: float = p(0.999, lo=0.9, hi=1, doc="RLS forgetting factor per interval (0.999 ≈ 10-day memory)")
    warmup_intervals: int = p(192, lo=2, hi=100000, doc="no NTL onset decisions before this many updates")
    cusum_k: float = p(0.5, lo=0, hi=10, doc="residual CUSUM allowance, in standard deviations")
    cusum_h: float = p(8.0, lo=0.1, hi=1000, doc="residual CUSUM decision level, in standard deviations")
    physics_min_coverage_pct: float = p(90.0, lo=0, hi=100, unit="%", doc="technical loss from the meters' own voltage drops and currents when this share of the meters gave both (else the a + b·ΣI² model)")
    drop_fit_days: float = p(7.0, lo=0, hi=60, unit="d", doc="physics: each metering element's drop is fitted on its own, its branch-phase's and its branch's currents over about this many days (forgetting), which places the neutral's loss on the right phases (lineloss.md §1.3); 0: the magnitude method du·I/|pf| alone")
    drop_fit_min_intervals: int = p(32, lo=4, hi=100000, doc="... an element uses its fit once it has this many intervals (the magnitude method until then)")
    day_baseline_days: int = p(14, lo=2, hi=60, unit="d", doc="ntl_rise: each phase's baseline is the median of its daily NTL % over at most this many previous days (days in alarm excluded)")
    day_min_baseline_days: int = p(1, lo=1, hi=60, unit="d", doc="... judged once it has this many days")
    day_sd_floor_pp: float = p(0.1, lo=0, hi=10, unit="pp", doc="... the robust deviation of a phase's daily NTL % (of that phase's supply) is at least this")
    day_cusum_k: float = p(0.5, lo=0, hi=10, doc="... CUSUM allowance, in deviations")
    day_cusum_h: float = p(6.0, lo=0.1, hi=1000, doc="... CUSUM decision level, in deviations")
    day_rise_min_pp: float = p(0.15, lo=0, hi=100, unit="pp", doc="... and the day's rise at least this (pp of the phase's supply)")
    phase_excess_pp: float = p(0.6, lo=0, hi=100, unit="pp", doc="ntl_phase: a phase's daily NTL % above the phase that loses least (a phase in ntl_rise at its level before its change point; zero, when that phase loses less than nothing) by this much ...")
    phase_excess_days: int = p(2, lo=1, hi=30, unit="d", doc="... on this many days in a row")
    phase_excess_fast_pp: float = p(1.2, lo=0, hi=100, unit="pp", doc="... or on one day by at least this much (a theft present from the start has no earlier day to wait for)")
    area_level_pp: float = p(1.5, lo=0, hi=100, unit="pp", doc="ntl_level: the area's daily NTL % of its supply at least this on phase_excess_days days in a row (a theft present from the start on a three-phase meter raises every phase alike: none stands out); cleared below half. 0 turns it off; above a known standing unmetered load (street lighting) where there is one")


@dataclass(frozen=True, kw_only=True)
class MappingParams:
    """Customer–transformer mapping check by voltage correlation (detection.md §1.4)."""

    window_days: int = p(3, lo=1, hi=60, unit="d", doc="voltage window")
    min_corr: float = p(0.35, lo=-1, hi=1, doc="score below this = mapping_suspect")
    robust_z: float = p(5.0, lo=1, hi=100, doc="or a score this many robust deviations below the area median")
    min_samples: int = p(48, lo=3, hi=100000, doc="fewer voltage samples than this: no verdict")


@dataclass(frozen=True, kw_only=True)
class Params:
    load: LoadParams = field(default_factory=LoadParams)
    thermal: ThermalParams = field(default_factory=ThermalParams)
    voltage: VoltageParams = field(default_factory=VoltageParams)
    imbalance: ImbalanceParams = field(default_factory=ImbalanceParams)
    outage: OutageParams = field(default_factory=OutageParams)
    collection: CollectionParams = field(default_factory=CollectionParams)
    line_loss: LineLossParams = field(default_factory=LineLossParams)
    theft: TheftParams = field(default_factory=TheftParams)
    alarms: AlarmParams = field(default_factory=AlarmParams)
    tech_loss: TechLossParams = field(default_factory=TechLossParams)
    mapping: MappingParams = field(default_factory=MappingParams)
    interval_s: int = p(900, lo=60, hi=3600, unit="s", doc="summary interval (15 min)")
    lateness_s: float = p(120.0, lo=0, hi=3600, unit="s", doc="readings this late are still placed; intervals close after it")
    history_intervals: int = p(192, lo=4, hi=96 * 90, doc="per-meter interval history kept in the state (energy, voltage)")
    utc_offset_s: int = p(28800, lo=-43200, hi=50400, unit="s", doc="local time of day boundaries (China: UTC+8)")
    master_group_s: float = p(5.0, lo=0, hi=60, unit="s", doc="master readings this close in time form one poll")
    meter_group_s: float = p(120.0, lo=0, hi=900, unit="s",
                             doc="a meter's readings this close in time form one read (its round's transactions)")
    master_hold_s: float = p(300.0, lo=0, hi=3600, unit="s", doc="a master quantity is held this long when a poll lacks it")
    register_rollover_kwh: float = p(1e6, lo=1, hi=1e12, unit="kWh", doc="energy registers wrap here (DL/T 645: 999999.99)")
