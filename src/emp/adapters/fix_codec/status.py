"""Order status (FIX 4.4 OrderStatusRequest 35=H, OrderMassStatusRequest 35=AF, and
their ExecutionReports, ExecType I).

After a reconnect a client asks the venue where each of its open orders stands; the venue
answers with an ExecutionReport whose ExecType (150) is ``I`` (Order Status) and whose
OrdStatus/CumQty/AvgPx/LeavesQty are the truth. An order the venue does not know is
answered with OrdStatus 8 (Rejected) and OrdRejReason 5 (Unknown order).

A mass status request (35=AF, MassStatusReqType 7 "all orders" or 1 "orders of a
security") is answered with one such report per working order, each carrying
MassStatusReqID (584) and TotNumReports (911), the last one LastRptRequested (912) = Y.
With no working order the answer is a single report for no order: OrderID and Symbol
``NONE``/``[N/A]``, no ClOrdID, OrdStatus 8 and TotNumReports 0. Also here: the
header tags of possible duplicates and the BusinessMessageReject (35=j) a venue sends for
an application message it cannot process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from emp.adapters.fix_codec.encode import Body
from emp.adapters.fix_codec.framing import FixFields
from emp.adapters.fix_codec.records import NO_ORDER_ID
from emp.adapters.fix_codec.tags import (
    ORD_STATUS_FROM_FIX,
    ORD_STATUS_TO_FIX,
    SIDE_FROM_FIX,
    SIDE_TO_FIX,
    MsgType,
    Tag,
)
from emp.adapters.fix_codec.values import (
    format_float,
    format_text,
    format_utc_timestamp,
)
from emp.domain.orders import OrderSide, OrderStatus

ORDER_STATUS_REQUEST: Final = "H"
ORDER_MASS_STATUS_REQUEST: Final = "AF"
BUSINESS_MESSAGE_REJECT: Final = "j"
EXEC_TYPE_ORDER_STATUS: Final = "I"
UNKNOWN_ORDER_REJ_REASON: Final = 5

POSS_DUP_FLAG: Final = 43
POSS_RESEND: Final = 97
ORIG_SENDING_TIME: Final = 122
REF_MSG_TYPE: Final = 372
BUSINESS_REJECT_REASON: Final = 380
ORD_STATUS_REQ_ID: Final = 790
MASS_STATUS_REQ_ID: Final = 584
MASS_STATUS_REQ_TYPE: Final = 585
TOT_NUM_REPORTS: Final = 911
LAST_RPT_REQUESTED: Final = 912
#: MassStatusReqType (585): orders of one security (1), all orders (7).
MASS_STATUS_SECURITY: Final = 1
MASS_STATUS_ALL: Final = 7
#: Symbol (55) of the "no working order" mass status report.
NO_SYMBOL: Final = "[N/A]"
#: BusinessRejectReason (380) 0: "Other".
BUSINESS_REJECT_OTHER: Final = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderStatusReport:
    """What a status ExecutionReport (150=I) says about one order.

    ``known`` is False when the venue answered "unknown order" (39=8 with 103=5).
    ``mass_request_id``, ``total_reports`` and ``last_report`` are set on an answer to a
    mass status request; its "no working order" report has an empty ``client_order_id``.
    """

    client_order_id: str
    order_id: str
    symbol: str
    side: OrderSide
    status: OrderStatus
    order_quantity: float
    cum_quantity: float
    leaves_quantity: float
    average_price: float
    ts_ns: int
    known: bool
    request_id: str | None
    text: str
    mass_request_id: str | None = None
    total_reports: int | None = None
    last_report: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MassStatusRequest:
    """A decoded OrderMassStatusRequest (35=AF)."""

    request_id: str
    symbol: str | None = None
    side: OrderSide | None = None


def order_mass_status_request(
    request_id: str, *, symbol: str | None = None, side: OrderSide | None = None
) -> Body:
    """A 35=AF body: every working order (585=7), or those of ``symbol`` (585=1)."""
    kind = MASS_STATUS_ALL if symbol is None else MASS_STATUS_SECURITY
    body: Body = [
        (MASS_STATUS_REQ_ID, format_text(MASS_STATUS_REQ_ID, request_id)),
        (MASS_STATUS_REQ_TYPE, str(kind)),
    ]
    if symbol is not None:
        body.append((Tag.SYMBOL, format_text(Tag.SYMBOL, symbol)))
    if side is not None:
        body.append((Tag.SIDE, SIDE_TO_FIX[side]))
    return body


def decode_mass_status_request(fields: FixFields) -> MassStatusRequest:
    if fields.msg_type != ORDER_MASS_STATUS_REQUEST:
        raise fields.error(Tag.MSG_TYPE, f"expected MsgType 'AF', was {fields.msg_type!r}")
    kind = fields.require_int(MASS_STATUS_REQ_TYPE)
    symbol = fields.optional(Tag.SYMBOL)
    if kind == MASS_STATUS_SECURITY and symbol is None:
        raise fields.error(Tag.SYMBOL, "MassStatusReqType 1 (a security) needs a Symbol")
    if kind not in (MASS_STATUS_ALL, MASS_STATUS_SECURITY):
        raise fields.error(
            MASS_STATUS_REQ_TYPE,
            f"expected MassStatusReqType 1 (a security) or 7 (all orders), was {kind}",
        )
    side = fields.optional(Tag.SIDE)
    return MassStatusRequest(
        request_id=fields.require(MASS_STATUS_REQ_ID),
        symbol=symbol if kind == MASS_STATUS_SECURITY else None,
        side=None if side is None else fields.require_enum(Tag.SIDE, SIDE_FROM_FIX),
    )


def order_status_request(
    *, client_order_id: str, order_id: str | None, symbol: str, side: OrderSide, request_id: str
) -> Body:
    return [
        (Tag.ORDER_ID, format_text(Tag.ORDER_ID, order_id or NO_ORDER_ID)),
        (Tag.CL_ORD_ID, format_text(Tag.CL_ORD_ID, client_order_id)),
        (ORD_STATUS_REQ_ID, format_text(ORD_STATUS_REQ_ID, request_id)),
        (Tag.SYMBOL, format_text(Tag.SYMBOL, symbol)),
        (Tag.SIDE, SIDE_TO_FIX[side]),
    ]


def decode_status_request(fields: FixFields) -> tuple[str, str | None, str, OrderSide, str | None]:
    """(ClOrdID, OrderID or None, Symbol, Side, OrdStatusReqID or None) of a 35=H."""
    if fields.msg_type != ORDER_STATUS_REQUEST:
        raise fields.error(Tag.MSG_TYPE, f"expected MsgType 'H', was {fields.msg_type!r}")
    order_id = fields.optional(Tag.ORDER_ID)
    return (
        fields.require(Tag.CL_ORD_ID),
        None if order_id in (None, NO_ORDER_ID) else order_id,
        fields.require(Tag.SYMBOL),
        fields.require_enum(Tag.SIDE, SIDE_FROM_FIX),
        fields.optional(ORD_STATUS_REQ_ID),
    )


def order_status_report(report: OrderStatusReport, exec_id: str) -> Body:
    """The body of a status ExecutionReport (35=8, 150=I)."""
    body: Body = [(Tag.ORDER_ID, format_text(Tag.ORDER_ID, report.order_id or NO_ORDER_ID))]
    if report.client_order_id:
        body.append((Tag.CL_ORD_ID, format_text(Tag.CL_ORD_ID, report.client_order_id)))
    if report.request_id:
        body.append((ORD_STATUS_REQ_ID, format_text(ORD_STATUS_REQ_ID, report.request_id)))
    if report.mass_request_id:
        body += [
            (MASS_STATUS_REQ_ID, format_text(MASS_STATUS_REQ_ID, report.mass_request_id)),
            (TOT_NUM_REPORTS, str(report.total_reports or 0)),
            (LAST_RPT_REQUESTED, "Y" if report.last_report else "N"),
        ]
    body += [
        (Tag.EXEC_ID, format_text(Tag.EXEC_ID, exec_id)),
        (Tag.EXEC_TYPE, EXEC_TYPE_ORDER_STATUS),
        (Tag.ORD_STATUS, ORD_STATUS_TO_FIX[report.status]),
    ]
    if not report.known:
        body.append((Tag.ORD_REJ_REASON, str(UNKNOWN_ORDER_REJ_REASON)))
    body += [
        (Tag.SYMBOL, format_text(Tag.SYMBOL, report.symbol)),
        (Tag.SIDE, SIDE_TO_FIX[report.side]),
        (Tag.ORDER_QTY, format_float(Tag.ORDER_QTY, report.order_quantity)),
    ]
    if report.text:
        body.append((Tag.TEXT, format_text(Tag.TEXT, report.text)))
    return [
        *body,
        (Tag.LEAVES_QTY, format_float(Tag.LEAVES_QTY, report.leaves_quantity)),
        (Tag.CUM_QTY, format_float(Tag.CUM_QTY, report.cum_quantity)),
        (Tag.AVG_PX, format_float(Tag.AVG_PX, report.average_price)),
        (Tag.TRANSACT_TIME, format_utc_timestamp(Tag.TRANSACT_TIME, report.ts_ns)),
    ]


def is_status_report(fields: FixFields) -> bool:
    return (
        fields.msg_type == MsgType.EXECUTION_REPORT
        and fields.optional(Tag.EXEC_TYPE) == EXEC_TYPE_ORDER_STATUS
    )


def decode_status_report(fields: FixFields) -> OrderStatusReport:
    status = fields.require_enum(Tag.ORD_STATUS, ORD_STATUS_FROM_FIX)
    reason = fields.optional(Tag.ORD_REJ_REASON)
    quantity = fields.optional_float(Tag.ORDER_QTY)
    total = fields.optional(TOT_NUM_REPORTS)
    mass_request_id = fields.optional(MASS_STATUS_REQ_ID)
    return OrderStatusReport(
        client_order_id=fields.optional(Tag.CL_ORD_ID) or "",
        order_id=fields.require(Tag.ORDER_ID),
        symbol=fields.require(Tag.SYMBOL),
        side=fields.require_enum(Tag.SIDE, SIDE_FROM_FIX),
        status=status,
        order_quantity=0.0 if quantity is None else quantity,
        cum_quantity=fields.require_float(Tag.CUM_QTY),
        leaves_quantity=fields.require_float(Tag.LEAVES_QTY),
        average_price=fields.require_float(Tag.AVG_PX),
        ts_ns=fields.require_timestamp(Tag.TRANSACT_TIME),
        known=not (status is OrderStatus.REJECTED and reason == str(UNKNOWN_ORDER_REJ_REASON)),
        request_id=fields.optional(ORD_STATUS_REQ_ID),
        text=fields.optional(Tag.TEXT) or "",
        mass_request_id=mass_request_id,
        total_reports=None if total is None else fields.require_int(TOT_NUM_REPORTS),
        last_report=fields.optional(LAST_RPT_REQUESTED) == "Y",
    )


def business_message_reject(ref_seq_num: int, ref_msg_type: str, text: str) -> Body:
    return [
        (Tag.REF_SEQ_NUM, str(ref_seq_num)),
        (REF_MSG_TYPE, format_text(REF_MSG_TYPE, ref_msg_type)),
        (BUSINESS_REJECT_REASON, str(BUSINESS_REJECT_OTHER)),
        (Tag.TEXT, format_text(Tag.TEXT, text[:500] or "rejected")),
    ]


def is_possible_duplicate(fields: FixFields) -> bool:
    """PossDupFlag (43) or PossResend (97) is Y: the message may have been seen before."""
    return fields.optional(POSS_DUP_FLAG) == "Y" or fields.optional(POSS_RESEND) == "Y"
