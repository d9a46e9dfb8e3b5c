"""The edge configuration as frozen, keyword-only dataclasses (docs/architecture.md; every key in docs/config.md).

Each field carries its validation in ``metadata`` (``min``/``max``/``choices``/``doc``), read by the
generic loader in ``edge.config.loader``; a field's docstring-like ``doc`` is what ``docs/config.md``
explains. Detection parameters are ``detect.params.Params``, loaded by the same mechanism.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from detect.params import Params
from edge.config.checks import timezone_problem, topic_prefix_problem
from wire.topics import DEFAULT_PREFIX

__all__ = [
    "BAUD_RATES",
    "AreaConfig",
    "BusConfig",
    "Config",
    "GatewayConfig",
    "MasterConfig",
    "MeterConfig",
    "MqttConfig",
    "PlanConfig",
    "PlausibilityConfig",
    "PublishConfig",
    "StatusConfig",
    "TransformerConfig",
]

BAUD_RATES = (600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
# Low-voltage systems (line/phase V): China's 380/220 (GB/T 156), IEC 60038's 400/230, 415/240 and the
# 208/120 and 480/277 of North America.
LV_SYSTEMS = ("380/220", "400/230", "415/240", "208/120", "480/277")


def f(default: Any = ..., *, lo: float | None = None, hi: float | None = None, doc: str = "",
      choices: tuple[Any, ...] | None = None, pattern: str | None = None,
      check: Callable[[Any], str | None] | None = None) -> Any:
    """A configuration field: default, allowed range, choices or pattern, a ``check`` returning why a
    value cannot work (or None), and the one-line ``doc`` shown in docs/config.md."""
    meta = {"min": lo, "max": hi, "doc": doc, "choices": choices, "pattern": pattern, "check": check}
    if default is ...:
        return field(metadata=meta)
    if isinstance(default, (list, dict, set)):
        raise TypeError("use tuples for defaults")
    return field(default=default, metadata=meta)


@dataclass(frozen=True, kw_only=True)
class GatewayConfig:
    id: str = f(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", doc="gateway id, unique in the fleet; MQTT topics use it")
    grid: str = f(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", doc="service grid (网格) the areas belong to")
    state_dir: str = f("/var/lib/meterwatch", doc="outbox and engine snapshots")
    timezone: str = f("Asia/Shanghai", check=timezone_problem,
                      doc="IANA zone of the meters' clocks: daily freezes and days follow it")


@dataclass(frozen=True, kw_only=True)
class MqttConfig:
    url: str = f(pattern=r"^mqtts?://[^/\s:]+(:\d{1,5})?/?$", doc="mqtt://host:1883 or mqtts://host:8883")
    client_id: str = f("", doc="defaults to the gateway id")
    username: str = f("", doc="empty: no authentication")
    password_file: str = f("", doc="file holding the password; relative: in $CREDENTIALS_DIRECTORY (systemd "
                                   "LoadCredential=); must exist; never the password itself")
    ca_file: str = f("", doc="CA bundle for mqtts:// (must exist); empty: system CAs")
    cert_file: str = f("", doc="client certificate (PEM) for mutual TLS (must exist)")
    key_file: str = f("", doc="client key (PEM) for mutual TLS (must exist)")
    topic_prefix: str = f(DEFAULT_PREFIX, check=topic_prefix_problem,
                          doc="topic prefix P: no wildcards, no empty levels, not $…, at most 256 bytes")
    keepalive_s: int = f(60, lo=5, hi=3600)


@dataclass(frozen=True, kw_only=True)
class PublishConfig:
    outbox_max_mb: float = f(64.0, lo=0.01, hi=100_000,
                             doc="disk budget of the outbox files (database, WAL, index; MiB), reserved at start; "
                                 "over it the oldest summaries are dropped first, alerts last")
    alert_ttl_days: float = f(30.0, lo=1, hi=3650, doc="unsent alerts are kept this long")
    health_interval_s: float = f(60.0, lo=5, hi=3600)
    realtime: str = f("every_poll", choices=("every_poll", "off"), doc="publish summary/realtime per master poll")
    meters_interval: str = f("publish", choices=("publish", "off"), doc="publish meters/interval every interval")
    snapshot_interval_s: float = f(300.0, lo=10, hi=86400, doc="engine snapshot period")


@dataclass(frozen=True, kw_only=True)
class StatusConfig:
    """The daemon's own view: control socket (``meterwatch status``, reads through the daemon), status page, /metrics."""

    socket: str = f("", doc="control socket of `meterwatch status` and of reads through the daemon; empty: "
                            "$RUNTIME_DIRECTORY/control.sock under systemd, else <state_dir>/control.sock")
    listen: str = f("", doc="host:port of the status page and /metrics (e.g. 127.0.0.1:8780); empty: off; any "
                        "address but loopback needs token_file")
    token_file: str = f("", doc="file holding the token for the page and /metrics (HTTP Basic password, any "
                                "user name, or Bearer); relative: in $CREDENTIALS_DIRECTORY; never the token itself")
    push_interval_s: float = f(2.0, lo=0.5, hi=60, doc="how often the open page is updated")


@dataclass(frozen=True, kw_only=True)
class BusConfig:
    name: str = f(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
    port: str = f(pattern=r"^(/dev/\S+|tcp://[^\s:/]+:\d{1,5}|[^\s:]+)$",
                  doc="serial device (/dev/ttyS1) or tcp://host:port of a serial-to-Ethernet converter")
    protocol: str = f(choices=("dlt645", "modbus-rtu", "modbus-tcp"))
    baud: int = f(2400, choices=BAUD_RATES)
    parity: str = f("E", choices=("N", "E", "O"))
    stopbits: int = f(1, choices=(1, 2))
    response_delay_s: float = f(0.1, lo=0.02, hi=0.5, doc="typical meter response delay (planning)")
    response_delay_max_s: float = f(0.5, lo=0.02, hi=2.0, doc="longest delay before a reply counts as missing")
    gap_s: float = f(0.03, lo=0.0, hi=1.0, doc="idle time kept after each reply")
    timeout_s: float = f(1.0, lo=0.05, hi=30, doc="Modbus reply timeout")
    retries: int = f(1, lo=0, hi=5)
    block_reads: str = f("auto", choices=("auto", "off"), doc="DL/T 645 FF block DIs: try them (falls back per meter) or never")
    time_sync: str = f("off", choices=("off", "broadcast"), doc="DL/T 645 broadcast time sync (08H); opt-in")
    backoff_base_s: float = f(60.0, lo=1, hi=86400, doc="first probe of a silent device after this long")
    backoff_max_s: float = f(3600.0, lo=1, hi=7 * 86400, doc="probe interval cap for a dead device")


@dataclass(frozen=True, kw_only=True)
class PlanConfig:
    """What to read from one device class and how often."""

    device_class: str = f(choices=("master", "meter"), doc="which devices the plan reads")
    kind: str = f("read", choices=("read", "clock"), doc="read quantities, or check the meter clock")
    quantities: tuple[str, ...] = f((), doc="quantity names (detect/quantities.py); required for kind read")
    interval_s: float = f(lo=1, hi=7 * 86400)
    offset_s: float = f(0.0, lo=0, hi=86400,
                        doc="offset of the slots; for daily plans seconds after local midnight (gateway.timezone)")
    priority: int = f(5, lo=0, hi=9, doc="0 = most urgent; the master's realtime plan should stay lowest")
    deadline_s: float = f(0.0, lo=0, hi=7 * 86400, doc="a round finishing later is reported late; 0 = its interval")


@dataclass(frozen=True, kw_only=True)
class TransformerConfig:
    rated_kva: float = f(lo=1, hi=10_000)
    lv_voltage: float = f(400.0, lo=100, hi=1000, doc="rated LV line-to-line voltage (V, nameplate): sets the rated current")
    lv_system: str = f("380/220", choices=LV_SYSTEMS,
                       doc="LV system nominal voltage, line/phase (GB/T 156, IEC 60038): voltage quality is judged against the phase value")
    cooling: str = f("ONAN", choices=("ONAN", "ONAF", "OFAF", "ODAF", "AN", "AF", "dry"),
                     doc="oil: ONAN ONAF OFAF ODAF (IEC 60076-7); dry type: AN AF (IEC 60076-12; \"dry\" = AN)")


@dataclass(frozen=True, kw_only=True)
class MasterConfig:
    bus: str = f()
    device_id: int = f(1, lo=1, hi=247, doc="Modbus device id")
    address: str = f("", pattern=r"^(\d{1,12})?$", doc="DL/T 645 address when the master is a DL/T 645 meter")
    profile: str = f("", doc="Modbus profile name (dtsu666, sdm630, dtsd1352, ttu) or a file path")
    ct_ratio: float = f(1.0, lo=1, hi=100_000)
    pt_ratio: float = f(1.0, lo=1, hi=100_000)


@dataclass(frozen=True, kw_only=True)
class MeterConfig:
    id: str = f(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    address: str = f(pattern=r"^\d{1,12}$", doc="DL/T 645 address, up to 12 digits (padded with zeros)")
    bus: str = f()
    phase: str = f(choices=("A", "B", "C", "ABC"))
    branch: str = f("main")
    kind: str = f("single", choices=("single", "three"))
    pv: bool = f(False, doc="customer has generation (reverse energy is expected)")
    ct_ratio: float = f(1.0, lo=1, hi=100_000)
    protocol: str = f("auto", choices=("auto", "2007", "1997"))
    i_max_a: float = f(0.0, lo=0, hi=10_000,
                       doc="the meter's Imax (A; secondary for a CT meter), e.g. 60 for 5(60) A; 0 = its kind's "
                           "default from [area.plausibility]")


@dataclass(frozen=True, kw_only=True)
class PlausibilityConfig:
    """Physics checks on every reading before detection (docs/detection.md, "Plausibility")."""

    enabled: bool = f(True, doc="reject readings that cannot be true before they reach detection")
    i_max_single_a: float = f(60.0, lo=1, hi=1000, doc="Imax of a direct single-phase meter (nameplate 5(60) A)")
    i_max_three_a: float = f(100.0, lo=1, hi=2000, doc="Imax of a direct three-phase meter (nameplate 10(100) A)")
    i_max_ct_a: float = f(6.0, lo=0.1, hi=100,
                          doc="Imax of a CT-connected meter on its secondary (1.5(6) A); primary = × ct_ratio")
    current_ratio: float = f(4.0, lo=1, hi=100,
                             doc="a meter current above ratio × Imax, or a power above ratio × Imax × U_N × phases, "
                                 "is rejected (4: no meter or service cable carries it for a reading interval; "
                                 "2 × Imax happens where the meter list has the wrong kind)")
    transformer_ratio: float = f(3.0, lo=1, hi=100,
                                 doc="master currents, powers and energy steps above ratio × the transformer "
                                     "rating are rejected")
    voltage_max_pct: float = f(200.0, lo=110, hi=1000, doc="a voltage above this % of nominal phase voltage is rejected")
    energy_margin: float = f(1.1, lo=1, hi=1000,
                             doc="an energy step above margin × the power limit × elapsed time is rejected (the "
                                 "margin covers a voltage up to 10 % high)")
    rebaseline_after: int = f(3, lo=2, hi=1000,
                              doc="a register off its baseline (meter replaced, register reset) for this many "
                                  "mutually consistent readings becomes the new baseline, with a device alert")
    alert_after: int = f(3, lo=1, hi=10_000, doc="rejected readings of one quantity of a device in a row that raise "
                                                 "implausible_reading")
    clear_after: int = f(3, lo=1, hi=10_000, doc="accepted readings in a row of every quantity rejected in the "
                                                 "episode that clear it")


@dataclass(frozen=True, kw_only=True)
class AreaConfig:
    id: str = f(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    name: str = f("")
    transformer: TransformerConfig = f()
    master: MasterConfig = f()
    meters: tuple[MeterConfig, ...] = f(())
    meters_csv: str = f("", doc="CSV export: id,address,bus,phase,branch,kind,pv,ct_ratio[,i_max_a] (path relative "
                                "to the config)")
    meters_mapping: str = f("", doc="mapping file (TOML) for a meters_csv whose headers are not recognised: "
                                    "[columns] field = header text, encoding, delimiter, header_line (docs/replay.md)")
    detection: Params = field(default_factory=Params)
    plausibility: PlausibilityConfig = field(default_factory=PlausibilityConfig)


@dataclass(frozen=True, kw_only=True)
class Config:
    gateway: GatewayConfig
    mqtt: MqttConfig
    publish: PublishConfig = field(default_factory=PublishConfig)
    status: StatusConfig = field(default_factory=StatusConfig)
    buses: tuple[BusConfig, ...] = ()
    plans: dict[str, PlanConfig] = field(default_factory=dict)
    areas: tuple[AreaConfig, ...] = ()
    source: str = ""  # the file it was loaded from

    def bus(self, name: str) -> BusConfig:
        for b in self.buses:
            if b.name == name:
                return b
        raise KeyError(name)


DEFAULT_PLANS: dict[str, dict[str, Any]] = {
    "master_realtime": {"device_class": "master", "interval_s": 5, "priority": 0, "deadline_s": 5,
                        "quantities": ("u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p", "q", "pf", "e_fwd", "e_rev",
                                       "t_amb")},
    "master_daily": {"device_class": "master", "interval_s": 86400, "offset_s": 900, "priority": 1,
                     "quantities": ("e_fwd_daily",)},
    "meter_interval": {"device_class": "meter", "interval_s": 900, "priority": 3,
                       "quantities": ("e_fwd", "e_rev", "u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p", "pf",
                                      "sw3", "sw7")},
    "meter_tamper": {"device_class": "meter", "interval_s": 3600, "offset_s": 450, "priority": 5,
                     "quantities": ("sw4", "sw5", "sw6", "sw7", "evt_cover_open", "evt_terminal_open",
                                    "evt_power_down", "evt_event_clear", "evt_meter_clear")},
    "meter_daily": {"device_class": "meter", "interval_s": 86400, "offset_s": 900, "priority": 4,
                    "quantities": ("e_fwd_daily",)},
    "meter_clock": {"device_class": "meter", "kind": "clock", "interval_s": 86400, "offset_s": 7200,
                    "priority": 6},
}
