"""The venue's per-execution events, built without a frozen dataclass's slow ``__init__``.

A frozen slotted dataclass's generated ``__init__`` goes through ``object.__setattr__``
once per field; writing the slots through their descriptors builds the same (equal,
immutable) object in about half the time. Each builder checks the class's fields first
and falls back to the constructor when the layout is not what it expects, so a changed
domain type can never be built half-initialised.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from emp.domain.events import OrderAccepted, OrderFilled
from emp.domain.fills import Fill


def _setters(cls: type, names: tuple[str, ...]) -> tuple[Callable[[Any, Any], None], ...] | None:
    """The slot setters of ``names`` if they are exactly ``cls``'s fields, else ``None``."""
    fields = sorted(f.name for f in dataclasses.fields(cls))
    descriptors = [cls.__dict__.get(name) for name in names]
    if fields != sorted(names) or any(type(d).__name__ != "member_descriptor" for d in descriptors):
        return None  # pragma: no cover - the layout moved
    return tuple(d.__set__ for d in descriptors)  # type: ignore[union-attr]


def accepted_builder() -> Callable[[str, str, int], OrderAccepted]:
    """``(client_order_id, venue_order_id, ts_ns) -> OrderAccepted``."""
    setters = _setters(OrderAccepted, ("client_order_id", "venue_order_id", "ts_ns"))
    if setters is None:  # pragma: no cover - the layout moved

        def construct(client_order_id: str, venue_order_id: str, ts_ns: int) -> OrderAccepted:
            return OrderAccepted(
                client_order_id=client_order_id, venue_order_id=venue_order_id, ts_ns=ts_ns
            )

        return construct
    new = object.__new__
    set_client, set_venue, set_ts = setters

    def build(client_order_id: str, venue_order_id: str, ts_ns: int) -> OrderAccepted:
        event = new(OrderAccepted)
        set_client(event, client_order_id)
        set_venue(event, venue_order_id)
        set_ts(event, ts_ns)
        return event

    return build


def filled_builder() -> Callable[[Fill], OrderFilled]:
    """``fill -> OrderFilled(fill=fill)``."""
    setters = _setters(OrderFilled, ("fill",))
    if setters is None:  # pragma: no cover - the layout moved
        return lambda fill: OrderFilled(fill=fill)
    new = object.__new__
    (set_fill,) = setters

    def build(fill: Fill) -> OrderFilled:
        event = new(OrderFilled)
        set_fill(event, fill)
        return event

    return build
