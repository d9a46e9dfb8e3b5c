"""Bytes of a configuration file to text: UTF-8 only, and a clear error naming file, line and column.

Configuration files written on Chinese Windows machines or exported by archive systems often arrive in
GBK/GB18030 (the ANSI code page) or UTF-16 ("Unicode" in Notepad). A ``UnicodeDecodeError`` traceback
helps nobody: the error says where the first undecodable byte is, what the file probably is, and how to
convert it. A UTF-8 byte order mark (Notepad's "UTF-8 with BOM") is accepted and dropped.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from tomlconf._issues import ConfigError, ConfigIssue

__all__ = ["decode_utf8", "read_bytes", "read_text"]

_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
              (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"))


def _guess(data: bytes) -> tuple[str, str]:
    """What a non-UTF-8 text most likely is, and the iconv name to convert it from."""
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return "an 8-bit code page (Latin-1, Windows-1252 ...)", "CP1252"
    if any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return "GBK/GB18030 (Chinese Windows, archive-system exports)", "GB18030"
    return "an 8-bit code page such as GBK or Latin-1", "GB18030"


def decode_utf8(data: bytes, file: str, *, toml: bool = False, what: str = "file") -> str:
    """``data`` as text; ``ConfigError`` naming ``file``, line and column when it is not UTF-8."""
    for bom, name in _WIDE_BOMS:
        if data.startswith(bom):
            raise ConfigError([ConfigIssue(file, 1, "<encoding>",
                                           f"{what} is saved as {name}; save it as UTF-8"
                                           f"{' (the TOML specification requires UTF-8)' if toml else ''}")])
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        rule = "TOML files must be UTF-8 (TOML specification)" if toml else f"the {what} must be UTF-8"
        likely, source = _guess(data)
        message = (f"not UTF-8: byte 0x{data[exc.start]:02X} at column {column}; {rule}. It looks like "
                   f"{likely}: convert it, e.g. iconv -f {source} -t UTF-8 IN > OUT")
        raise ConfigError([ConfigIssue(file, line, "<encoding>", message)]) from None


def read_bytes(path: str | Path, *, what: str = "file") -> bytes:
    """The bytes of ``path``; ``ConfigError`` naming the file when it cannot be read."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError([ConfigIssue(str(path), None, "<file>",
                                       f"cannot read {what}: {exc.strerror or exc}")]) from None


def read_text(path: str | Path, *, toml: bool = True, what: str = "file") -> str:
    """The UTF-8 text of ``path`` (see ``decode_utf8``)."""
    return decode_utf8(read_bytes(path, what=what), str(path), toml=toml, what=what)
