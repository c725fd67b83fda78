"""Domain commands and events → FIX 4.4 message bodies (tag, value) (header excluded).

Field choices worth knowing:

* The strategy name travels in Account (1): a standard FIX 4.4 tag every engine's data
  dictionary accepts (user-defined tags need extra configuration), and a strategy booking
  to its own (sub-)account is common practice. It is omitted when the name is empty, since
  FIX forbids empty values.
* A NewOrderSingle carries Price (44) whenever the command has a limit price, even on a
  market order, so the venue (not the codec) decides that such an order is malformed,
  exactly as the direct face does.
* An OrderCanceled report's ClOrdID (11) is the canceled order's own ClOrdID, the one the
  domain event names; no OrigClOrdID (41) is sent with it.
"""

from __future__ import annotations

from emp.adapters.fix_codec.errors import FixEncodeError
from emp.adapters.fix_codec.records import OrderReportState, SessionReject
from emp.adapters.fix_codec.tags import (
    COMM_TYPE_ABSOLUTE,
    FIX44_ORD_REJ_REASONS,
    ORD_REJ_REASON_OTHER,
    ORD_STATUS_TO_FIX,
    ORD_TYPE_TO_FIX,
    SIDE_TO_FIX,
    TIF_TO_FIX,
    ExecType,
    Tag,
)
from emp.adapters.fix_codec.values import (
    format_float,
    format_int,
    format_text,
    format_utc_timestamp,
)
from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder
from emp.domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
)
from emp.domain.orders import OrderSide, OrderStatus, OrderType

Body = list[tuple[int, str]]

_EXEC_TYPE_OF: dict[type, str] = {
    OrderAccepted: ExecType.NEW,
    OrderRejected: ExecType.REJECTED,
    OrderFilled: ExecType.TRADE,
    OrderCanceled: ExecType.CANCELED,
    OrderReplaced: ExecType.REPLACED,
    OrderExpired: ExecType.EXPIRED,
}
_DERIVED_ORD_STATUS: dict[str, str] = {
    ExecType.NEW: "0",
    ExecType.REJECTED: "8",
    ExecType.CANCELED: "4",
    ExecType.EXPIRED: "C",
}


def _working_status(state: OrderReportState) -> str:
    """OrdStatus of an order still working after the report: partially filled or new."""
    return "1" if state.cum_quantity > 0 else "0"


def _enum(tag: int, mapping: dict, value: object) -> str:
    try:
        return mapping[value]
    except (KeyError, TypeError):
        raise FixEncodeError(tag, f"expected one of {list(mapping)}, was {value!r}") from None


def _side(side: OrderSide) -> tuple[int, str]:
    return Tag.SIDE, _enum(Tag.SIDE, SIDE_TO_FIX, side)


def _optional_text(tag: int, value: str) -> list[tuple[int, str]]:
    return [(tag, format_text(tag, value))] if value else []


def _transact_time(ts_ns: int) -> tuple[int, str]:
    return Tag.TRANSACT_TIME, format_utc_timestamp(Tag.TRANSACT_TIME, ts_ns)


def _price(limit_price: float | None) -> list[tuple[int, str]]:
    return [] if limit_price is None else [(Tag.PRICE, format_float(Tag.PRICE, limit_price))]


# ----------------------------------------------------------------------------- commands
def new_order_single(command: SubmitOrder) -> Body:
    return [
        (Tag.CL_ORD_ID, format_text(Tag.CL_ORD_ID, command.client_order_id)),
        *_optional_text(Tag.ACCOUNT, command.strategy),
        (Tag.SYMBOL, format_text(Tag.SYMBOL, command.symbol)),
        _side(command.side),
        _transact_time(command.ts_ns),
        (Tag.ORDER_QTY, format_float(Tag.ORDER_QTY, command.quantity)),
        (Tag.ORD_TYPE, _enum(Tag.ORD_TYPE, ORD_TYPE_TO_FIX, command.order_type)),
        *_price(command.limit_price),
        (Tag.TIME_IN_FORCE, _enum(Tag.TIME_IN_FORCE, TIF_TO_FIX, command.time_in_force)),
    ]


def order_cancel_request(command: CancelOrder) -> Body:
    return [
        (Tag.ORIG_CL_ORD_ID, format_text(Tag.ORIG_CL_ORD_ID, command.orig_client_order_id)),
        (Tag.CL_ORD_ID, format_text(Tag.CL_ORD_ID, command.client_order_id)),
        (Tag.SYMBOL, format_text(Tag.SYMBOL, command.symbol)),
        _side(command.side),
        _transact_time(command.ts_ns),
    ]


def order_cancel_replace_request(command: ReplaceOrder) -> Body:
    """OrdType (40) is LIMIT when the replacement names a price, MARKET otherwise."""
    order_type = OrderType.MARKET if command.limit_price is None else OrderType.LIMIT
    return [
        (Tag.ORIG_CL_ORD_ID, format_text(Tag.ORIG_CL_ORD_ID, command.orig_client_order_id)),
        (Tag.CL_ORD_ID, format_text(Tag.CL_ORD_ID, command.client_order_id)),
        (Tag.SYMBOL, format_text(Tag.SYMBOL, command.symbol)),
        _side(command.side),
        _transact_time(command.ts_ns),
        (Tag.ORDER_QTY, format_float(Tag.ORDER_QTY, command.quantity)),
        (Tag.ORD_TYPE, ORD_TYPE_TO_FIX[order_type]),
        *_price(command.limit_price),
    ]


# ------------------------------------------------------------------------------- events
def execution_report(event: OrderEvent, state: OrderReportState, exec_id: str) -> Body:
    """An ExecutionReport body for any event but :class:`OrderCancelRejected`.

    ``exec_id`` is used for every report but a fill, whose ExecID is the fill's own.
    """
    exec_type = _EXEC_TYPE_OF.get(type(event))
    if exec_type is None:
        raise FixEncodeError(
            Tag.EXEC_TYPE, f"no ExecutionReport for a {type(event).__name__} event"
        )
    if exec_type == ExecType.REPLACED and state.order_status in (None, OrderStatus.REPLACED):
        ord_status = _working_status(state)  # FIX 4.4: the replaced order's current status
    elif state.order_status is not None:
        ord_status = _enum(Tag.ORD_STATUS, ORD_STATUS_TO_FIX, state.order_status)
    elif exec_type == ExecType.TRADE:
        ord_status = "2" if state.leaves_quantity <= 0 else "1"
    else:
        ord_status = _DERIVED_ORD_STATUS[exec_type]

    symbol, side, order_quantity = state.symbol, state.side, state.order_quantity
    ids: Body = [(Tag.CL_ORD_ID, format_text(Tag.CL_ORD_ID, event.client_order_id))]
    specific: Body = []
    match event:
        case OrderFilled(fill=fill):
            symbol, side, exec_id = fill.symbol, fill.side, fill.exec_id
            specific = [
                (Tag.LAST_QTY, format_float(Tag.LAST_QTY, fill.quantity)),
                (Tag.LAST_PX, format_float(Tag.LAST_PX, fill.price)),
                (Tag.COMMISSION, format_float(Tag.COMMISSION, fill.fee)),
                (Tag.COMM_TYPE, COMM_TYPE_ABSOLUTE),
            ]
        case OrderRejected():
            code = format_int(Tag.ORD_REJ_REASON, event.code)
            reason = event.reason
            if event.code not in FIX44_ORD_REJ_REASONS:
                code = str(ORD_REJ_REASON_OTHER)
                reason = reason or f"rejected (reason code {event.code})"
            specific = [(Tag.ORD_REJ_REASON, code), *_optional_text(Tag.TEXT, reason)]
        case OrderCanceled():
            specific = _optional_text(Tag.TEXT, event.reason)
        case OrderReplaced():
            ids.append(
                (Tag.ORIG_CL_ORD_ID, format_text(Tag.ORIG_CL_ORD_ID, event.orig_client_order_id))
            )
            order_quantity = event.quantity
            specific = _price(event.limit_price)
        case _:
            pass
    return [
        (Tag.ORDER_ID, format_text(Tag.ORDER_ID, state.order_id)),
        *ids,
        (Tag.EXEC_ID, format_text(Tag.EXEC_ID, exec_id)),
        (Tag.EXEC_TYPE, exec_type),
        (Tag.ORD_STATUS, ord_status),
        (Tag.SYMBOL, format_text(Tag.SYMBOL, symbol)),
        _side(side),
        (Tag.ORDER_QTY, format_float(Tag.ORDER_QTY, order_quantity)),
        *specific,
        (Tag.LEAVES_QTY, format_float(Tag.LEAVES_QTY, state.leaves_quantity)),
        (Tag.CUM_QTY, format_float(Tag.CUM_QTY, state.cum_quantity)),
        (Tag.AVG_PX, format_float(Tag.AVG_PX, state.average_price)),
        _transact_time(event.ts_ns),
    ]


def order_cancel_reject(
    event: OrderCancelRejected,
    state: OrderReportState,
    *,
    response_to: str,
    reason_code: int,
) -> Body:
    status = state.order_status
    ord_status = "8" if status is None else _enum(Tag.ORD_STATUS, ORD_STATUS_TO_FIX, status)
    if response_to not in ("1", "2"):
        raise FixEncodeError(
            Tag.CXL_REJ_RESPONSE_TO, f"expected '1' (cancel) or '2' (replace), was {response_to!r}"
        )
    return [
        (Tag.ORDER_ID, format_text(Tag.ORDER_ID, state.order_id)),
        (Tag.CL_ORD_ID, format_text(Tag.CL_ORD_ID, event.client_order_id)),
        (Tag.ORIG_CL_ORD_ID, format_text(Tag.ORIG_CL_ORD_ID, event.orig_client_order_id)),
        (Tag.ORD_STATUS, ord_status),
        (Tag.CXL_REJ_RESPONSE_TO, response_to),
        (Tag.CXL_REJ_REASON, format_int(Tag.CXL_REJ_REASON, reason_code)),
        *_optional_text(Tag.TEXT, event.reason),
        _transact_time(event.ts_ns),
    ]


def session_reject(reject: SessionReject) -> Body:
    body: Body = [(Tag.REF_SEQ_NUM, format_int(Tag.REF_SEQ_NUM, reject.ref_seq_num))]
    if reject.ref_tag_id is not None:
        body.append((Tag.REF_TAG_ID, format_int(Tag.REF_TAG_ID, reject.ref_tag_id)))
    if reject.ref_msg_type:
        body.append((Tag.REF_MSG_TYPE, format_text(Tag.REF_MSG_TYPE, reject.ref_msg_type)))
    body.append(
        (Tag.SESSION_REJECT_REASON, format_int(Tag.SESSION_REJECT_REASON, reject.reason_code))
    )
    body.extend(_optional_text(Tag.TEXT, reject.text))
    return body
