"""Simulator configuration (``sim.toml``): the area to build, the export cadences and the scenarios.

Validation happens here, before anything is simulated, and every problem names its key and, where it
has one, its line in the file (``ConfigIssue``). Unknown keys are errors. Scenario kinds and their
parameters are checked against the catalogue in ``edge.sim.catalogue``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.sim.catalogue import ScenarioSpec, validate_scenario
from tomlconf import Doc, build_valid, check_keys, parse, read_text

__all__ = ["AreaSpec", "Cadence", "ScenarioSpec", "ServeSpec", "SimConfig", "load_sim_config", "parse_sim_config"]


@dataclass(frozen=True, kw_only=True)
class AreaSpec:
    """The simulated area: transformer, radial network and customer mix (layout rules in docs)."""

    id: str = "SIM01"
    name: str = "simulated area"
    grid: str = "sim"
    rated_kva: float = 400.0
    lv_voltage: float = 400.0                  # line-to-line nominal
    source_voltage_v: float = 231.0            # phase voltage at the LV bus, no load
    customers: int = 200
    branches: int = 4
    nodes_per_branch: int = 6
    segment_r_ohm: float = 0.018               # phase conductor resistance per feeder segment
    neutral_r_factor: float = 1.0              # neutral conductor R relative to the phase conductor
    service_r_ohm: float = 0.08                # service drop, one conductor (the mean over customers)
    service_r_spread: float = 0.5              # each customer's service drop: service_r_ohm × U(1 ± spread)
    u_gain_error_pct: float = 0.1              # σ of each meter element's (and master phase's) voltage gain error
    u_noise_pct: float = 0.03                  # σ of the noise on each voltage reading
    i_noise_pct: float = 0.2                   # σ of the noise on each meter current reading
    three_phase_every: int = 20                # every n-th customer is three-phase (0 = none)
    commercial_every: int = 9
    industrial_every: int = 37
    pv_every: int = 10
    ct_every: int = 2                          # every n-th three-phase customer is CT-connected
    load_scale: float = 1.0                    # multiplies every customer's demand
    t_mean_c: float = 27.0                     # daily mean ambient temperature
    t_swing_c: float = 5.0                     # half of the daily temperature swing
    foreign_source_v: float = 229.0            # phase voltage of the "other" transformer


@dataclass(frozen=True, kw_only=True)
class Cadence:
    """How often each kind of reading is written in export mode (seconds)."""

    master_s: int = 60
    meter_s: int = 900
    tamper_s: int = 3600
    balance_s: int = 900


@dataclass(frozen=True, kw_only=True)
class ServeSpec:
    """How serve mode puts the area on the wire (``[serve]``; see docs/simulator.md)."""

    buses: int = 1                             # RS-485 meter buses (one pty / TCP port each)
    split: str = "even"                        # "even": contiguous blocks of meters; "branch": by feeder
    baud: int = 2400                           # meter buses
    response_delay_s: float = 0.1              # each meter's delay before it answers
    quirks_share: float = 0.0                  # share of meters with a quirk (no FE, no blocks, follow-ups)
    meter_values: str = "secondary"            # CT meters report secondary values (records hold the ratio)
    ttu_profile: str = "ttu"                   # Modbus profile name or path
    ttu_transport: str = "rtu"                 # "rtu" (pty; RTU over TCP with --tcp) | "tcp" (Modbus TCP)
    ttu_baud: int = 9600
    ttu_device_id: int = 1
    ttu_ct_ratio: float = 1.0                  # the TTU's CT ratio as the profile applies it
    ttu_wire: str = "emulate"                  # "emulate": replies take their RTU wire time; "off"
    status_s: float = 5.0                      # status line period of ``meterwatch simulate``


SERVE_CHOICES = {"split": ("even", "branch"), "meter_values": ("secondary", "primary"),
                 "ttu_transport": ("rtu", "tcp"), "ttu_wire": ("emulate", "off")}
SERVE_BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


def _check_serve(serve: ServeSpec, area: AreaSpec, doc: Doc) -> None:
    def bad(key: str, msg: str) -> None:
        doc.error(f"serve.{key}", msg)

    for key, choices in SERVE_CHOICES.items():
        if getattr(serve, key) not in choices:
            bad(key, f"{getattr(serve, key)!r} is not one of {', '.join(choices)}")
    if not 1 <= serve.buses <= min(32, area.customers):
        bad("buses", f"{serve.buses} must be in 1..{min(32, area.customers)} (at most one bus per customer)")
    if serve.split == "branch" and serve.buses > area.branches:
        bad("buses", f"{serve.buses} buses split by branch need at least as many branches ({area.branches})")
    for key in ("baud", "ttu_baud"):
        if getattr(serve, key) not in SERVE_BAUDS:
            bad(key, f"{getattr(serve, key)} is not one of {', '.join(map(str, SERVE_BAUDS))}")
    if not 0.02 <= serve.response_delay_s <= 0.5:
        bad("response_delay_s", f"{serve.response_delay_s} is outside 0.02..0.5 s (DL/T 645: 20..500 ms)")
    if not 0.0 <= serve.quirks_share <= 1.0:
        bad("quirks_share", f"{serve.quirks_share} is outside 0..1")
    if not 1 <= serve.ttu_device_id <= 247:
        bad("ttu_device_id", f"{serve.ttu_device_id} is outside 1..247")
    if serve.ttu_ct_ratio < 1:
        bad("ttu_ct_ratio", f"{serve.ttu_ct_ratio} must be >= 1")
    if not 0.5 <= serve.status_s <= 3600:
        bad("status_s", f"{serve.status_s} is outside 0.5..3600 s")


@dataclass(frozen=True, kw_only=True)
class SimConfig:
    seed: int = 1
    start: float = 1782864000.0                # 2026-07-01T00:00:00Z
    step_s: int = 60
    area: AreaSpec = field(default_factory=AreaSpec)
    export: Cadence = field(default_factory=Cadence)
    serve: ServeSpec = field(default_factory=ServeSpec)
    scenarios: tuple[ScenarioSpec, ...] = ()
    source: str = "<inline>"


_RFC3339 = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z$")


def _parse_time(value: Any) -> float:
    import calendar

    if isinstance(value, (int, float)):
        return float(value)
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    m = _RFC3339.match(str(value))
    if not m:
        raise ValueError(f"{value!r} is not an RFC 3339 UTC time like 2026-07-01T00:00:00Z")
    y, mo, d, h, mi, s = (int(g) for g in m.groups())
    return float(calendar.timegm((y, mo, d, h, mi, s)))


def _fill(cls: type, table: Any, prefix: str, doc: Doc) -> Any:
    """``cls`` from ``table``: unknown keys and wrong types reported, negative numbers reported and left at
    their default; whatever is wrong, the defaults stand in so the other checks still run."""
    if not isinstance(table, dict):
        doc.error(prefix, "must be a table")
        return cls()
    kept = dict(table)
    for k, v in table.items():
        if isinstance(v, int | float) and not isinstance(v, bool) and v < 0:
            doc.error(f"{prefix}.{k}", f"must be >= 0, got {v}")
            del kept[k]
    built = build_valid(doc, cls, kept, prefix)
    return built if built is not None else cls()


def parse_sim_config(text: str, file: str = "<inline>") -> SimConfig:
    """Parse and validate a simulator TOML document; raise ``ConfigError`` listing every problem."""
    doc = parse(text, file)
    for k in doc.data:
        if k not in _TOP:
            doc.error(k, f"unknown table; known: {', '.join(sorted(_TOP))}")
    seed, start, step_s = _sim_table(doc, doc.data.get("sim", {}))
    area = _fill(AreaSpec, doc.data.get("area", {}), "area", doc)
    if area.customers < 1 or area.branches < 1 or area.nodes_per_branch < 1:
        doc.error("area", "customers, branches and nodes_per_branch must be >= 1")
    if area.service_r_spread >= 1.0:
        doc.error("area.service_r_spread", f"{area.service_r_spread} must be below 1 (a resistance stays positive)")
    if area.rated_kva <= 0:
        doc.error("area.rated_kva", "must be > 0")
    export = _fill(Cadence, doc.data.get("export", {}), "export", doc)
    for name in ("master_s", "meter_s", "tamper_s", "balance_s"):
        v = getattr(export, name)
        if v <= 0 or v % step_s or 86400 % v:
            doc.error(f"export.{name}", f"{v} must be a positive multiple of sim.step_s ({step_s}) that divides a day")
    serve = _fill(ServeSpec, doc.data.get("serve", {}), "serve", doc)
    _check_serve(serve, area, doc)
    scenarios = []
    raw = doc.data.get("scenario", [])
    if not isinstance(raw, list):
        doc.error("scenario", "must be an array of tables: [[scenario]]")
        raw = []
    for n, table in enumerate(raw):
        spec = validate_scenario(table, key=f"scenario[{n}]", line=doc.line(f"scenario[{n}]"),
                                 file=file, area=area, issues=doc.issues)
        if spec is not None:
            scenarios.append(spec)
    doc.raise_if_errors()
    return SimConfig(seed=seed, start=start, step_s=step_s, area=area, export=export, serve=serve,
                     scenarios=tuple(scenarios), source=file)


_TOP = ("sim", "area", "export", "serve", "scenario")


def _sim_table(doc: Doc, sim: Any) -> tuple[int, float, int]:
    """``[sim]``: seed, start (a UTC midnight) and step_s, each checked; defaults where wrong."""
    seed, start, step_s = 1, SimConfig.start, 60
    if not isinstance(sim, dict):
        doc.error("sim", "must be a table")
        return seed, start, step_s
    check_keys(doc, sim, "sim", ("seed", "start", "step_s"))
    if "seed" in sim:
        if not isinstance(sim["seed"], int) or isinstance(sim["seed"], bool) or sim["seed"] < 0:
            doc.error("sim.seed", f"expected an integer >= 0, got {sim['seed']!r}")
        else:
            seed = sim["seed"]
    if "start" in sim:
        try:
            start = _parse_time(sim["start"])
            if start % 86400:
                raise ValueError(f"{sim['start']!r} is not a UTC midnight")
        except ValueError as exc:
            doc.error("sim.start", str(exc))
            start = SimConfig.start
    if "step_s" in sim:
        if sim["step_s"] not in (10, 15, 20, 30, 60):
            doc.error("sim.step_s", f"{sim['step_s']!r} is not one of 10, 15, 20, 30, 60")
        else:
            step_s = sim["step_s"]
    return seed, start, step_s


def load_sim_config(path: str | Path) -> SimConfig:
    """Load ``path`` (a sim TOML file); ``ConfigError`` names file, line and key of every problem."""
    p = Path(path)
    return parse_sim_config(read_text(p, what="simulator config"), str(p))
