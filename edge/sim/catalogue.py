"""The scenario catalogue: what each kind injects, its subject, its parameters and their ranges.

A scenario in ``sim.toml`` is a ``[[scenario]]`` table::

    [[scenario]]
    kind = "bypass_partial"      # a key of CATALOGUE
    subject = "M0042"            # meter id / branch "B2" / phase "A" / "area" / "transformer" / "master"
    start_h = 30.0               # hours after sim.start
    end_h = 78.0
    fraction = 0.6               # kind-specific parameters (defaults below)

``validate_scenario`` checks all of it before anything runs and returns a ``ScenarioSpec``;
``edge.sim.effects`` turns the scenarios into per-step effect arrays. The truth record of every scenario
is written by ``edge.sim.export``. This module imports nothing of the simulator: ``edge.sim.config``
builds on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from edge.errors import ConfigIssue

__all__ = ["CATALOGUE", "Kind", "ScenarioSpec", "validate_scenario"]


@dataclass(frozen=True, kw_only=True)
class ScenarioSpec:
    kind: str
    start_h: float
    end_h: float
    subject: str                               # meter id, branch name, phase letter or "area"
    params: dict[str, Any] = field(default_factory=dict)
    key: str = ""                              # "scenario[3]" for messages


class _Layout(Protocol):
    """The area rules a subject is checked against (``edge.sim.config.AreaSpec``)."""

    @property
    def customers(self) -> int: ...

    @property
    def branches(self) -> int: ...

    @property
    def three_phase_every(self) -> int: ...

    @property
    def industrial_every(self) -> int: ...


@dataclass(frozen=True, kw_only=True)
class Kind:
    subject: str                        # meter | meter1 (single-phase) | meter3 (three-phase) | branch |
    #                                     phase | area | transformer | master
    what: str                           # one line for the docs and the truth record
    params: dict[str, tuple[Any, Any, Any]] = field(default_factory=dict)   # name -> (default, lo, hi)
    truth: str = "theft"                # theft | fault | record | load | data


_FRAC = (0.5, 0.05, 0.95)
_PHASE = ("A", ("A", "B", "C"), None)
_JOKAR = {"lo": (0.1, 0.0, 1.0), "hi": (0.8, 0.0, 1.0)}

CATALOGUE: dict[str, Kind] = {
    "overload": Kind(subject="transformer", truth="load",
                     what="all demand scaled so that each day's peak β_max in the window is peak_load_rate",
                     params={"peak_load_rate": (0.95, 0.05, 3.0)}),
    "heat_wave": Kind(subject="area", truth="load", what="ambient temperature raised by delta_c (more AC)",
                      params={"delta_c": (8.0, 0.0, 25.0)}),
    "load_growth": Kind(subject="area", truth="load",
                        what="demand ramps linearly to (1 + growth) × by the end of the window",
                        params={"growth": (0.3, 0.0, 3.0)}),
    "vacant": Kind(subject="meter", truth="load",
                   what="empty house: no demand, so nothing flows through the meter and it registers nothing"),
    "jokar_h1": Kind(subject="meter1", what="metered = α·true, α ~ U(lo, hi) per day", params=dict(_JOKAR)),
    "jokar_h2": Kind(subject="meter1", what="metered = 0 for off_hours at a random time each day",
                     params={"off_hours": (6.0, 0.25, 23.0)}),
    "jokar_h3": Kind(subject="meter1", what="metered = γ_t·true, γ_t ~ U(lo, hi) per 15-min slot",
                     params=dict(_JOKAR)),
    "jokar_h4": Kind(subject="meter1", what="metered = γ_t·mean(true of the day), γ_t ~ U(lo, hi) per slot",
                     params=dict(_JOKAR)),
    "jokar_h5": Kind(subject="meter1", what="metered = mean(true of the day) (flat, same daily energy)"),
    "jokar_h6": Kind(subject="meter1", what="metered = the day's true profile reversed in time"),
    "bypass_full": Kind(subject="meter", what="jumper across the meter: current flows, meter sees none",
                        params={"terminal_open": (True, None, None)}),
    "bypass_partial": Kind(subject="meter", what="jumper carries fraction of the load past the meter",
                           params={"fraction": _FRAC, "terminal_open": (True, None, None)}),
    "neutral_return": Kind(subject="meter1",
                           what="fraction of the load returns through earth: I_N < I_L; meter bills on "
                                "the neutral element",
                           params={"fraction": (0.6, 0.05, 1.0)}),
    "voltage_link_open": Kind(subject="meter3", what="voltage link of one phase opened: U≈0 with current",
                              params={"phase": _PHASE}),
    "shorted_ct": Kind(subject="meter", what="current element of one phase shorted: I≈0, energy lost",
                       params={"phase": _PHASE}),
    "reversed_ct": Kind(subject="meter", what="current element of one phase reversed: reverse energy",
                        params={"phase": _PHASE}),
    "relay_bypass": Kind(subject="meter", what="prepay relay open (SW3 b4) but consumption continues "
                                                "around the meter"),
    "cover_open_drop": Kind(subject="meter",
                            what="meter cover opened (event counter, SW7 b9 for open_minutes), then metered "
                                 "energy drops by fraction",
                            params={"fraction": (0.6, 0.05, 1.0), "open_minutes": (10.0, 1.0, 600.0)}),
    "comm_loss": Kind(subject="meter", truth="fault", what="meter does not answer (powered, metering)"),
    "branch_outage": Kind(subject="branch", truth="fault",
                          what="branch fuse open: its customers lose power, meters fall silent"),
    "phase_loss": Kind(subject="phase", truth="fault", what="one transformer phase lost"),
    "area_outage": Kind(subject="area", truth="fault", what="whole area without supply"),
    "master_offline": Kind(subject="master", truth="fault", what="master meter / TTU does not answer"),
    "misregistered": Kind(subject="meter", truth="record",
                          what="customer recorded here but fed by another transformer: its voltage follows "
                               "that one and its energy is not in this master"),
    "wrong_ct_ratio": Kind(subject="meter3", truth="record",
                           what="recorded CT ratio differs from the installed one",
                           params={"recorded_ratio": (100.0, 1.0, 10000.0)}),
    "collection_gaps": Kind(subject="meters", truth="data",
                            what="each scheduled meter read fails with probability rate",
                            params={"rate": (0.02, 0.0, 1.0)}),
}

_FIXED = {"area": ("area",), "transformer": ("transformer",), "master": ("master",)}


def _subject_ok(kind: Kind, subject: str, area: _Layout) -> str | None:
    """None when ``subject`` fits ``kind``; otherwise the reason."""
    n = area.customers
    ids = {f"M{i:04d}": i for i in range(1, n + 1)}
    if kind.subject in _FIXED:
        return None if subject in _FIXED[kind.subject] else f"must be {_FIXED[kind.subject][0]!r}"
    if kind.subject == "branch":
        names = [f"B{b + 1}" for b in range(area.branches)]
        return None if subject in names else f"unknown branch {subject!r}; branches: {', '.join(names)}"
    if kind.subject == "phase":
        return None if subject in ("A", "B", "C") else f"{subject!r} is not a phase (A, B, C)"
    if kind.subject == "meters" and subject == "area":
        return None
    if subject not in ids:
        return f"unknown meter {subject!r} (meters are M0001..M{n:04d})"
    i = ids[subject]
    three = (area.three_phase_every > 0 and i % area.three_phase_every == 0) or (
        area.industrial_every > 0 and i % area.industrial_every == 0)
    if kind.subject == "meter1" and three:
        return f"meter {subject} is three-phase; this kind needs a single-phase meter"
    if kind.subject == "meter3" and not three:
        return f"meter {subject} is single-phase; this kind needs a three-phase meter"
    return None


def validate_scenario(table: dict[str, Any], *, key: str, line: int | None, file: str, area: _Layout,
                      issues: list[ConfigIssue]) -> ScenarioSpec | None:
    """Check one ``[[scenario]]`` table; append precise issues and return a ``ScenarioSpec`` or None."""
    before = len(issues)

    def bad(k: str, msg: str) -> None:
        issues.append(ConfigIssue(file, line, f"{key}.{k}", msg))

    kind_name = table.get("kind")
    if kind_name not in CATALOGUE:
        bad("kind", f"unknown scenario kind {kind_name!r}; known: {', '.join(CATALOGUE)}")
        return None
    kind = CATALOGUE[kind_name]
    subject = table.get("subject", next(iter(_FIXED.get(kind.subject, ("",)))))
    if not isinstance(subject, str) or not subject:
        bad("subject", f"missing; {kind_name} needs a {kind.subject} subject")
    else:
        why = _subject_ok(kind, subject, area)
        if why:
            bad("subject", why)
    times: dict[str, float] = {}
    for k in ("start_h", "end_h"):
        v = table.get(k)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            bad(k, f"missing or not a number (hours after sim.start): {v!r}")
        elif v < 0:
            bad(k, f"must be >= 0, got {v}")
        else:
            times[k] = float(v)
    if len(times) == 2 and times["end_h"] <= times["start_h"]:
        bad("end_h", f"{times['end_h']} must be after start_h {times['start_h']}")
    params: dict[str, Any] = {}
    for k, v in table.items():
        if k in ("kind", "subject", "start_h", "end_h"):
            continue
        if k not in kind.params:
            known = ", ".join(kind.params) or "none"
            bad(k, f"unknown parameter for {kind_name}; its parameters: {known}")
            continue
        default, lo, hi = kind.params[k]
        if isinstance(default, bool):
            if not isinstance(v, bool):
                bad(k, f"expected true or false, got {v!r}")
                continue
        elif isinstance(default, str):
            if v not in lo:
                bad(k, f"{v!r} is not one of {', '.join(lo)}")
                continue
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
            bad(k, f"{v!r} is outside [{lo}, {hi}]")
            continue
        params[k] = v
    for k, (default, _, _) in kind.params.items():
        params.setdefault(k, default)
    if kind_name.startswith("jokar") and "lo" in params and params["lo"] > params["hi"]:
        bad("lo", f"lo {params['lo']} is above hi {params['hi']}")
    if len(issues) > before:
        return None
    return ScenarioSpec(kind=kind_name, subject=subject, start_h=times["start_h"], end_h=times["end_h"],
                        params=params, key=key)
