"""Where a process's thread stacks go when faulthandler writes them (a stop that hangs, ``kill -USR1``)."""

from __future__ import annotations

import sys
from typing import Any


def stack_file() -> Any:
    """Where faulthandler writes the threads' stacks: stderr (the journal) when it is a file with a
    descriptor, else the process's own stderr (a caller that captured ``sys.stderr``)."""
    try:
        sys.stderr.fileno()
        return sys.stderr
    except (AttributeError, OSError, ValueError):
        return sys.__stderr__
