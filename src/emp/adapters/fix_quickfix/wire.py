"""quickfix ``Message`` objects from the codec's (tag, value) bodies, and sending them."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import quickfix as fix

from emp.adapters.fix_codec import encode, status
from emp.adapters.fix_codec.encode import Body
from emp.adapters.fix_codec.records import NO_ORDER_ID, OrderReportState
from emp.adapters.fix_codec.tags import (
    COMM_TYPE_ABSOLUTE,
    ORD_STATUS_TO_FIX,
    ORD_TYPE_TO_FIX,
    SIDE_TO_FIX,
    TIF_TO_FIX,
    CxlRejResponseTo,
    ExecType,
    MsgType,
    Tag,
)
from emp.adapters.fix_codec.values import format_float, format_text, format_utc_timestamp
from emp.domain.commands import SubmitOrder
from emp.domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderExpired,
    OrderFilled,
)
from emp.domain.matching import MassStatusQuery, MatchReport, OrderState, StatusQuery
from emp.domain.orders import OrderSide, OrderStatus


def build_message(
    msg_type: str, body: Body | str, header: Iterable[tuple[int, str]] = ()
) -> fix.Message:
    """A quickfix Message with ``header`` and ``body`` fields (parsed from text: four times
    faster than one ``setField`` per field); ``body`` is (tag, value) pairs or their text
    (``tag=value<SOH>`` each). quickfix fills in BeginString's neighbours (CompIDs,
    MsgSeqNum, SendingTime, BodyLength, CheckSum) when it sends the message."""
    fields = body if isinstance(body, str) else "".join([f"{t}={v}\x01" for t, v in body])
    if header:
        fields = "".join([f"{t}={v}\x01" for t, v in header]) + fields
    payload = f"35={msg_type}\x01{fields}"
    return fix.Message(f"8=FIX.4.4\x019={len(payload)}\x01{payload}10=000\x01", False)


_ORD_TYPE_TEXT = {id(kind): text for kind, text in ORD_TYPE_TO_FIX.items()}
_TIF_TEXT = {id(tif): text for tif, text in TIF_TO_FIX.items()}


def new_order_single_text(command: SubmitOrder) -> str | None:
    """The NewOrderSingle body text :func:`~emp.adapters.fix_codec.encode.new_order_single`
    writes, by one f-string; ``None`` when a value needs the codec's checks."""
    cid, symbol, strategy = command.client_order_id, command.symbol, command.strategy
    side = _SIDE_TEXT.get(id(command.side))
    kind = _ORD_TYPE_TEXT.get(id(command.order_type))
    tif = _TIF_TEXT.get(id(command.time_in_force))
    if (
        not (cid and symbol and side and kind and tif)
        or type(command.ts_ns) is not int
        or "\x01" in cid + symbol + strategy
    ):
        return None
    transact = format_utc_timestamp(60, command.ts_ns)
    quantity = format_float(38, command.quantity)  # checked before the price, as there
    price = command.limit_price
    price_field = "" if price is None else f"44={format_float(44, price)}\x01"
    account = f"1={strategy}\x01" if strategy else ""
    return (
        f"11={cid}\x01{account}55={symbol}\x0154={side}\x0160={transact}\x01"
        f"38={quantity}\x0140={kind}\x01{price_field}59={tif}\x01"
    )


class _ThreadMessage(threading.local):
    """Each thread's one reusable quickfix Message (see :func:`build_reused_message`)."""

    message: fix.Message | None = None


_thread_message = _ThreadMessage()


def build_reused_message(msg_type: str, body: Body | str) -> fix.Message:
    """:func:`build_message` into this thread's one Message, parsed again in place: half
    the cost of a new Message. Valid until this thread's next call: send it at once and
    keep its text (not the Message) if it is needed later."""
    message = _thread_message.message
    if message is None:
        message = _thread_message.message = fix.Message()
    fields = body if isinstance(body, str) else "".join([f"{t}={v}\x01" for t, v in body])
    payload = f"35={msg_type}\x01{fields}"
    message.setString(f"8=FIX.4.4\x019={len(payload)}\x01{payload}10=000\x01", False)
    return message


def report_state(state: OrderState) -> OrderReportState:
    """The codec's view of a matching-engine order state, OrdStatus made explicit (the
    codec writes it as FIX 4.4 has it: a replace says the order's current status)."""
    return OrderReportState(
        symbol=state.symbol,
        side=state.side,
        order_quantity=state.quantity,
        order_id=state.order_id or NO_ORDER_ID,
        cum_quantity=state.filled_quantity,
        leaves_quantity=state.leaves_quantity,
        average_price=state.average_price,
        order_status=state.status,
    )


def report_message(report: MatchReport) -> tuple[str, Body | str]:
    """(MsgType, body) of the ExecutionReport or OrderCancelReject for ``report``: the
    body's text for the common reports (:func:`execution_report_text`), else its pairs."""
    text = execution_report_text(report)
    if text is not None:
        return MsgType.EXECUTION_REPORT, text
    state = report_state(report.state)
    event = report.event
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


_SIDE_TEXT = {id(side): text for side, text in SIDE_TO_FIX.items()}
_ORD_STATUS_TEXT = {id(status): text for status, text in ORD_STATUS_TO_FIX.items()}


def execution_report_text(report: MatchReport) -> str | None:
    """The ExecutionReport body text of an acceptance, fill, cancel or expiry — the very
    text :func:`~emp.adapters.fix_codec.encode.execution_report` gives, written by one
    f-string (enum look-ups by identity, float texts cached); ``None`` for any other
    report, or when a value needs the codec's checks (empty, or holding SOH)."""
    event, state = report.event, report.state
    kind, reason = type(event), ""
    if kind is OrderFilled:
        fill = event.fill
        exec_id, symbol, side = fill.exec_id, fill.symbol, fill.side
        specific = (
            f"32={format_float(32, fill.quantity)}\x0131={format_float(31, fill.price)}\x01"
            f"12={format_float(12, fill.fee)}\x0113={COMM_TYPE_ABSOLUTE}\x01"
        )
        exec_type = ExecType.TRADE
    elif kind is OrderAccepted or kind is OrderExpired:
        exec_id, symbol, side, specific = report.exec_id, state.symbol, state.side, ""
        exec_type = ExecType.NEW if kind is OrderAccepted else ExecType.EXPIRED
    elif kind is OrderCanceled:
        exec_id, symbol, side = report.exec_id, state.symbol, state.side
        reason = event.reason
        specific = f"58={reason}\x01" if reason else ""
        exec_type = ExecType.CANCELED
    else:
        return None
    order_id, cid = state.order_id or NO_ORDER_ID, event.client_order_id
    side_text = _SIDE_TEXT.get(id(side))
    ord_status = _ORD_STATUS_TEXT.get(id(state.status))
    if not (cid and exec_id and symbol and side_text and ord_status) or "\x01" in (
        cid + exec_id + symbol + order_id + reason
    ):
        return None
    return (
        f"37={order_id}\x0111={cid}\x0117={exec_id}\x01150={exec_type}\x0139={ord_status}\x01"
        f"55={symbol}\x0154={side_text}\x0138={format_float(38, state.quantity)}\x01{specific}"
        f"151={format_float(151, state.leaves_quantity)}\x01"
        f"14={format_float(14, state.filled_quantity)}\x01"
        f"6={format_float(6, state.average_price)}\x01"
        f"60={format_utc_timestamp(60, event.ts_ns)}\x01"
    )


def status_report(
    state: OrderState,
    ts_ns: int,
    *,
    request_id: str | None = None,
    mass: tuple[str, int, bool] | None = None,
) -> status.OrderStatusReport:
    """The status report (150=I) of a known order; ``mass`` is (MassStatusReqID,
    TotNumReports, LastRptRequested) in an answer to a mass status request."""
    return status.OrderStatusReport(
        client_order_id=state.client_order_id,
        order_id=state.order_id or NO_ORDER_ID,
        symbol=state.symbol,
        side=state.side,
        status=state.status,
        order_quantity=state.quantity,
        cum_quantity=state.filled_quantity,
        leaves_quantity=state.leaves_quantity,
        average_price=state.average_price,
        ts_ns=ts_ns,
        known=True,
        request_id=request_id,
        text="",
        mass_request_id=mass[0] if mass else None,
        total_reports=mass[1] if mass else None,
        last_report=mass[2] if mass else False,
    )


def _no_order_status(
    *,
    client_order_id: str,
    symbol: str,
    side: OrderSide,
    ts_ns: int,
    known: bool,
    request_id: str | None,
    text: str,
    **mass_fields: Any,
) -> status.OrderStatusReport:
    """A status report about no order: 39=8, no OrderID, every quantity and price 0;
    ``mass_fields`` are those of an answer to a mass status request."""
    return status.OrderStatusReport(
        client_order_id=client_order_id,
        order_id=NO_ORDER_ID,
        symbol=symbol,
        side=side,
        status=OrderStatus.REJECTED,
        order_quantity=0.0,
        cum_quantity=0.0,
        leaves_quantity=0.0,
        average_price=0.0,
        ts_ns=ts_ns,
        known=known,
        request_id=request_id,
        text=text,
        **mass_fields,
    )


def unknown_order_report(query: StatusQuery, ts_ns: int) -> status.OrderStatusReport:
    """The answer to a 35=H about an order the venue does not know (39=8, 103=5)."""
    return _no_order_status(
        client_order_id=query.client_order_id,
        symbol=query.symbol,
        side=query.side,
        ts_ns=ts_ns,
        known=False,
        request_id=query.request_id or None,
        text=f"unknown order {query.client_order_id!r}",
    )


def no_order_report(query: MassStatusQuery, ts_ns: int) -> status.OrderStatusReport:
    """The single answer to a mass status request when no order is working."""
    return _no_order_status(
        client_order_id="",
        symbol=query.symbol or status.NO_SYMBOL,
        side=query.side or OrderSide.BUY,
        ts_ns=ts_ns,
        known=True,
        request_id=None,
        text="no working orders",
        mass_request_id=query.request_id,
        total_reports=0,
        last_report=True,
    )


def possible_duplicate_header(original: str, *, resend: bool) -> list[tuple[int, str]]:
    """Header fields that mark a re-sent copy of ``original`` (the text sent):
    PossDupFlag (43) or PossResend (97), with OrigSendingTime (122) = its SendingTime."""
    start = original.index("\x0152=") + 4
    sending = original[start : original.index("\x01", start)]
    flag = (97, "Y") if resend else (43, "Y")
    return [flag, (122, sending)]


def utc_timestamp(ts_ns: int) -> str:
    return format_utc_timestamp(Tag.TRANSACT_TIME, ts_ns)


# ------------------------------------------------------------------ mass cancel
#: OrderMassCancelRequest (35=q) and OrderMassCancelReport (35=r).
MASS_CANCEL_REQUEST, MASS_CANCEL_REPORT = "q", "r"
MASS_CANCEL_REQUEST_TYPE, MASS_CANCEL_RESPONSE = 530, 531
MASS_CANCEL_REJECT_REASON, TOTAL_AFFECTED_ORDERS = 532, 533
#: MassCancelRequestType (530) values EMP's venue serves; MassCancelResponse (531) echoes
#: them, or says 0 (rejected) with a MassCancelRejectReason (532).
CANCEL_FOR_SECURITY, CANCEL_ALL, CANCEL_REJECTED = "1", "7", "0"
NOT_SUPPORTED, UNKNOWN_SECURITY = "0", "1"


def mass_cancel_request(client_order_id: str, ts_ns: int) -> Body:
    """An OrderMassCancelRequest body: cancel every working order of the session."""
    return [
        (Tag.CL_ORD_ID, format_text(Tag.CL_ORD_ID, client_order_id)),
        (MASS_CANCEL_REQUEST_TYPE, CANCEL_ALL),
        (Tag.TRANSACT_TIME, utc_timestamp(ts_ns)),
    ]


def mass_cancel_report(
    client_order_id: str,
    order_id: str,
    request_type: str,
    *,
    affected: int,
    ts_ns: int,
    reject_reason: str | None = None,
) -> Body:
    """An OrderMassCancelReport body: accepted (531 = the request type, 533 = how many
    orders it cancels) or rejected (531=0 with 532 saying why)."""
    rejected = reject_reason is not None
    body: Body = [
        (Tag.CL_ORD_ID, format_text(Tag.CL_ORD_ID, client_order_id)),
        (Tag.ORDER_ID, format_text(Tag.ORDER_ID, order_id)),
        (MASS_CANCEL_REQUEST_TYPE, request_type),
        (MASS_CANCEL_RESPONSE, CANCEL_REJECTED if rejected else request_type),
    ]
    if reject_reason is not None:
        body.append((MASS_CANCEL_REJECT_REASON, reject_reason))
    body += [(TOTAL_AFFECTED_ORDERS, str(affected)), (Tag.TRANSACT_TIME, utc_timestamp(ts_ns))]
    return body
