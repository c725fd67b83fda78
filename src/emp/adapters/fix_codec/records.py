"""Codec-level records: what a FIX report says beyond a domain event, and a decoded Reject."""

from __future__ import annotations

from dataclasses import dataclass

from emp.domain.orders import OrderSide, OrderStatus

#: OrderID (37) to send when the venue never assigned one (a rejected order, an unknown
#: order in a cancel reject): FIX requires the field, and "NONE" is the usual convention.
NO_ORDER_ID = "NONE"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderReportState:
    """The state of an order as of one ExecutionReport (35=8) or OrderCancelReject (35=9).

    A domain event says what happened; an ExecutionReport must also say where the order
    stands afterwards. The venue side supplies this record next to each event.

    Attributes:
        symbol: Symbol (55).
        side: Side (54).
        order_quantity: OrderQty (38) of the order after the event.
        order_id: the venue's OrderID (37); :data:`NO_ORDER_ID` when it has none.
        cum_quantity: CumQty (14), the quantity filled so far.
        leaves_quantity: LeavesQty (151), the quantity still working (0 once terminal).
        average_price: AvgPx (6), the average fill price so far (0 before any fill).
        order_status: OrdStatus (39). ``None`` derives it from the event: accepted 0,
            rejected 8, fill 1 or 2 (by ``leaves_quantity``), canceled 4, replaced 5,
            expired C, and 8 in a cancel reject.
    """

    symbol: str
    side: OrderSide
    order_quantity: float
    order_id: str = NO_ORDER_ID
    cum_quantity: float = 0.0
    leaves_quantity: float = 0.0
    average_price: float = 0.0
    order_status: OrderStatus | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionReject:
    """A decoded session-level Reject (35=3): a message the other side could not process.

    Attributes:
        ref_seq_num: RefSeqNum (45), the MsgSeqNum of the refused message (0 if unreadable).
        ref_tag_id: RefTagID (371), the offending tag, when one could be named.
        ref_msg_type: RefMsgType (372), the refused message's MsgType, when readable.
        reason_code: SessionRejectReason (373).
        text: Text (58), the reason in words.
    """

    ref_seq_num: int
    ref_tag_id: int | None
    ref_msg_type: str | None
    reason_code: int
    text: str
