"""Orders and fills to and from column arrays and rows; JSON for configs and summaries."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from emp.domain.fills import Fill
from emp.domain.orders import Order
from emp.domain.records import fill_from_record, order_from_record
from emp.ports.store_errors import StoreError, StoreIntegrityError

#: The stored columns of an order (after ``run_id``) and their SQL types, in row order.
ORDER_COLUMNS: dict[str, str] = {
    "seq": "INTEGER",
    "client_order_id": "VARCHAR",
    "symbol": "VARCHAR",
    "side": "VARCHAR",
    "order_type": "VARCHAR",
    "quantity": "DOUBLE",
    "limit_price": "DOUBLE",
    "time_in_force": "VARCHAR",
    "strategy": "VARCHAR",
    "status": "VARCHAR",
    "status_before_request": "VARCHAR",
    "filled_quantity": "DOUBLE",
    "average_fill_price": "DOUBLE",
    "venue_order_id": "VARCHAR",
    "reject_reason": "VARCHAR",
    "created_ns": "BIGINT",
}

#: The stored columns of a fill (after ``run_id``) and their SQL types, in row order.
FILL_COLUMNS: dict[str, str] = {
    "seq": "INTEGER",
    "exec_id": "VARCHAR",
    "client_order_id": "VARCHAR",
    "symbol": "VARCHAR",
    "side": "VARCHAR",
    "quantity": "DOUBLE",
    "price": "DOUBLE",
    "fee": "DOUBLE",
    "ts_ns": "BIGINT",
}


def _objects(values: Sequence[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = list(values)
    return array


def stage_orders(orders: Sequence[Order]) -> dict[str, np.ndarray]:
    """Column arrays of ``orders`` for one bulk insert (``None`` becomes NULL)."""
    for order in orders:
        if not isinstance(order, Order):
            raise StoreIntegrityError(f"expected an Order, was {type(order).__name__}")
    status_before = [order.status_before_request for order in orders]
    return {
        "seq": np.arange(len(orders), dtype=np.int64),
        "client_order_id": _objects([o.client_order_id for o in orders]),
        "symbol": _objects([o.symbol for o in orders]),
        "side": _objects([o.side.value for o in orders]),
        "order_type": _objects([o.order_type.value for o in orders]),
        "quantity": np.array([o.quantity for o in orders], dtype=np.float64),
        "limit_price": _objects([o.limit_price for o in orders]),
        "time_in_force": _objects([o.time_in_force.value for o in orders]),
        "strategy": _objects([o.strategy for o in orders]),
        "status": _objects([o.status.value for o in orders]),
        "status_before_request": _objects([s.value if s else None for s in status_before]),
        "filled_quantity": np.array([o.filled_quantity for o in orders], dtype=np.float64),
        "average_fill_price": np.array([o.average_fill_price for o in orders], dtype=np.float64),
        "venue_order_id": _objects([o.venue_order_id for o in orders]),
        "reject_reason": _objects([o.reject_reason for o in orders]),
        "created_ns": np.array([o.created_ns for o in orders], dtype=np.int64),
    }


def stage_fills(fills: Sequence[Fill]) -> dict[str, np.ndarray]:
    """Column arrays of ``fills`` for one bulk insert."""
    for fill in fills:
        if not isinstance(fill, Fill):
            raise StoreIntegrityError(f"expected a Fill, was {type(fill).__name__}")
    return {
        "seq": np.arange(len(fills), dtype=np.int64),
        "exec_id": _objects([f.exec_id for f in fills]),
        "client_order_id": _objects([f.client_order_id for f in fills]),
        "symbol": _objects([f.symbol for f in fills]),
        "side": _objects([f.side.value for f in fills]),
        "quantity": np.array([f.quantity for f in fills], dtype=np.float64),
        "price": np.array([f.price for f in fills], dtype=np.float64),
        "fee": np.array([f.fee for f in fills], dtype=np.float64),
        "ts_ns": np.array([f.ts_ns for f in fills], dtype=np.int64),
    }


def order_from_row(row: Sequence[Any]) -> Order:
    """The :class:`Order` of a row selected with :data:`ORDER_COLUMNS`, status included."""
    return order_from_record(dict(zip(ORDER_COLUMNS, row, strict=True)))


def fill_from_row(row: Sequence[Any]) -> Fill:
    """The :class:`Fill` of a row selected with :data:`FILL_COLUMNS`."""
    return fill_from_record(dict(zip(FILL_COLUMNS, row, strict=True)))


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"expected a JSON value, was {type(value).__name__}")


def to_json(value: Mapping[str, Any], what: str) -> str:
    """``value`` as JSON text with sorted keys; :class:`StoreError` if it is not JSON."""
    try:
        return json.dumps(dict(value), sort_keys=True, default=_plain)
    except (TypeError, ValueError) as error:
        raise StoreError(f"the {what} cannot be stored as JSON: {error}") from error
