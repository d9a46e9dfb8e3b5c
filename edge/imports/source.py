"""Where the rows come from: a text file (any supported encoding, turned into UTF-8 chunks) or an Excel
workbook (``openpyxl``, read-only, turned into CSV lines), behind one interface for the scanner.

``chunks()`` yields ``(utf8_bytes, first_line, raw_bytes_done)``: whole lines only, the header and anything
above it left out, line numbers as the user sees them (text: the file's line; xlsx: the sheet's row).
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edge.imports.sniff import Head, SniffError, head_from_rows, sniff_text

__all__ = ["Source", "TextSource", "XlsxSource", "open_source"]

_SHEET_LINES = 10_000_000          # xlsx line numbers: sheet index × this + row (a sheet has ≤ 1 048 576 rows)


class Source:
    path: Path
    head: Head
    total_bytes: int

    def chunks(self, chunk_bytes: int) -> Iterator[tuple[bytes, int, int]]:
        raise NotImplementedError

    def where(self, line: int) -> str:
        return f"line {line}"

    def column(self, col: int) -> str:
        name = self.head.header[col] if 0 <= col < len(self.head.header) else ""
        return f"column {col + 1}" + (f" ({name})" if name else "")

    @property
    def kind(self) -> str:
        return "text"


class TextSource(Source):
    def __init__(self, path: Path, head: Head) -> None:
        self.path, self.head = path, head
        self.total_bytes = path.stat().st_size
        self.replaced = 0              # characters that did not decode (U+FFFD in the rows)

    def chunks(self, chunk_bytes: int) -> Iterator[tuple[bytes, int, int]]:
        enc = self.head.encoding
        decoder = None if enc == "utf-8" else codecs.getincrementaldecoder(enc)("replace")
        skip = self.head.header_line            # lines to drop: the header and everything above it
        line = 1
        rest = b""
        done = 0
        with self.path.open("rb") as fh:
            first = True
            while True:
                block = fh.read(chunk_bytes)
                done += len(block)
                if first and enc == "utf-8" and block.startswith(codecs.BOM_UTF8):
                    block = block[3:]
                first = False
                if decoder is not None:
                    text = decoder.decode(block, final=not block)
                    self.replaced += text.count("\ufffd")
                    block = text.encode("utf-8")
                data = rest + block
                if block:
                    cut = data.rfind(b"\n") + 1
                    data, rest = data[:cut], data[cut:]
                while skip and data:
                    nl = data.find(b"\n")
                    data = data[nl + 1:] if nl >= 0 else b""
                    skip -= 1
                    line += 1
                if data:
                    yield data, line, done
                    line += data.count(b"\n")
                if not block:
                    return


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ") if v.tzinfo else v.strftime("%Y-%m-%d %H:%M:%S") + (
            f".{v.microsecond:06d}" if v.microsecond else "")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _csv_line(cells: tuple[Any, ...]) -> str:
    out = []
    for v in cells:
        s = _cell(v).replace("\r", " ").replace("\n", " ")
        out.append('"' + s.replace('"', '""') + '"' if ("," in s or '"' in s) else s)
    return ",".join(out)


class XlsxSource(Source):
    """Every sheet whose header matches the first one (or the sheet named in the mapping), in order."""

    def __init__(self, path: Path, sheet: str, header_line: int, wanted: tuple[str, ...]) -> None:
        import openpyxl

        self.path = path
        self.total_bytes = path.stat().st_size
        try:
            self.book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
            raise SniffError(f"not a readable .xlsx workbook: {exc}") from None
        names = self.book.sheetnames
        if sheet and sheet not in names:
            raise SniffError(f"no sheet {sheet!r}; sheets: {', '.join(names)}")
        self.names = [sheet] if sheet else names
        self.header_rows: dict[str, int] = {}
        self.skipped: list[str] = []
        self.head = self._heads(header_line, wanted)

    def _first_rows(self, name: str) -> list[list[str]]:
        rows = []
        for cells in self.book[name].iter_rows(max_row=40, values_only=True):
            rows.append([_cell(v) for v in cells])
        return rows

    def _heads(self, header_line: int, wanted: tuple[str, ...]) -> Head:
        head: Head | None = None
        for name in self.names:
            rows = self._first_rows(name)
            if not any(any(c.strip() for c in r) for r in rows):
                self.skipped.append(f"sheet {name!r} is empty")
                continue
            try:
                i, header, trailing = head_from_rows(rows, header_line, wanted)
            except SniffError as exc:
                if head is None:
                    raise SniffError(f"sheet {name!r}: {exc}") from None
                self.skipped.append(f"sheet {name!r} skipped: no header like the first sheet's")
                continue
            if head is not None and header != head.header:
                self.skipped.append(f"sheet {name!r} skipped: its header {header} differs from the first sheet's")
                continue
            self.header_rows[name] = i + 1
            if head is None:
                head = Head(encoding="xlsx", delimiter=",", header_line=i + 1, header=header, trailing_empty=trailing,
                            preamble=[",".join(r) for r in rows[:i]], rows=rows[i + 1:],
                            row_lines=list(range(i + 2, len(rows) + 1)))
        if head is None:
            raise SniffError("no sheet holds rows")
        head.notes.extend(self.skipped)
        self.names = [n for n in self.names if n in self.header_rows]
        return head

    @property
    def kind(self) -> str:
        return "xlsx"

    def where(self, line: int) -> str:
        return f"sheet {self.names[line // _SHEET_LINES]!r} row {line % _SHEET_LINES}"

    def column(self, col: int) -> str:
        letters = ""
        k = col + 1
        while k:
            k, r = divmod(k - 1, 26)
            letters = chr(65 + r) + letters
        name = self.head.header[col] if 0 <= col < len(self.head.header) else ""
        return f"column {letters}" + (f" ({name})" if name else "")

    def chunks(self, chunk_bytes: int) -> Iterator[tuple[bytes, int, int]]:
        rows_per_chunk = max(1, chunk_bytes // 64)
        width = len(self.head.header)
        for s, name in enumerate(self.names):
            skip = self.header_rows[name]
            buf = io.StringIO()
            first = n = 0
            for r, cells in enumerate(self.book[name].iter_rows(values_only=True), start=1):
                if r <= skip:
                    continue
                if n == 0:
                    first = s * _SHEET_LINES + r
                if len(cells) < width:          # a sheet row ends at its last written cell
                    cells = (*cells, *(None,) * (width - len(cells)))
                buf.write(_csv_line(cells) + "\n")
                n += 1
                if n >= rows_per_chunk:
                    yield buf.getvalue().encode("utf-8"), first, 0
                    buf, n = io.StringIO(), 0
            if n:
                yield buf.getvalue().encode("utf-8"), first, 0
        self.book.close()


def open_source(path: Path, *, encoding: str, delimiter: str, header_line: int, sheet: str,
                wanted: tuple[str, ...]) -> Source:
    """A text or xlsx source (by content, not by name); ``SniffError`` when the head cannot be understood."""
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic == b"PK\x03\x04":
        return XlsxSource(path, sheet, header_line, wanted)
    if magic[:4] == b"\xd0\xcf\x11\xe0":
        raise SniffError("this is an old binary Excel .xls workbook: save it as .xlsx or CSV")
    return TextSource(path, sniff_text(path, encoding=encoding, delimiter=delimiter, header_line=header_line,
                                       wanted=wanted))

