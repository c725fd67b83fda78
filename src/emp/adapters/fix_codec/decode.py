"""Checked FIX fields → domain commands and events.

Only what the domain needs is turned into values, but every field FIX 4.4 requires of the
message is checked to be present and well formed (an ExecutionReport without LeavesQty is
refused even though no domain event carries it). Business rules (a limit order without a
price, a quantity off the lot grid) are left to the venue: a NewOrderSingle with OrdType
LIMIT and no Price decodes to a :class:`SubmitOrder` with ``limit_price=None``.
"""

from __future__ import annotations

from collections.abc import Mapping

from emp.adapters.fix_codec.errors import FixDecodeError
from emp.adapters.fix_codec.framing import FixFields
from emp.adapters.fix_codec.records import SessionReject
from emp.adapters.fix_codec.tags import (
    COMM_TYPE_ABSOLUTE,
    EXEC_TYPES,
    ORD_STATUS_FROM_FIX,
    ORD_TYPE_FROM_FIX,
    SIDE_FROM_FIX,
    TIF_FROM_FIX,
    CxlRejResponseTo,
    ExecType,
    MsgType,
    SessionRejectReason,
    Tag,
)
from emp.adapters.fix_codec.values import parse_float, parse_utc_timestamp
from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder, VenueCommand
from emp.domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    RejectCode,
)
from emp.domain.fills import Fill, make_fill
from emp.domain.orders import TimeInForce

_EXEC_TYPE_VALUES = {value: value for value in sorted(EXEC_TYPES)}
_CXL_REJ_RESPONSE_TO = {CxlRejResponseTo.CANCEL: "cancel", CxlRejResponseTo.REPLACE: "replace"}
_COMMAND_TYPES = "D (NewOrderSingle), F (OrderCancelRequest), G (OrderCancelReplaceRequest)"
_EVENT_TYPES = "8 (ExecutionReport), 9 (OrderCancelReject)"


def _unsupported(fields: FixFields, expected: str) -> Exception:
    return fields.error(
        Tag.MSG_TYPE,
        f"unsupported MsgType {fields.msg_type!r}: expected {expected}",
        SessionRejectReason.INVALID_MSG_TYPE,
    )


# ----------------------------------------------------------------------------- commands
def decode_command(fields: FixFields) -> VenueCommand:
    if fields.msg_type == MsgType.NEW_ORDER_SINGLE:
        return _new_order_single(fields)
    if fields.msg_type == MsgType.ORDER_CANCEL_REQUEST:
        return CancelOrder(
            client_order_id=fields.require(Tag.CL_ORD_ID),
            orig_client_order_id=fields.require(Tag.ORIG_CL_ORD_ID),
            symbol=fields.require(Tag.SYMBOL),
            side=fields.require_enum(Tag.SIDE, SIDE_FROM_FIX),
            ts_ns=fields.require_timestamp(Tag.TRANSACT_TIME),
        )
    if fields.msg_type == MsgType.ORDER_CANCEL_REPLACE_REQUEST:
        fields.require_enum(Tag.ORD_TYPE, ORD_TYPE_FROM_FIX)
        return ReplaceOrder(
            client_order_id=fields.require(Tag.CL_ORD_ID),
            orig_client_order_id=fields.require(Tag.ORIG_CL_ORD_ID),
            symbol=fields.require(Tag.SYMBOL),
            side=fields.require_enum(Tag.SIDE, SIDE_FROM_FIX),
            quantity=fields.require_float(Tag.ORDER_QTY),
            limit_price=fields.optional_float(Tag.PRICE),
            ts_ns=fields.require_timestamp(Tag.TRANSACT_TIME),
        )
    raise _unsupported(fields, _COMMAND_TYPES)


def _new_order_single(fields: FixFields) -> SubmitOrder:
    command = _common_new_order_single(fields.values)
    return command if command is not None else _checked_new_order_single(fields)


def _common_new_order_single(values: Mapping[int, str]) -> SubmitOrder | None:
    """A NewOrderSingle that passes every check of :func:`_checked_new_order_single`,
    decoded with dictionary reads; ``None`` for anything it would refuse."""
    get = values.get
    cid, symbol, tif_text = get(Tag.CL_ORD_ID), get(Tag.SYMBOL), get(Tag.TIME_IN_FORCE)
    side = SIDE_FROM_FIX.get(get(Tag.SIDE) or "")
    order_type = ORD_TYPE_FROM_FIX.get(get(Tag.ORD_TYPE) or "")
    tif = TimeInForce.DAY if tif_text is None else TIF_FROM_FIX.get(tif_text)
    if cid is None or symbol is None or side is None or order_type is None or tif is None:
        return None
    try:
        quantity = parse_float(Tag.ORDER_QTY, values[Tag.ORDER_QTY])
        price_text = get(Tag.PRICE)
        price = None if price_text is None else parse_float(Tag.PRICE, price_text)
        ts_ns = parse_utc_timestamp(Tag.TRANSACT_TIME, values[Tag.TRANSACT_TIME])
    except (KeyError, FixDecodeError):
        return None
    return SubmitOrder(
        client_order_id=cid,
        symbol=symbol,
        side=side,
        quantity=quantity,
        order_type=order_type,
        limit_price=price,
        time_in_force=tif,
        strategy=get(Tag.ACCOUNT) or "",
        ts_ns=ts_ns,
    )


def _checked_new_order_single(fields: FixFields) -> SubmitOrder:
    return SubmitOrder(
        client_order_id=fields.require(Tag.CL_ORD_ID),
        symbol=fields.require(Tag.SYMBOL),
        side=fields.require_enum(Tag.SIDE, SIDE_FROM_FIX),
        quantity=fields.require_float(Tag.ORDER_QTY),
        order_type=fields.require_enum(Tag.ORD_TYPE, ORD_TYPE_FROM_FIX),
        limit_price=fields.optional_float(Tag.PRICE),
        time_in_force=fields.optional_enum(Tag.TIME_IN_FORCE, TIF_FROM_FIX, TimeInForce.DAY),
        strategy=fields.optional(Tag.ACCOUNT) or "",
        ts_ns=fields.require_timestamp(Tag.TRANSACT_TIME),
    )


# ------------------------------------------------------------------------------- events
def decode_event(fields: FixFields) -> OrderEvent:
    if fields.msg_type == MsgType.EXECUTION_REPORT:
        return _execution_report(fields)
    if fields.msg_type == MsgType.ORDER_CANCEL_REJECT:
        fields.require(Tag.ORDER_ID)
        fields.require_enum(Tag.ORD_STATUS, ORD_STATUS_FROM_FIX)
        fields.require_enum(Tag.CXL_REJ_RESPONSE_TO, _CXL_REJ_RESPONSE_TO)
        return OrderCancelRejected(
            client_order_id=fields.require(Tag.CL_ORD_ID),
            orig_client_order_id=fields.require(Tag.ORIG_CL_ORD_ID),
            reason=fields.optional(Tag.TEXT) or "",
            ts_ns=fields.require_timestamp(Tag.TRANSACT_TIME),
        )
    raise _unsupported(fields, _EVENT_TYPES)


def _execution_report(fields: FixFields) -> OrderEvent:
    event = _common_execution_report(fields.values)
    return event if event is not None else _checked_execution_report(fields)


def _common_execution_report(values: Mapping[int, str]) -> OrderEvent | None:
    """An acceptance, fill, cancel or expiry that passes every check of
    :func:`_checked_execution_report`, decoded with dictionary reads and no accessor
    calls; ``None`` for anything else (the checked path then decodes it or says why not)."""
    get = values.get
    exec_type, side = get(Tag.EXEC_TYPE), SIDE_FROM_FIX.get(get(Tag.SIDE) or "")
    cid, symbol, exec_id = get(Tag.CL_ORD_ID), get(Tag.SYMBOL), get(Tag.EXEC_ID)
    order_id = get(Tag.ORDER_ID)
    if (
        exec_type not in _COMMON_EXEC_TYPES
        or (get(Tag.ORD_STATUS) or "") not in ORD_STATUS_FROM_FIX
        or side is None
        or cid is None
        or symbol is None
        or exec_id is None
        or order_id is None
    ):
        return None
    try:
        for tag in (Tag.LEAVES_QTY, Tag.CUM_QTY, Tag.AVG_PX):
            parse_float(tag, values[tag])
        ts_ns = parse_utc_timestamp(Tag.TRANSACT_TIME, values[Tag.TRANSACT_TIME])
        if exec_type == ExecType.NEW:
            return OrderAccepted(client_order_id=cid, venue_order_id=order_id, ts_ns=ts_ns)
        if exec_type == ExecType.CANCELED:
            reason = get(Tag.TEXT) or ""
            return OrderCanceled(client_order_id=cid, ts_ns=ts_ns, reason=reason)
        if exec_type == ExecType.EXPIRED:
            return OrderExpired(client_order_id=cid, ts_ns=ts_ns)
        quantity = parse_float(Tag.LAST_QTY, values[Tag.LAST_QTY])
        price = parse_float(Tag.LAST_PX, values[Tag.LAST_PX])
        commission = get(Tag.COMMISSION)
        fee = 0.0 if commission is None else parse_float(Tag.COMMISSION, commission)
        comm_type = get(Tag.COMM_TYPE)
        if not (quantity > 0 and price > 0 and fee >= 0) or (
            comm_type is not None and comm_type != COMM_TYPE_ABSOLUTE
        ):
            return None
    except (KeyError, FixDecodeError):
        return None
    # the values are checked above: the fast builder
    return OrderFilled(fill=make_fill(exec_id, cid, symbol, side, quantity, price, fee, ts_ns))


_COMMON_EXEC_TYPES = frozenset({ExecType.NEW, ExecType.TRADE, ExecType.CANCELED, ExecType.EXPIRED})


def _checked_execution_report(fields: FixFields) -> OrderEvent:
    exec_type = fields.require_enum(Tag.EXEC_TYPE, _EXEC_TYPE_VALUES)
    fields.require_enum(Tag.ORD_STATUS, ORD_STATUS_FROM_FIX)
    for tag in (Tag.ORDER_ID, Tag.EXEC_ID, Tag.SYMBOL):
        fields.require(tag)
    fields.require_enum(Tag.SIDE, SIDE_FROM_FIX)
    for tag in (Tag.LEAVES_QTY, Tag.CUM_QTY, Tag.AVG_PX):
        fields.require_float(tag)
    client_order_id = fields.require(Tag.CL_ORD_ID)
    ts_ns = fields.require_timestamp(Tag.TRANSACT_TIME)

    if exec_type == ExecType.NEW:
        return OrderAccepted(
            client_order_id=client_order_id,
            venue_order_id=fields.require(Tag.ORDER_ID),
            ts_ns=ts_ns,
        )
    if exec_type == ExecType.REJECTED:
        code = RejectCode.OTHER
        if Tag.ORD_REJ_REASON in fields.values:
            code = fields.require_int(Tag.ORD_REJ_REASON)
        return OrderRejected(
            client_order_id=client_order_id,
            reason=fields.optional(Tag.TEXT) or "",
            code=code,
            ts_ns=ts_ns,
        )
    if exec_type == ExecType.TRADE:
        return OrderFilled(fill=_fill(fields, client_order_id, ts_ns))
    if exec_type == ExecType.CANCELED:
        return OrderCanceled(
            client_order_id=client_order_id, ts_ns=ts_ns, reason=fields.optional(Tag.TEXT) or ""
        )
    if exec_type == ExecType.REPLACED:
        return OrderReplaced(
            orig_client_order_id=fields.require(Tag.ORIG_CL_ORD_ID),
            client_order_id=client_order_id,
            quantity=fields.require_float(Tag.ORDER_QTY),
            limit_price=fields.optional_float(Tag.PRICE),
            ts_ns=ts_ns,
        )
    return OrderExpired(client_order_id=client_order_id, ts_ns=ts_ns)


def _fill(fields: FixFields, client_order_id: str, ts_ns: int) -> Fill:
    quantity = fields.require_float(Tag.LAST_QTY)
    price = fields.require_float(Tag.LAST_PX)
    commission = fields.optional_float(Tag.COMMISSION)
    fee = 0.0 if commission is None else commission
    for tag, value, rule in (
        (Tag.LAST_QTY, quantity, quantity > 0),
        (Tag.LAST_PX, price, price > 0),
        (Tag.COMMISSION, fee, fee >= 0),
    ):
        if not rule:
            relation = ">= 0" if tag == Tag.COMMISSION else "> 0"
            raise fields.error(tag, f"expected a value {relation}, was {value!r}")
    comm_type = fields.optional(Tag.COMM_TYPE)
    if comm_type is not None and comm_type != COMM_TYPE_ABSOLUTE:
        raise fields.error(
            Tag.COMM_TYPE,
            f"expected CommType {COMM_TYPE_ABSOLUTE!r} (absolute), was {comm_type!r}",
        )
    return Fill(
        exec_id=fields.require(Tag.EXEC_ID),
        client_order_id=client_order_id,
        symbol=fields.require(Tag.SYMBOL),
        side=fields.require_enum(Tag.SIDE, SIDE_FROM_FIX),
        quantity=quantity,
        price=price,
        fee=fee,
        ts_ns=ts_ns,
    )


# ------------------------------------------------------------------------ session level
def decode_session_reject(fields: FixFields) -> SessionReject:
    if fields.msg_type != MsgType.REJECT:
        raise _unsupported(fields, "3 (Reject)")
    ref_tag_id = None
    if Tag.REF_TAG_ID in fields.values:
        ref_tag_id = fields.require_int(Tag.REF_TAG_ID)
    reason_code = SessionRejectReason.OTHER
    if Tag.SESSION_REJECT_REASON in fields.values:
        reason_code = fields.require_int(Tag.SESSION_REJECT_REASON)
    return SessionReject(
        ref_seq_num=fields.require_int(Tag.REF_SEQ_NUM),
        ref_tag_id=ref_tag_id,
        ref_msg_type=fields.optional(Tag.REF_MSG_TYPE),
        reason_code=reason_code,
        text=fields.optional(Tag.TEXT) or "",
    )
