"""Everything that must hold before the daemon starts, checked without touching a device or a broker.

``preflight(path)`` = the configuration (``edge.config``: syntax, types, references, topic prefix, time
zone, meter lists, Modbus profiles) + what depends on this machine and on the planner:

* the credential and certificate files exist and can be read by this user; the CA bundle, client
  certificate and key load, and the key belongs to the certificate. The password file's name is never
  printed — a password written into ``password_file`` by mistake must not end up in a log;
* the status page's ``token_file`` (``[status]``) can be read and is not empty;
* every reading plan fits its bus: a round must finish within its deadline and a bus cannot need more
  than 100 % of its wire (``edge.scheduler``'s planner, the one the bus schedulers plan with).

``meterwatch check-config`` and ``meterwatch run`` both call it, so a configuration that check-config
rejects never starts half-working. ``files=False`` skips the file checks (checking a configuration away
from the gateway it is meant for).
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from edge.config import Config, load_config_doc
from edge.scheduler.capacity import CapacityReport
from tomlconf import ConfigError, Doc, parse, read_text

__all__ = ["Preflight", "credential_path", "preflight"]


@dataclass(frozen=True)
class Preflight:
    config: Config
    capacity: dict[str, CapacityReport]     # bus name -> wire load of its plans
    files_checked: bool


def preflight(path: str | Path, *, files: bool = True, credentials_dir: str | None = None) -> Preflight:
    """The configuration at ``path`` when nothing prevents it from working; ``ConfigError`` otherwise."""
    p = Path(path)
    doc = parse(read_text(p, what="configuration"), str(p))
    cfg: Config | None = None
    try:
        cfg = load_config_doc(doc.data, doc.lines, str(p), p.parent)
    except ConfigError as exc:
        doc.extend(exc.issues)
    mqtt = doc.data.get("mqtt")
    if files and isinstance(mqtt, dict):
        _check_files(doc, {k: v for k, v in mqtt.items() if isinstance(v, str)}, credentials_dir)
    status = doc.data.get("status")
    if files and isinstance(status, dict) and isinstance(status.get("token_file"), str) and status["token_file"]:
        _check_token(doc, status["token_file"], credentials_dir)
    capacity = _check_capacity(doc, cfg) if cfg is not None else {}
    doc.raise_if_errors()
    assert cfg is not None
    return Preflight(config=cfg, capacity=capacity, files_checked=files)


def credential_path(value: str, credentials_dir: str | None = None) -> Path:
    """Where the daemon reads a credential file: relative names in ``$CREDENTIALS_DIRECTORY`` (systemd
    ``LoadCredential=``) when it is set, else relative to the working directory (edge.publish.mqtt)."""
    base = credentials_dir or os.environ.get("CREDENTIALS_DIRECTORY")
    path = Path(value)
    return path if path.is_absolute() or not base else Path(base) / path


def _unreadable(path: Path) -> str | None:
    try:
        with open(path, "rb"):
            return None
    except IsADirectoryError:
        return "is a directory"
    except OSError as exc:
        return exc.strerror or str(exc)


def _check_token(doc: Doc, token_file: str, credentials_dir: str | None) -> None:
    """The status page's token file: readable and not empty (its name is not shown, like the password's)."""
    path = credential_path(token_file, credentials_dir)
    why = _unreadable(path)
    if why is None and not path.read_bytes().strip():
        why = "it is empty"
    if why:
        doc.error("status.token_file", f"cannot use the token file ({why}); relative names are looked up in "
                  "$CREDENTIALS_DIRECTORY (systemd LoadCredential=, --credentials-dir for check-config), else in "
                  f"{Path.cwd()}")


def _check_files(doc: Doc, mqtt: dict[str, str], credentials_dir: str | None) -> None:
    """The ``[mqtt]`` files, from the table as written (also when other parts of the file are wrong)."""
    password_file = mqtt.get("password_file", "")
    if password_file:
        why = _unreadable(credential_path(password_file, credentials_dir))
        if why:
            where = credentials_dir or os.environ.get("CREDENTIALS_DIRECTORY")
            look = (f"relative names are looked up in {where}" if where else
                    "relative names are looked up in $CREDENTIALS_DIRECTORY (set by systemd LoadCredential=, "
                    f"not set here; --credentials-dir for check-config), else in {Path.cwd()}")
            doc.error("mqtt.password_file", f"cannot read the password file ({why}); its name is not shown "
                      f"because it may be the password itself, written here by mistake; {look}")
    tls = {key: mqtt.get(key, "") for key in ("ca_file", "cert_file", "key_file")}
    unreadable = {key: _unreadable(Path(value)) for key, value in tls.items() if value}
    for key, why in unreadable.items():
        if why:
            doc.error(f"mqtt.{key}", f"{tls[key]!r}: {why}")
    if any(unreadable.values()) or not any(tls.values()):
        return
    try:
        ctx = ssl.create_default_context(cafile=tls["ca_file"] or None)
        if tls["cert_file"]:
            ctx.load_cert_chain(tls["cert_file"], tls["key_file"] or None)
    except (ssl.SSLError, OSError, ValueError) as exc:
        doc.error("mqtt.cert_file" if tls["cert_file"] else "mqtt.ca_file",
                  f"TLS files do not load: {exc} (is it PEM, and does the key belong to the certificate?)")


def _check_capacity(doc: Doc, cfg: Config) -> dict[str, CapacityReport]:
    from edge.scheduler.from_config import config_bus_capacity

    out: dict[str, CapacityReport] = {}
    for i, bus in enumerate(cfg.buses):
        cap = out[bus.name] = config_bus_capacity(cfg, bus)
        dev = f'bus "{bus.name}"'
        for load in cap.loads:
            if not load.fits:
                key = f"plans.{load.plan}"
                plan = cfg.plans[load.plan]
                doc.error(key, f"does not fit: a round of {load.n_devices} {load.class_name}(s) takes "
                          f"{load.round_s:.1f} s of wire time at {bus.baud} baud, longer than its deadline "
                          f"({plan.deadline_s or plan.interval_s:g} s); "
                          "raise the baud rate, lengthen interval_s or deadline_s, or split the bus", dev,
                          line=doc.line(key) or doc.line(f"bus[{i}]"))
        if cap.total_fraction > 1.0:
            doc.error(f"bus[{i}]", f"the plans need {cap.total_fraction * 100:.0f} % of the wire: rounds would "
                      "overrun for ever; raise the baud rate, lengthen intervals or split the bus", dev)
    return out

