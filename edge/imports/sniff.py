"""Sniffing a text export before anything runs: encoding, delimiter, header line, preamble, trailing columns.

- **Encoding.** A BOM decides (UTF-8, UTF-16); otherwise UTF-8 when the head decodes as UTF-8, else GB18030
  (the superset of GBK and GB2312 that Chinese archive systems write). When both decode, the one whose header
  is recognised wins.
- **Delimiter.** The one of ``, ; tab |`` that splits the head's lines into the same number of fields
  (outside double quotes) most often.
- **Header.** The first of the first 15 non-empty lines with at least two cells that name a role or a
  quantity (``edge.imports.vocab``), or the line given in the mapping; lines above it are a preamble
  (titles, export dates) and are reported. Empty header cells at the end (Excel's trailing columns) are
  dropped.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edge.imports.vocab import quantity_of, role_of

__all__ = ["HEAD_BYTES", "Head", "SniffError", "decode_head", "find_header", "head_from_rows", "known_encoding",
           "sniff_text"]

HEAD_BYTES = 256 << 10
_DELIMS = (",", "\t", ";", "|")
_ENCODINGS = {"utf8": "utf-8", "utf-8": "utf-8", "utf-8-sig": "utf-8", "gbk": "gb18030", "gb2312": "gb18030",
              "gb18030": "gb18030", "utf-16": "utf-16", "utf16": "utf-16"}


class SniffError(ValueError):
    """The head of the file cannot be understood; the message says what was found."""


@dataclass
class Head:
    """What the head of a file says about its shape. ``rows`` are the cells of the lines after the header."""

    encoding: str
    delimiter: str
    header_line: int                       # 1-based line (text) or row (xlsx) of the header
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    row_lines: list[int] = field(default_factory=list)
    preamble: list[str] = field(default_factory=list)
    trailing_empty: int = 0                # empty header cells dropped at the end
    bom: bool = False
    crlf: bool = False
    notes: list[str] = field(default_factory=list)


def known_encoding(name: str) -> str:
    try:
        return _ENCODINGS[name.strip().lower()]
    except KeyError:
        raise SniffError(f"encoding {name!r} is not supported; use one of utf-8, gbk, gb18030, utf-16") from None


def decode_head(raw: bytes, encoding: str = "auto") -> list[tuple[str, str]]:
    """Candidate (encoding, text) pairs for the head bytes, most likely first."""
    if raw.startswith(codecs.BOM_UTF8):
        return [("utf-8", raw[3:].decode("utf-8", "replace"))]
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return [("utf-16", raw.decode("utf-16", "replace"))]
    if encoding != "auto":
        enc = known_encoding(encoding)
        return [(enc, raw.decode(enc, "replace"))]
    cut = raw[: raw.rfind(b"\n") + 1] if len(raw) >= HEAD_BYTES and b"\n" in raw else raw
    out = []
    for enc in ("utf-8", "gb18030"):
        try:
            out.append((enc, cut.decode(enc)))
        except UnicodeDecodeError:
            continue
    return out or [("gb18030", cut.decode("gb18030", "replace"))]


def _split(line: str, delim: str) -> list[str]:
    return next(csv.reader(io.StringIO(line), delimiter=delim), [])


def _delimiter(lines: list[str]) -> str:
    best, score = ",", -1.0
    for d in _DELIMS:
        counts = [len(_split(ln, d)) for ln in lines[:30]]
        multi = [c for c in counts if c > 1]
        if not multi:
            continue
        mode = max(set(multi), key=multi.count)
        s = multi.count(mode) + 0.01 * mode
        if s > score:
            best, score = d, s
    return best


def _readings_header(cell: str) -> bool:
    return bool(role_of(cell) or quantity_of(cell))


def _recognised(cells: list[str], known: Callable[[str], bool]) -> int:
    return sum(1 for c in cells if c.strip() and known(c))


def find_header(rows: list[list[str]], header_line: int = 0, wanted: tuple[str, ...] = (),
                known: Callable[[str], bool] = _readings_header) -> int:
    """0-based index in ``rows`` of the header: given (1-based), holding every ``wanted`` header, or the
    first with two recognised cells; ``SniffError`` when none is found."""
    if header_line:
        if header_line > len(rows):
            raise SniffError(f"header line {header_line} is beyond the head of the file ({len(rows)} lines)")
        return header_line - 1
    for i, cells in enumerate(rows[:15]):
        stripped = [c.strip() for c in cells]
        if wanted and all(w in stripped for w in wanted):
            return i
        if not wanted and _recognised(cells, known) >= 2:
            return i
    what = f"line holding the headers {list(wanted)}" if wanted else "header line"
    first = " | ".join(",".join(c.strip() for c in r)[:60] for r in rows[:3])
    raise SniffError(f"no {what} in the first 15 lines (they begin: {first!r}); name the columns in a "
                     "mapping file ([columns] ts = ..., device = ...) or set header_line")


def head_from_rows(rows: list[list[str]], header_line: int, wanted: tuple[str, ...],
                   known: Callable[[str], bool] = _readings_header) -> tuple[int, list[str], int]:
    """(index of the header in ``rows``, its cells without trailing empties, how many were dropped)."""
    i = find_header(rows, header_line, wanted, known)
    header = [c.strip() for c in rows[i]]
    trailing = 0
    while header and not header[-1]:
        header.pop()
        trailing += 1
    return i, header, trailing


def sniff_text(path: Path, *, encoding: str = "auto", delimiter: str = "auto", header_line: int = 0,
               wanted: tuple[str, ...] = (), known: Callable[[str], bool] = _readings_header) -> Head:
    """Sniff a text export (``SniffError`` when its head cannot be understood)."""
    with path.open("rb") as fh:
        raw = fh.read(HEAD_BYTES)
    if not raw.strip():
        raise SniffError("the file is empty")
    last: SniffError | None = None
    for enc, text in decode_head(raw, encoding):
        try:
            head = _sniff_decoded(raw, enc, text, delimiter, header_line, wanted, known)
        except SniffError as exc:
            last = exc
            continue
        return head
    assert last is not None
    raise last


def _sniff_decoded(raw: bytes, enc: str, text: str, delimiter: str, header_line: int,
                   wanted: tuple[str, ...], known: Callable[[str], bool]) -> Head:
    bom = raw.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    all_lines = text.split("\n")
    lines = [ln.rstrip("\r") for ln in all_lines]
    numbered = [(n, ln) for n, ln in enumerate(lines, start=1) if ln.strip()][:60]
    delim = delimiter if delimiter != "auto" else _delimiter([ln for _, ln in numbered])
    rows = [_split(ln, delim) for _, ln in numbered]
    i, header, trailing = head_from_rows(rows, header_line, wanted, known)
    hline = numbered[i][0]
    head = Head(encoding=enc, delimiter=delim, header_line=hline, header=header, trailing_empty=trailing,
                bom=bom, crlf="\r\n" in text[:4096], preamble=[ln for n, ln in numbered[:i]],
                rows=rows[i + 1:], row_lines=[n for n, _ in numbered[i + 1:]])
    return head
