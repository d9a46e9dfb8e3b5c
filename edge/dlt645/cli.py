"""Field-technician commands on a DL/T 645 bus: ``meterwatch read`` and ``meterwatch scan``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

from edge.dlt645.catalog import Catalog, Item, load_catalog
from edge.dlt645.client import DiResult, Dlt645Client
from edge.dlt645.codec import DecodeError
from edge.dlt645.link import Link, open_link
from edge.dlt645.scan import FoundMeter, ScanProgress, scan_bus
from edge.errors import MeterwatchError
from edge.valuefmt import Resolution, at_resolution, shown

__all__ = ["DEFAULT_ITEMS", "ProgressBar", "check_read_args", "print_rows", "read_doc", "read_exit_code", "run_read",
           "run_scan"]

DEFAULT_ITEMS = ("e_fwd", "e_rev", "u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p", "pf", "f", "sw7")


def _link(args: argparse.Namespace, default_baud: int) -> Link:
    link = open_link(args.port, baud=args.baud or default_baud, parity=args.parity)
    max_delay = getattr(args, "max_delay", None)
    if max_delay is not None:
        link.max_response_delay_s = max_delay
    margin = getattr(args, "margin", None)
    if margin is not None:
        link.margin_s = margin
    return link


def _is_di(s: str) -> bool:
    return len(s) in (4, 8) and all(c in "0123456789abcdefABCDEF" for c in s)


def _plain(value: Any) -> Any:
    """JSON-ready form of a decoded value: hex for bytes, ISO 8601 for times, records as objects."""
    if isinstance(value, bytes):
        return value.hex().upper()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value.isoformat() if hasattr(value, "isoformat") else value


def item_resolution(item: Item) -> Resolution | None:
    """The register's resolution: BCD decimals (``XXX.X``: 1) or a binary field's scale."""
    if item.fmt.kind in ("bcd", "bin"):
        return Resolution.of_step(item.fmt.scale)
    return None


def _row_from_di(catalog: Catalog, res: DiResult) -> dict[str, Any]:
    protocol = "1997" if len(res.di) == 4 else "2007"
    item = catalog.item(res.di, protocol) or catalog.block(res.di, protocol)
    row: dict[str, Any] = {"item": getattr(item, "name", res.di), "di": res.di, "ts": res.ts}
    if res.data is None:
        row["error"] = res.error
        return row
    row["raw"] = res.data.hex().upper()
    if not isinstance(item, Item):
        return row  # vendor DI or block: raw bytes
    try:
        value = item.decode(res.data)
    except DecodeError as exc:
        row["error"] = str(exc)
        return row
    _put_value(row, item, value)
    if item.bits and isinstance(value, int):
        row["bits"] = item.bit_names(value)
    return row


def _put_value(row: dict[str, Any], item: Item | None, value: Any) -> None:
    """``value`` (at the register's resolution), its ``text`` as the meter shows it, and the unit."""
    res = item_resolution(item) if item is not None else None
    if isinstance(value, float):
        row["value"] = at_resolution(value, res)
        row["text"] = shown(value, res)
    else:
        row["value"] = _plain(value)
    row["unit"] = item.unit if item is not None else ""


async def read_doc(client: Dlt645Client, address: str, items: Sequence[str], *, protocol: str) -> dict[str, Any]:
    """Read ``items`` (DIs or quantity names; empty: the standard set) from one meter: the JSON document
    of ``meterwatch read`` (address, protocol, items), from a local link or the daemon's own client."""
    catalog = client.catalog
    items = list(items) or [n for n in DEFAULT_ITEMS if catalog.by_name(n, "1997" if protocol == "1997" else "2007")]
    rows: list[dict[str, Any]] = []
    dis = [i for i in items if _is_di(i)]
    names = [i for i in items if not _is_di(i)]
    for res in await client.read_dis(address, dis):
        rows.append(_row_from_di(catalog, res))
    if names:
        out = await client.read(address, names)
        p = client.profile(address).protocol or "2007"
        for r in out.readings:
            it = catalog.by_name(r.quantity, p)
            row: dict[str, Any] = {"item": r.quantity, "di": it.di if it else "", "ts": r.ts}
            _put_value(row, it, r.value)
            rows.append(row)
        for f in out.failures:
            rows.append({"item": f.quantity, "di": "", "error": f.reason, "ts": f.ts})
    return {"address": address.rjust(12, "0"), "protocol": client.profile(address).protocol, "items": rows}


async def _read(args: argparse.Namespace) -> dict[str, Any]:
    catalog = load_catalog()
    protocol = args.protocol if args.protocol in ("2007", "1997", "auto") else "2007"
    async with _link(args, 1200 if protocol == "1997" else 2400) as link:
        if args.timeout is not None:
            link.max_response_delay_s, link.margin_s = max(args.timeout - 0.1, 0.0), 0.1
        client = Dlt645Client(link, protocol=protocol, catalog=catalog)
        doc = await read_doc(client, args.address, args.items, protocol=protocol)
        return {"address": doc["address"], "link": link.stats.as_dict(), "protocol": doc["protocol"],
                "items": doc["items"]}


def print_rows(rows: list[dict[str, Any]], out: TextIO) -> None:
    """The rows as a table; reply times in the gateway's local time, zone named."""
    for r in rows:
        ts = datetime.fromtimestamp(r["ts"]).astimezone().strftime("%H:%M:%S %Z") if r.get("ts") else "-"
        if "error" in r:
            print(f"{r['item']:<22} {r['di']:<9} FAILED  {r['error']}", file=out)
            continue
        value = r.get("text", r.get("value", r.get("raw")))
        bits = f"  [{', '.join(r['bits'])}]" if r.get("bits") else ""
        print(f"{r['item']:<22} {r['di']:<9} {value} {r.get('unit', '')}{bits}  ({ts})", file=out)


def read_exit_code(doc: dict[str, Any]) -> int:
    return 1 if any("error" in r for r in doc["items"]) else 0


def check_read_args(args: argparse.Namespace) -> str | None:
    """Why the DL/T 645 ``read`` arguments cannot work (None when they can)."""
    if not args.address or not args.address.isdigit() or len(args.address) > 12:
        return "--address needs the meter address, up to 12 digits"
    catalog = load_catalog()
    for item in args.items:
        if not _is_di(item) and catalog.by_name(item, "1997" if args.protocol == "1997" else "2007") is None:
            return f"{item!r} is neither a DI (8 or 4 hex digits) nor a quantity in the catalogue"
    return None


def run_read(args: argparse.Namespace) -> int:
    """``meterwatch read`` for DL/T 645: 0 all read, 1 some items failed, 2 bad arguments, 3 port trouble."""
    why = check_read_args(args)
    if why:
        print(f"meterwatch read: {why}", file=sys.stderr)
        return 2
    try:
        doc = asyncio.run(_read(args))
    except MeterwatchError as exc:
        print(f"meterwatch read: {exc}", file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps(doc, default=str))
    else:
        print_rows(doc["items"], sys.stdout)
    return read_exit_code(doc)


class ProgressBar:
    """A one-line progress bar on stderr (``\\r`` redraws; a final newline on ``close``)."""

    def __init__(self, out: TextIO = sys.stderr, width: int = 30) -> None:
        self.out, self.width = out, width
        self._last = 0.0

    def __call__(self, p: ScanProgress) -> None:
        now = time.monotonic()
        if now - self._last < 0.1 and p.done < p.total:
            return
        self._last = now
        frac = p.done / max(p.total, 1)
        fill = int(frac * self.width)
        self.out.write(f"\r[{'#' * fill}{'.' * (self.width - fill)}] {p.done}/{p.total} probes "
                       f"({p.protocol}), {p.found} meters")
        self.out.flush()

    def close(self) -> None:
        self.out.write("\n")
        self.out.flush()


async def _scan(args: argparse.Namespace, bar: ProgressBar | None) -> list[FoundMeter]:
    protocols = ("2007", "1997") if args.protocol == "auto" else (args.protocol,)
    async with _link(args, 2400) as link:
        return await scan_bus(link, protocols=protocols, progress=bar)


def run_scan(args: argparse.Namespace) -> int:
    """``meterwatch scan``: print the meters found as CSV rows for the meter list."""
    bar = None if args.quiet else ProgressBar()
    try:
        found = asyncio.run(_scan(args, bar))
    except MeterwatchError as exc:
        print(f"\nmeterwatch scan: {exc}", file=sys.stderr)
        return 3
    finally:
        if bar:
            bar.close()
    bus = args.bus or args.port
    print(f"# {len(found)} meters on {args.port} at {args.baud or 2400} baud "
          f"(protocol 1997 meters need protocol=1997 or auto on their bus)")
    print("id,address,bus,phase,branch,kind,pv,ct_ratio")
    for m in found:
        kind = "" if m.protocol == "2007" else "dlt645-1997"
        print(f"{m.address},{m.address},{bus},,,{kind},,1")
    return 0 if found else 1
