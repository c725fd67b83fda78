"""quickfix ``Message`` objects from the codec's (tag, value) bodies, and sending them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import quickfix as fix

from emp.adapters.fix_codec import encode
from emp.adapters.fix_codec.encode import Body
from emp.adapters.fix_codec.records import NO_ORDER_ID, OrderReportState
from emp.adapters.fix_codec.tags import CxlRejResponseTo, MsgType, Tag
from emp.adapters.fix_codec.values import format_utc_timestamp
from emp.domain.events import OrderCancelRejected, OrderRejected, RejectCode
from emp.domain.matching import MatchReport, OrderState
from emp.domain.orders import OrderStatus


def build_message(msg_type: str, body: Body, header: Iterable[tuple[int, str]] = ()) -> fix.Message:
    """A quickfix Message with ``header`` and ``body`` fields (parsed from text: four times
    faster than one ``setField`` per field). quickfix fills in BeginString's neighbours
    (CompIDs, MsgSeqNum, SendingTime, BodyLength, CheckSum) when it sends the message."""
    fields = "".join(f"{tag}={value}\x01" for tag, value in (*header, *body))
    payload = f"35={msg_type}\x01{fields}"
    return fix.Message(f"8=FIX.4.4\x019={len(payload)}\x01{payload}10=000\x01", False)


def fix44_status(status: OrderStatus) -> OrderStatus:
    """The OrdStatus FIX 4.4 can carry: it dropped 5 (Replaced); a replaced ClOrdID is
    reported done, as CANCELED (4), its successor carrying the order on."""
    return OrderStatus.CANCELED if status is OrderStatus.REPLACED else status


def report_state(state: OrderState) -> OrderReportState:
    """The codec's view of a matching-engine order state, OrdStatus made explicit.

    The explicit status matters for a replace: FIX 4.4 reports ExecType 5 (Replace) with
    the new order's OrdStatus (0, 1 or 2), never OrdStatus 5, which it no longer has.
    """
    return OrderReportState(
        symbol=state.symbol,
        side=state.side,
        order_quantity=state.quantity,
        order_id=state.order_id or NO_ORDER_ID,
        cum_quantity=state.filled_quantity,
        leaves_quantity=state.leaves_quantity,
        average_price=state.average_price,
        order_status=fix44_status(state.status),
    )


#: OrdRejReason (103) values in FIX 4.4's dictionary (18, invalid price increment, is 5.0).
FIX44_ORD_REJ_REASONS = frozenset({*range(12), 13, 14, 15, 99})


def report_message(report: MatchReport) -> tuple[str, Body]:
    """(MsgType, body) of the ExecutionReport or OrderCancelReject for ``report``.

    A reject code FIX 4.4 lacks is sent as 99 (Other); Text (58) keeps the reason.
    """
    state = report_state(report.state)
    event = report.event
    if isinstance(event, OrderRejected) and event.code not in FIX44_ORD_REJ_REASONS:
        event = dataclasses.replace(event, code=RejectCode.OTHER)
    if isinstance(event, OrderCancelRejected):
        replace = report.replace_request
        body = encode.order_cancel_reject(
            event,
            state,
            response_to=CxlRejResponseTo.REPLACE if replace else CxlRejResponseTo.CANCEL,
            reason_code=report.cancel_reject_reason,
        )
        return MsgType.ORDER_CANCEL_REJECT, body
    return MsgType.EXECUTION_REPORT, encode.execution_report(event, state, report.exec_id)


def possible_duplicate_header(original: fix.Message, *, resend: bool) -> list[tuple[int, str]]:
    """Header fields that mark a re-sent copy: PossDupFlag (43) or PossResend (97), with
    OrigSendingTime (122) = the original's SendingTime."""
    sending = original.getHeader().getField(Tag.SENDING_TIME)
    flag = (97, "Y") if resend else (43, "Y")
    return [flag, (122, sending)]


def utc_timestamp(ts_ns: int) -> str:
    return format_utc_timestamp(Tag.TRANSACT_TIME, ts_ns)
