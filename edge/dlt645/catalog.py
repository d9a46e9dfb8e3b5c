"""The DI catalogue as data: ``catalog.toml`` next to this module, extended by site files.

An ``Item`` says how one DI's value is encoded and which quantity it is; a ``Block`` is an FF-DI whose
reply is its items back to back. Items are looked up by (protocol, DI) and (protocol, name). A site
file of the same shape adds vendor DIs or replaces a built-in item with the same DI.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.dlt645.values import FieldFormat, Value, decode_field, encode_field, parse_format, parse_record
from edge.errors import ConfigError, ConfigIssue
from tomlconf import Doc, check_keys, load

__all__ = ["BUILTIN_PATH", "Block", "Catalog", "Item", "load_catalog"]

BUILTIN_PATH = Path(__file__).with_name("catalog.toml")
PROTOCOLS = ("2007", "1997")
_ITEM_KEYS = {"di", "name", "format", "bytes", "signed", "unit", "protocol", "time_di", "trailing", "bits",
              "scale", "fields"}
_BLOCK_KEYS = {"di", "items", "protocol"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    di: str
    name: str
    fmt: FieldFormat
    unit: str = ""
    protocol: str = "2007"
    time_di: str | None = None      # frozen data: the DI holding the freeze time
    trailing: bool = False          # reply may carry more bytes after this field
    bits: dict[int, str] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return self.fmt.nbytes

    def decode(self, data: bytes) -> Value:
        """Value of this item from its data bytes (DI already removed). Raises ``DecodeError``."""
        if self.trailing and len(data) > self.nbytes:
            data = data[:self.nbytes]
        return decode_field(self.fmt, data, f"{self.name} ({self.di})")

    def encode(self, value: Value) -> bytes:
        return encode_field(self.fmt, value)

    def bit_names(self, word: int) -> list[str]:
        """Names of the set bits of a status word that the catalogue knows."""
        return [name for bit, name in sorted(self.bits.items()) if word >> bit & 1]


@dataclass(frozen=True, slots=True, kw_only=True)
class Block:
    di: str
    items: tuple[str, ...]
    protocol: str = "2007"


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalog:
    items: tuple[Item, ...]
    blocks: tuple[Block, ...]
    _by_di: dict[tuple[str, str], Item] = field(default_factory=dict, repr=False)
    _by_name: dict[tuple[str, str], Item] = field(default_factory=dict, repr=False)
    _blocks_by_di: dict[tuple[str, str], Block] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for it in self.items:
            self._by_di[(it.protocol, it.di)] = it
            self._by_name[(it.protocol, it.name)] = it
        for b in self.blocks:
            self._blocks_by_di[(b.protocol, b.di)] = b

    def item(self, di: str, protocol: str = "2007") -> Item | None:
        """The item with this DI (hex, any case), or None."""
        return self._by_di.get((protocol, di.upper()))

    def by_name(self, name: str, protocol: str = "2007") -> Item | None:
        """The item that reads this quantity name, or None."""
        return self._by_name.get((protocol, name))

    def block(self, di: str, protocol: str = "2007") -> Block | None:
        """The block with this FF-DI, or None."""
        return self._blocks_by_di.get((protocol, di.upper()))

    def blocks_for(self, protocol: str = "2007") -> list[Block]:
        """Every block of one protocol edition."""
        return [b for b in self.blocks if b.protocol == protocol]

    def names(self, protocol: str = "2007") -> list[str]:
        """Every item name of one protocol edition."""
        return [it.name for it in self.items if it.protocol == protocol]


def _parse_item(doc: Doc, raw: dict[str, Any], key: str) -> Item | None:
    if check_keys(doc, raw, key, _ITEM_KEYS):
        return None
    try:
        protocol = str(raw.get("protocol", "2007"))
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol {protocol!r} is not one of {PROTOCOLS}")
        di = str(raw["di"]).upper()
        want = 8 if protocol == "2007" else 4
        if len(di) != want or any(c not in "0123456789ABCDEF" for c in di):
            raise ValueError(f"DI {di!r} must be {want} hex digits for protocol {protocol}")
        name = str(raw["name"])
        if raw["format"] == "record":
            fmt = parse_record(list(raw.get("fields", [])), nbytes=raw.get("bytes"))
        else:
            fmt = parse_format(str(raw["format"]), nbytes=raw.get("bytes"), signed=bool(raw.get("signed", False)),
                               scale=raw.get("scale"))
        bits = {int(k): str(v) for k, v in dict(raw.get("bits", {})).items()}
        time_di = raw.get("time_di")
        return Item(di=di, name=name, fmt=fmt, unit=str(raw.get("unit", "")), protocol=protocol,
                    time_di=str(time_di).upper() if time_di else None, trailing=bool(raw.get("trailing", False)),
                    bits=bits)
    except KeyError as exc:
        doc.error(key, f"missing key {exc.args[0]!r}")
    except (ValueError, TypeError) as exc:
        doc.error(key, str(exc))
    return None


def load_catalog(extra: Iterable[str | Path] = (), *, builtin: bool = True) -> Catalog:
    """The built-in catalogue plus site files (later files win per DI). ``ConfigError`` lists every problem."""
    paths: list[Path] = ([BUILTIN_PATH] if builtin else []) + [Path(p) for p in extra]
    items: dict[tuple[str, str], Item] = {}
    blocks: dict[tuple[str, str], Block] = {}
    issues: list[ConfigIssue] = []
    for path in paths:
        try:
            doc = load(path, what="catalogue")
        except ConfigError as exc:
            issues.extend(exc.issues)
            continue
        _load_file(doc, items, blocks)
        issues.extend(doc.issues)
    names = {(it.protocol, it.name) for it in items.values()}
    for (_, di), b in blocks.items():
        missing = [x for x in b.items if (b.protocol, x) not in names]
        if missing:
            issues.append(ConfigIssue("catalogue", None, f"block {di}", f"items {missing} are not in the catalogue"))
    if issues:
        raise ConfigError(issues)
    return Catalog(items=tuple(items.values()), blocks=tuple(blocks.values()))


def _load_file(doc: Doc, items: dict[tuple[str, str], Item], blocks: dict[tuple[str, str], Block]) -> None:
    """The items and blocks of one catalogue file into ``items``/``blocks`` (later files win per DI)."""
    for k in set(doc.data) - {"item", "block"}:
        doc.error(k, "unknown key (expected [[item]] and [[block]])")
    for n, raw in enumerate(doc.data.get("item", [])):
        it = _parse_item(doc, raw, f"item[{n}]")
        if it is not None:
            for key, old in list(items.items()):  # a replaced DI or a renamed quantity drops the old entry
                if key[0] == it.protocol and (old.di == it.di or old.name == it.name):
                    del items[key]
            items[(it.protocol, it.di)] = it
    for n, raw in enumerate(doc.data.get("block", [])):
        unknown = set(raw) - _BLOCK_KEYS
        if unknown or "di" not in raw or "items" not in raw:
            doc.error(f"block[{n}]", f"needs di and items, unknown keys {sorted(unknown)}")
            continue
        b = Block(di=str(raw["di"]).upper(), items=tuple(str(x) for x in raw["items"]),
                  protocol=str(raw.get("protocol", "2007")))
        blocks[(b.protocol, b.di)] = b


def block_items(catalog: Catalog, block: Block) -> Sequence[Item]:
    """The items of a block in reply order."""
    out = []
    for n in block.items:
        it = catalog.by_name(n, block.protocol)
        if it is not None:
            out.append(it)
    return out
