"""The edge configuration that polls a served simulated area: TOML text and the meters CSV.

Serve mode prints this so an engineer (or ``meterwatch demo``) can point the daemon at the simulated
buses. The text is generated here and checked by the real loader in the tests
(``edge.config.load_config``), so what is printed is what ``meterwatch check-config`` accepts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge.config.loader import CSV_COLUMNS
from edge.sim.config import SimConfig
from edge.sim.network import Network

__all__ = ["BusEntry", "edge_config_text", "meters_csv_text", "recorded_ct_ratios"]


@dataclass(frozen=True, kw_only=True)
class BusEntry:
    """One ``[[bus]]`` of the printed config: where the daemon finds a served port."""

    name: str
    port: str                         # client-side pty path or tcp://127.0.0.1:PORT
    protocol: str                     # dlt645 | modbus-rtu | modbus-tcp
    baud: int
    response_delay_s: float | None = None

    @property
    def on_pty(self) -> bool:
        return not self.port.startswith("tcp://")


def _s(text: str) -> str:
    """A TOML basic string (JSON string syntax is valid TOML for these values)."""
    return json.dumps(text)


def _ident(text: str) -> str:
    """``text`` made into an id the edge config accepts (letters, digits, ``_.-``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text).strip("-_.")[:64] or "sim"


def recorded_ct_ratios(cfg: SimConfig, net: Network) -> npt.NDArray[np.float64]:
    """CT ratios as the records hold them (``wrong_ct_ratio`` scenarios replace the installed one)."""
    recorded = net.ct_ratio.astype(np.float64).copy()
    for sc in cfg.scenarios:
        if sc.kind == "wrong_ct_ratio":
            recorded[net.ids.index(sc.subject)] = float(sc.params["recorded_ratio"])
    return recorded


def meters_csv_text(net: Network, *, bus_of: Sequence[str], addresses: Sequence[str],
                    ct_ratio: Sequence[float]) -> str:
    """The meter list (``id,address,bus,phase,branch,kind,pv,ct_ratio``) of the served area."""
    lines = [",".join(CSV_COLUMNS)]
    for i, mid in enumerate(net.ids):
        three = bool(net.three[i])
        lines.append(f"{mid},{addresses[i]},{bus_of[i]},{'ABC' if three else 'ABC'[int(net.phase[i])]},"
                     f"{net.branch_names[int(net.branch[i])]},{'three' if three else 'single'},"
                     f"{'true' if net.pv_kwp[i] > 0 else 'false'},{ct_ratio[i]:g}")
    return "\n".join(lines) + "\n"


def edge_config_text(cfg: SimConfig, *, buses: Sequence[BusEntry], ttu: BusEntry, meters_csv: Path,
                     mqtt_url: str, state_dir: Path, speed: float) -> str:
    """A complete edge configuration (``[gateway]``, ``[mqtt]``, ``[[bus]]``, ``[[area]]``) for the served area."""
    spec, serve = cfg.area, cfg.serve
    out = [
        f"# Edge configuration for the simulated area {spec.id}, served by `meterwatch simulate`",
        f"# (seed {cfg.seed}, clock x{speed:g}). Pty paths and TCP ports change with every start.",
        "[gateway]",
        f"id = {_s(_ident('sim-' + spec.id))}",
        f"grid = {_s(_ident(spec.grid))}",
        f"state_dir = {_s(str(state_dir))}",
        "",
        "[mqtt]",
        f"url = {_s(mqtt_url)}",
        "",
    ]
    for b in (*buses, ttu):
        out += ["[[bus]]", f"name = {_s(b.name)}", f"port = {_s(b.port)}", f"protocol = {_s(b.protocol)}"]
        if b.protocol != "modbus-tcp":
            out.append(f"baud = {b.baud}")
        if b.on_pty:
            out.append('parity = "N"                 # a pty refuses even parity (EINVAL); field buses use E')
        if b.response_delay_s is not None:
            out.append(f"response_delay_s = {b.response_delay_s:g}")
        out.append("")
    t = spec
    out += [
        "[[area]]",
        f"id = {_s(_ident(spec.id))}",
        f"name = {_s(spec.name)}",
        f'transformer = {{ rated_kva = {t.rated_kva:g}, lv_voltage = {t.lv_voltage:g}, cooling = "ONAN" }}',
        f"master = {{ bus = {_s(ttu.name)}, device_id = {serve.ttu_device_id}, "
        f"profile = {_s(serve.ttu_profile)}, ct_ratio = {serve.ttu_ct_ratio:g} }}",
        f"meters_csv = {_s(str(meters_csv))}",
    ]
    return "\n".join(out) + "\n"
