"""The engine snapshot: magic, then an npz (no pickles) of every state column, every alarm tracker, the
pending readings and the area, with a JSON header (version, clock start, active alerts, counters,
parameters, area).

The keys are those of the first snapshot version (``s.`` engine state, ``l.`` line-loss state, ``t.``
trackers, ``p.`` pending readings, ``a.`` area, ``x.explained``), whichever stage now keeps a column: a
snapshot of any earlier version restores, and a stage added later starts fresh from an older snapshot.
"""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from typing import Any

import numpy as np
import numpy.typing as npt

from detect.area import Area
from detect.batch import ReadingBatch
from detect.params import Params

__all__ = ["MAGIC", "SNAPSHOT_VERSION", "area_of", "pack", "params_from_dict", "pending_of", "unpack", "write"]

SNAPSHOT_VERSION = 1
MAGIC = b"MWSNAP1\n"
SNAPSHOT_ZLIB_LEVEL = 1


def write(area: Area, params: Params, arrays: dict[str, npt.NDArray[Any]], pending: ReadingBatch,
          header: dict[str, Any]) -> bytes:
    """The blob of the engine's state ``arrays`` and ``header`` entries, with its pending readings, area and
    parameters."""
    arrays = dict(arrays)
    arrays.update({"p.device": pending.device, "p.quantity": pending.quantity, "p.value": pending.value,
                   "p.ts": pending.ts})
    for col in ("meter_phase", "meter_branch", "meter_kind", "meter_pv", "meter_ct_ratio", "master_factor"):
        arrays[f"a.{col}"] = getattr(area, col)
    header = {"version": SNAPSHOT_VERSION, **header, "params": dataclasses.asdict(params),
              "area": {"id": area.id, "name": area.name, "grid": area.grid, "rated_kva": area.rated_kva,
                       "lv_voltage_v": area.lv_voltage_v, "nominal_v": area.nominal_v, "cooling": area.cooling,
                       "meter_ids": list(area.meter_ids),
                       "branches": list(area.branches), "master_id": area.master_id}}
    return pack(header, arrays)


def area_of(header: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]) -> Area:
    ah = header["area"]
    return Area(id=ah["id"], name=ah["name"], grid=ah["grid"], rated_kva=ah["rated_kva"],
                lv_voltage_v=ah["lv_voltage_v"], nominal_v=ah.get("nominal_v", 220.0), cooling=ah["cooling"],
                meter_ids=tuple(ah["meter_ids"]),
                meter_phase=arrays["a.meter_phase"], meter_branch=arrays["a.meter_branch"],
                meter_kind=arrays["a.meter_kind"], meter_pv=arrays["a.meter_pv"],
                meter_ct_ratio=arrays["a.meter_ct_ratio"], branches=tuple(ah["branches"]), master_id=ah["master_id"],
                master_factor=arrays.get("a.master_factor"))


def pending_of(arrays: dict[str, npt.NDArray[Any]]) -> list[ReadingBatch]:
    if not len(arrays["p.ts"]):
        return []
    return [ReadingBatch.from_columns(arrays["p.device"], arrays["p.quantity"], arrays["p.value"], arrays["p.ts"])]


def params_from_dict(d: dict[str, Any]) -> Params:
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(Params):
        if f.name not in d:
            continue
        value = d[f.name]
        sub = f.default_factory if f.default_factory is not dataclasses.MISSING else None
        if isinstance(value, dict) and sub is not None:
            group = type(sub())
            known = {g.name for g in dataclasses.fields(group)}     # a key of another version is left out
            kwargs[f.name] = group(**{k: tuple(v) if isinstance(v, list) else v for k, v in value.items()
                                      if k in known})
        else:
            kwargs[f.name] = value
    return Params(**kwargs)


def pack(header: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]) -> bytes:
    """Snapshot blob: magic, then an npz (no pickles) holding the arrays and the JSON header.

    Deflated at zlib level 1, not ``np.savez_compressed``'s 6: measured on a 2000-meter engine with 15
    days of rings, 155 ms and 5.6 MB instead of 371 ms and 5.3 MB (uncompressed: 48 ms but 24 MB, too
    much to rewrite on a gateway's flash at every alert change). ``np.load`` reads either."""
    buf = io.BytesIO()
    payload = dict(arrays)
    payload["__header__"] = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=SNAPSHOT_ZLIB_LEVEL) as z:
        for name, a in payload.items():
            with z.open(f"{name}.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asanyarray(a), allow_pickle=False)
    return MAGIC + buf.getvalue()


def unpack(blob: bytes) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
    """Inverse of ``pack``; raises ``ValueError`` on anything that is not a meterwatch snapshot."""
    if not blob.startswith(MAGIC):
        raise ValueError("not a meterwatch engine snapshot (bad magic)")
    try:
        with np.load(io.BytesIO(blob[len(MAGIC):]), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        header = json.loads(arrays.pop("__header__").tobytes().decode())
    except Exception as exc:
        raise ValueError(f"corrupt engine snapshot: {exc}") from exc
    if header.get("version") != SNAPSHOT_VERSION:
        raise ValueError(f"snapshot version {header.get('version')!r}, this engine reads {SNAPSHOT_VERSION}")
    return header, arrays
