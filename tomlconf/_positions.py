"""Where each key of a TOML document stands: dotted key path -> 1-based line.

``tomllib`` parses without positions, so this scanner walks the text once and records the line of every
table header and key assignment, with array-of-tables entries indexed (``bus[1].baud``). Keys inside
inline tables and multi-line arrays map to the line of the key that opens them. It only has to agree
with ``tomllib`` on documents that ``tomllib`` accepted.
"""

from __future__ import annotations

import re

__all__ = ["key_lines"]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")
_INLINE_KEY = re.compile(r"""(?:^|[{,])\s*([A-Za-z0-9_-]+|"[^"]*")\s*=""")


def _split_key(raw: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", raw)
    return [p.strip("\"'") for p in parts]


def key_lines(text: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    counters: dict[str, int] = {}
    prefix = ""
    in_multiline: str | None = None  # closing delimiter of a multi-line string
    depth = 0  # open brackets of a multi-line array / inline table
    for lineno, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if in_multiline in line:
                in_multiline = None
            continue
        if depth > 0:
            depth += line.count("[") + line.count("{") - line.count("]") - line.count("}")
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = _HEADER.match(line)
        if m and not _KEY.match(line):
            path = _split_key(m.group(2))
            dotted = ".".join(path)
            if m.group(1) == "[[":
                idx = counters.get(dotted, 0)
                counters[dotted] = idx + 1
                # nested arrays of tables restart their count under each parent entry
                for k in list(counters):
                    if k.startswith(dotted + ".") or k.startswith(f"{dotted}[{idx}]."):
                        counters.pop(k, None)
                prefix = f"{_resolve(dotted, counters, exclude_last=True)}[{idx}]"
            else:
                prefix = _resolve(dotted, counters, exclude_last=False)
            lines.setdefault(prefix, lineno)
            continue
        km = _KEY.match(line)
        if not km:
            continue
        key = ".".join(_split_key(km.group(1)))
        full = f"{prefix}.{key}" if prefix else key
        lines.setdefault(full, lineno)
        rest = line[km.end():]
        for delim in ('"""', "'''"):
            if rest.count(delim) == 1:
                in_multiline = delim
        if rest.lstrip().startswith("{"):
            for ik in _INLINE_KEY.findall(rest):
                lines.setdefault(f"{full}.{ik.strip(chr(34))}", lineno)
        depth = rest.count("[") + rest.count("{") - rest.count("]") - rest.count("}")
        depth = max(depth, 0)
    return lines


def _resolve(dotted: str, counters: dict[str, int], *, exclude_last: bool) -> str:
    """Insert the current index of every enclosing array of tables into ``dotted``."""
    parts = dotted.split(".")
    out: list[str] = []
    for i, part in enumerate(parts):
        out.append(part)
        sofar = ".".join(parts[: i + 1])
        last = i == len(parts) - 1
        if sofar in counters and not (last and exclude_last):
            out[-1] = f"{part}[{counters[sofar] - 1}]"
    return ".".join(out)
