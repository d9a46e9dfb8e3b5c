"""Base of the stage states: a dataclass of numpy columns that goes into the engine snapshot field by field.

Each state names its snapshot keys (``PREFIX`` + field name unless ``KEYS`` says otherwise): the keys of
the states that existed when snapshots were first written (``s.``, ``l.``, ``x.``) are the keys those
snapshots hold, so a snapshot of any version restores. Restoring checks every shape against a fresh state
of the same area and configuration, so a snapshot of another area is refused with the field named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, ClassVar, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["Columns"]

C = TypeVar("C", bound="Columns")


class Columns:
    PREFIX: ClassVar[str] = ""
    KEYS: ClassVar[Mapping[str, str]] = {}          # field -> snapshot key, where not PREFIX + field
    OPTIONAL: ClassVar[frozenset[str]] = frozenset()  # fields added later: older snapshots restore them fresh
    IN_EVERY_SNAPSHOT: ClassVar[bool] = True        # False: a snapshot without any of its keys restores it fresh
    WHAT: ClassVar[str] = "state"                   # how messages name it
    SCALARS: ClassVar[frozenset[str]] = frozenset()  # plain values the engine keeps in the snapshot header

    @classmethod
    def key(cls, name: str) -> str:
        return cls.KEYS.get(name, cls.PREFIX + name)

    @classmethod
    def columns(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name not in cls.SCALARS]  # type: ignore[arg-type]

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        """Snapshot key -> array, for every column."""
        return {self.key(name): getattr(self, name) for name in self.columns()}

    @classmethod
    def restore(cls: type[C], arrays: Mapping[str, npt.NDArray[Any]], like: C) -> C:
        """Rebuild from snapshot arrays; ``like`` is a fresh state of the same area and configuration
        (its ``SCALARS`` are kept: the engine sets them from the snapshot header)."""
        names = cls.columns()
        if not cls.IN_EVERY_SNAPSHOT and not any(cls.key(n) in arrays for n in names):
            return like                     # a snapshot from before this state existed: it starts fresh
        values: dict[str, Any] = {name: getattr(like, name) for name in cls.SCALARS}
        for name in names:
            want = getattr(like, name)
            got = arrays.get(cls.key(name))
            if got is None and name in cls.OPTIONAL:
                values[name] = want.copy()
                continue
            if got is None:
                raise ValueError(f"snapshot: {cls.WHAT} field {name!r} missing")
            if got.shape != want.shape:
                raise ValueError(f"snapshot: {cls.WHAT} field {name!r} has shape {got.shape}, "
                                 f"this area and configuration need {want.shape}")
            values[name] = np.array(got, dtype=want.dtype)         # a copy: the blob's arrays are not kept
        return cls(**values)
