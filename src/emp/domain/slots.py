"""Frozen slotted value objects built through their slot descriptors (hot paths only).

A frozen dataclass's generated ``__init__`` goes through ``object.__setattr__`` once per
field; writing the slots through their descriptors builds the same (equal, immutable)
object in about half the time. :func:`slot_setters` hands the descriptors' setters out only
when ``names`` are exactly the class's fields, each a slot — so a builder that falls back
to the constructor on ``None`` can never build a changed type half-initialised.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

Setter = Callable[[Any, Any], None]


def slot_setters(cls: type, names: tuple[str, ...]) -> tuple[Setter, ...] | None:
    """``cls``'s slot setters in the order of ``names``; ``None`` if the layout differs."""
    fields = sorted(f.name for f in dataclasses.fields(cls))
    descriptors = [cls.__dict__.get(name) for name in names]
    if fields != sorted(names) or any(type(d).__name__ != "member_descriptor" for d in descriptors):
        return None
    return tuple(d.__set__ for d in descriptors)  # type: ignore[union-attr]
