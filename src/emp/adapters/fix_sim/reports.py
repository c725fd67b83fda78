"""What the simulated venue records beside each event: the order's state at that moment.

The direct face only hands out the events; the mock-FIX face needs the rest to write
complete ExecutionReports (CumQty, LeavesQty, AvgPx, OrderID) and OrderCancelRejects.
"""

from __future__ import annotations

from dataclasses import dataclass

from emp.domain.events import OrderEvent
from emp.domain.orders import OrderSide, OrderStatus


class CancelRejectCode:
    """Why a cancel or replace was refused, numbered as FIX CxlRejReason (102)."""

    TOO_LATE_TO_CANCEL = 0
    UNKNOWN_ORDER = 1
    DUPLICATE_CL_ORD_ID = 6
    OTHER = 99


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSnapshot:
    """One order as the venue saw it right after an event.

    Attributes:
        venue_order_id: the venue's id ("SIM-1"), ``None`` for an order never accepted.
        symbol: the order's symbol (or the request's, for an unknown order).
        side: the order's side.
        quantity: the order quantity after the event (the new one after a replace).
        filled_quantity: how much has been filled so far.
        average_price: the average fill price so far, 0.0 before any fill.
        status: the order's status after the event; REJECTED for an unknown order.
    """

    venue_order_id: str | None
    symbol: str
    side: OrderSide
    quantity: float
    filled_quantity: float
    average_price: float
    status: OrderStatus

    @property
    def leaves_quantity(self) -> float:
        if self.status.is_terminal:
            return 0.0
        return max(self.quantity - self.filled_quantity, 0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueReport:
    """An event with the order state behind it.

    Attributes:
        event: the domain event the venue produced.
        order: the order's state right after the event.
        replace_request: for an :class:`~emp.domain.events.OrderCancelRejected`, whether the
            refused request was a replace (FIX CxlRejResponseTo 2) rather than a cancel (1).
        cancel_reject_code: for an OrderCancelRejected, a :class:`CancelRejectCode`.
    """

    event: OrderEvent
    order: OrderSnapshot
    replace_request: bool = False
    cancel_reject_code: int = CancelRejectCode.OTHER
