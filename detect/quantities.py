"""The quantity vocabulary shared by config, acquisition, replay, the engine and payloads (docs/architecture.md).

A quantity's index in ``QUANTITIES`` is its code in columnar reading batches; the order is part of the
snapshot format, so new quantities are appended, never inserted.
"""

from __future__ import annotations

__all__ = ["CUMULATIVE", "QUANTITIES", "QUANTITY_CODE", "UNITS", "quantity_code"]

QUANTITIES: tuple[str, ...] = (
    "u_a", "u_b", "u_c",
    "i_a", "i_b", "i_c", "i_n",
    "p", "p_a", "p_b", "p_c",
    "q", "pf", "f",
    "e_fwd", "e_rev",
    "sw1", "sw2", "sw3", "sw4", "sw5", "sw6", "sw7",
    "evt_cover_open", "evt_terminal_open", "evt_power_down", "evt_event_clear", "evt_meter_clear",
    "e_fwd_daily",
    "t_amb",
)

UNITS: dict[str, str] = {
    "u_a": "V", "u_b": "V", "u_c": "V",
    "i_a": "A", "i_b": "A", "i_c": "A", "i_n": "A",
    "p": "kW", "p_a": "kW", "p_b": "kW", "p_c": "kW",
    "q": "kvar", "pf": "", "f": "Hz",
    "e_fwd": "kWh", "e_rev": "kWh", "e_fwd_daily": "kWh",
    "t_amb": "degC",
}

# Registers that only grow (energy and event counters): interval values come from differences.
CUMULATIVE: frozenset[str] = frozenset(
    {"e_fwd", "e_rev", "evt_cover_open", "evt_terminal_open", "evt_power_down", "evt_event_clear",
     "evt_meter_clear"}
)

QUANTITY_CODE: dict[str, int] = {name: i for i, name in enumerate(QUANTITIES)}

# What a CT-connected meter registers on the secondary side: the archive's CT ratio turns these into primary
# values (the engine at ingest); voltages, PF, status words and event counters are not scaled.
CT_SCALED: frozenset[str] = frozenset({"i_a", "i_b", "i_c", "i_n", "p", "p_a", "p_b", "p_c", "q",
                                       "e_fwd", "e_rev", "e_fwd_daily"})


def quantity_code(name: str) -> int:
    """Code of a quantity name; raises ``KeyError`` naming the unknown quantity and the vocabulary."""
    try:
        return QUANTITY_CODE[name]
    except KeyError:
        raise KeyError(f"unknown quantity {name!r}; known: {', '.join(QUANTITIES)}") from None
