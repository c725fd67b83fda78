"""The venue's per-execution events, written through their slots
(:mod:`emp.domain.slots`: about half a frozen dataclass's ``__init__``; the constructor
should the layout move)."""

from __future__ import annotations

from collections.abc import Callable

from emp.domain.events import OrderAccepted, OrderFilled
from emp.domain.fills import Fill
from emp.domain.slots import slot_setters


def accepted_builder() -> Callable[[str, str, int], OrderAccepted]:
    """``(client_order_id, venue_order_id, ts_ns) -> OrderAccepted``."""
    setters = slot_setters(OrderAccepted, ("client_order_id", "venue_order_id", "ts_ns"))
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
    setters = slot_setters(OrderFilled, ("fill",))
    if setters is None:  # pragma: no cover - the layout moved
        return lambda fill: OrderFilled(fill=fill)
    new = object.__new__
    (set_fill,) = setters

    def build(fill: Fill) -> OrderFilled:
        event = new(OrderFilled)
        set_fill(event, fill)
        return event

    return build
