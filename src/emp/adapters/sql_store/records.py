"""Orders, fills and quarantined rows to and from plain dict rows; JSON for configs.

The same mapping as the DuckDB store's (adapters are independent, so it is restated).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from emp.domain.bar_validation import QuarantinedBar
from emp.domain.fills import Fill
from emp.domain.orders import Order
from emp.domain.records import fill_from_record, order_from_record
from emp.ports.quarantine_store import QuarantineEntry, check_quarantine_batch
from emp.ports.store_errors import StoreError, StoreIntegrityError

ORDER_COLUMNS: tuple[str, ...] = (
    "seq",
    "client_order_id",
    "symbol",
    "side",
    "order_type",
    "quantity",
    "limit_price",
    "time_in_force",
    "strategy",
    "status",
    "status_before_request",
    "filled_quantity",
    "average_fill_price",
    "venue_order_id",
    "reject_reason",
    "created_ns",
)
FILL_COLUMNS: tuple[str, ...] = (
    "seq",
    "exec_id",
    "client_order_id",
    "symbol",
    "side",
    "quantity",
    "price",
    "fee",
    "ts_ns",
)
QUARANTINE_COLUMNS: tuple[str, ...] = (
    "source",
    "symbol",
    "ts_ns",
    "occurrence",
    "source_row",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "reasons",
    "detail",
)


def order_rows(run_id: str, orders: Sequence[Order]) -> list[dict[str, Any]]:
    rows = []
    for seq, o in enumerate(orders):
        if not isinstance(o, Order):
            raise StoreIntegrityError(f"expected an Order, was {type(o).__name__}")
        before = o.status_before_request
        rows.append(
            {
                "run_id": run_id,
                "seq": seq,
                "client_order_id": o.client_order_id,
                "symbol": o.symbol,
                "side": o.side.value,
                "order_type": o.order_type.value,
                "quantity": float(o.quantity),
                "limit_price": None if o.limit_price is None else float(o.limit_price),
                "time_in_force": o.time_in_force.value,
                "strategy": o.strategy,
                "status": o.status.value,
                "status_before_request": None if before is None else before.value,
                "filled_quantity": float(o.filled_quantity),
                "average_fill_price": float(o.average_fill_price),
                "venue_order_id": o.venue_order_id,
                "reject_reason": o.reject_reason,
                "created_ns": int(o.created_ns),
            }
        )
    return rows


def fill_rows(run_id: str, fills: Sequence[Fill]) -> list[dict[str, Any]]:
    rows = []
    for seq, f in enumerate(fills):
        if not isinstance(f, Fill):
            raise StoreIntegrityError(f"expected a Fill, was {type(f).__name__}")
        rows.append(
            {
                "run_id": run_id,
                "seq": seq,
                "exec_id": f.exec_id,
                "client_order_id": f.client_order_id,
                "symbol": f.symbol,
                "side": f.side.value,
                "quantity": float(f.quantity),
                "price": float(f.price),
                "fee": float(f.fee),
                "ts_ns": int(f.ts_ns),
            }
        )
    return rows


def order_from_row(row: Sequence[Any]) -> Order:
    """The :class:`Order` of a row selected with :data:`ORDER_COLUMNS`, status included."""
    return order_from_record(dict(zip(ORDER_COLUMNS, row, strict=True)))


def fill_from_row(row: Sequence[Any]) -> Fill:
    """The :class:`Fill` of a row selected with :data:`FILL_COLUMNS`."""
    return fill_from_record(dict(zip(FILL_COLUMNS, row, strict=True)))


def quarantine_rows(rows: Sequence[QuarantinedBar], source: str) -> list[dict[str, Any]]:
    """Rows for the quarantine table; refuses non-bars, reasonless rows and repeated keys."""
    check_quarantine_batch(rows, source)
    out = []
    for r in rows:
        out.append(
            {
                "source": source,
                "symbol": r.symbol,
                "ts_ns": int(r.ts_ns),
                "occurrence": int(r.occurrence),
                "source_row": int(r.source_row),
                "open": float(r.open),
                "high": float(r.high),
                "low": float(r.low),
                "close": float(r.close),
                "volume": float(r.volume),
                "reasons": ",".join(str(reason) for reason in r.reasons),
                "detail": r.detail,
            }
        )
    return out


def entry_from_row(row: Sequence[Any]) -> QuarantineEntry:
    """The entry of a row selected with :data:`QUARANTINE_COLUMNS`."""
    return QuarantineEntry.from_record(dict(zip(QUARANTINE_COLUMNS, row, strict=True)))


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
