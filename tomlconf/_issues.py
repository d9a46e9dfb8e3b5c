"""What a rejected configuration carries: every problem, each with file, line, key path and device."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ConfigError", "ConfigIssue"]


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a configuration: where it is and what is wrong."""

    file: str
    line: int | None          # 1-based line in ``file``; None when the problem has no single line
    key: str                  # dotted key path, e.g. "bus[1].baud" or "area[0].meter[3].phase"
    message: str
    device: str | None = None  # 'bus "rs485-1"', 'meter "0301"' ... where there is one

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        dev = f" {self.device}:" if self.device else ""
        return f"{where}: {self.key}:{dev} {self.message}"


class ConfigError(Exception):
    """A configuration was rejected. ``issues`` lists every problem found, not only the first."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))

    def report(self, file: str, note: str = "") -> str:
        """What a command prints: ``FILE: N error(s)[; note]`` and every issue indented below."""
        head = f"{file}: {len(self.issues)} error(s)" + (f"; {note}" if note else "")
        return "\n".join([head, *(f"  {issue}" for issue in self.issues)])
