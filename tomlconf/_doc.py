"""A parsed TOML document that knows where its keys stand and collects the problems found in it."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from tomlconf._issues import ConfigError, ConfigIssue
from tomlconf._positions import key_lines
from tomlconf._text import read_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Doc", "load", "parse", "parse_toml"]


class Doc:
    """``data`` (what ``tomllib`` returned) with the line of every key, and the issues found so far.

    Keys are dotted paths with array-of-tables entries indexed: ``bus[1].baud``, ``area[0].meter[3]``.
    """

    def __init__(self, data: dict[str, Any], lines: dict[str, int] | None, file: str, text: str = "") -> None:
        self.data = data
        self._lines = lines
        self._text = text
        self.file = file
        self.issues: list[ConfigIssue] = []

    @property
    def lines(self) -> dict[str, int]:
        """Key path -> line; scanned from the text the first time a line is asked for (an error)."""
        if self._lines is None:
            self._lines = key_lines(self._text)
        return self._lines

    def line(self, key: str) -> int | None:
        """Line of ``key``; a key the file does not spell out stands on the line of its table or list."""
        k = key
        while k:
            if k in self.lines:
                return self.lines[k]
            k = k[: k.rindex("[")] if k.endswith("]") else k.rsplit(".", 1)[0] if "." in k else ""
        return None

    def error(self, key: str, message: str, device: str | None = None, line: int | None = None) -> None:
        """Record one problem at ``key`` (its line unless ``line`` is given)."""
        self.issues.append(ConfigIssue(file=self.file, line=line or self.line(key), key=key,
                                       message=message, device=device))

    def extend(self, issues: list[ConfigIssue]) -> None:
        """Record problems found elsewhere (another file this one refers to)."""
        self.issues.extend(issues)

    def raise_if_errors(self) -> None:
        """``ConfigError`` with every issue recorded, if there is one."""
        if self.issues:
            raise ConfigError(self.issues)


def parse_toml(text: str, file: str) -> dict[str, Any]:
    """TOML text as a dict; ``ConfigError`` naming the file and line when it is not valid TOML."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))   # Python < 3.14 has no lineno attribute
        line = getattr(exc, "lineno", None) or (int(found.group(1)) if found else None)
        raise ConfigError([ConfigIssue(file=file, line=line, key="<toml>",
                                       message=f"not valid TOML: {exc}")]) from None


def parse(text: str, file: str = "<string>") -> Doc:
    """A ``Doc`` of TOML ``text`` (``ConfigError`` when it is not TOML)."""
    return Doc(parse_toml(text, file), None, file, text)


def load(path: str | Path, *, what: str = "file") -> Doc:
    """A ``Doc`` of the TOML file ``path``; unreadable, non-UTF-8 and non-TOML files are ``ConfigError``."""
    return parse(read_text(path, toml=True, what=what), str(path))
