"""Orders and fills as plain records (name → value), the shape every store writes.

Stores differ in technology, not in what an order is: each adapter maps its rows through
these functions, so a stored order comes back equal whatever the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emp.domain.fills import Fill
from emp.domain.orders import Order, OrderSide, OrderStatus, OrderType, TimeInForce


def order_from_record(value: Mapping[str, Any]) -> Order:
    """The :class:`Order` a record describes, status and fill state included."""
    before = value["status_before_request"]
    return Order(
        client_order_id=value["client_order_id"],
        symbol=value["symbol"],
        side=OrderSide(value["side"]),
        quantity=float(value["quantity"]),
        order_type=OrderType(value["order_type"]),
        limit_price=None if value["limit_price"] is None else float(value["limit_price"]),
        time_in_force=TimeInForce(value["time_in_force"]),
        strategy=value["strategy"],
        created_ns=int(value["created_ns"]),
        status=OrderStatus(value["status"]),
        filled_quantity=float(value["filled_quantity"]),
        average_fill_price=float(value["average_fill_price"]),
        venue_order_id=value["venue_order_id"],
        reject_reason=value["reject_reason"],
        status_before_request=None if before is None else OrderStatus(before),
    )


def fill_from_record(value: Mapping[str, Any]) -> Fill:
    """The :class:`Fill` a record describes."""
    return Fill(
        exec_id=value["exec_id"],
        client_order_id=value["client_order_id"],
        symbol=value["symbol"],
        side=OrderSide(value["side"]),
        quantity=float(value["quantity"]),
        price=float(value["price"]),
        fee=float(value["fee"]),
        ts_ns=int(value["ts_ns"]),
    )
