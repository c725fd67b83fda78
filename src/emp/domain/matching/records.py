"""What the matching engine reports: an event, the order state behind it, and its ExecID.

The engine answers every command and market update with :class:`MatchReport` records, in
the order things happened. A report pairs the domain event with the order's state right
after it (what a FIX ExecutionReport must also say: CumQty, LeavesQty, AvgPx, OrderID) and
with the ExecID the venue gave it, so a FIX face can write complete messages and a client
can deduplicate them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from emp.domain.events import OrderEvent
from emp.domain.orders import OrderSide, OrderStatus, OrderType, TimeInForce


class QueueModel(Enum):
    """Where an own passive order stands in its price level's queue.

    FRONT: ahead of all displayed (market-data) size at its price: the optimistic model
        with no queue; it fills on the first trade at its price.
    RISK_AVERSE: behind the size displayed when it arrived; displayed size that disappears
        later is taken from the back of the queue (cancels happen behind us), so the queue
        ahead shrinks only through trades (hftbacktest's RiskAdverseQueueModel).
    PROPORTIONAL: behind the displayed size; disappearing size is taken from every
        displayed lot in proportion to its size, ahead of and behind own orders alike.
    """

    FRONT = "FRONT"
    RISK_AVERSE = "RISK_AVERSE"
    PROPORTIONAL = "PROPORTIONAL"


class CancelRejectReason:
    """Why a cancel or replace was refused, numbered as FIX CxlRejReason (102)."""

    TOO_LATE_TO_CANCEL = 0
    UNKNOWN_ORDER = 1
    DUPLICATE_CL_ORD_ID = 6
    OTHER = 99


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderState:
    """One order as the venue saw it right after an event.

    Attributes:
        owner: who sent the order (a FIX session's counterparty CompID; "" in process).
        client_order_id: the order's current ClOrdID (the request's, for a refusal).
        order_id: the venue's OrderID; ``None`` for an order it never accepted.
        symbol: the order's symbol.
        side: the order's side.
        order_type: MARKET or LIMIT.
        time_in_force: DAY, GTC, IOC or FOK.
        limit_price: the limit price, ``None`` for a market order.
        quantity: the order quantity (the new one after a replace).
        filled_quantity: the quantity filled so far (FIX CumQty).
        average_price: the average fill price so far, 0.0 before any fill (FIX AvgPx).
        status: the order's status after the event.
    """

    owner: str
    client_order_id: str
    order_id: str | None
    symbol: str
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    limit_price: float | None
    quantity: float
    filled_quantity: float
    average_price: float
    status: OrderStatus

    @property
    def leaves_quantity(self) -> float:
        """The quantity still working (FIX LeavesQty): 0 once the order is terminal."""
        if self.status.is_terminal:
            return 0.0
        return max(self.quantity - self.filled_quantity, 0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchReport:
    """One event the venue produced, for one order.

    Attributes:
        event: the domain event.
        state: the order right after the event.
        exec_id: the venue's unique id of this report (FIX ExecID; a fill's equals its
            ``Fill.exec_id``).
        replace_request: for an OrderCancelRejected, whether the refused request was a
            replace (FIX CxlRejResponseTo 2) rather than a cancel (1).
        cancel_reject_reason: for an OrderCancelRejected, a :class:`CancelRejectReason`.
        aggressive: for a fill, whether the order took liquidity (FIX LastLiquidityInd 2)
            rather than having rested on the book (1).
    """

    event: OrderEvent
    state: OrderState
    exec_id: str
    replace_request: bool = False
    cancel_reject_reason: int = CancelRejectReason.OTHER
    aggressive: bool = False

    @property
    def owner(self) -> str:
        return self.state.owner
