"""Reports for refused commands: rejected new orders and refused cancel/replace requests."""

from __future__ import annotations

import math
from collections.abc import Mapping

from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder
from emp.domain.events import OrderCancelRejected, OrderRejected
from emp.domain.matching.records import CancelRejectReason, MatchReport, OrderState
from emp.domain.matching.venue_order import VenueOrder
from emp.domain.orders import OrderStatus, OrderType, TimeInForce

Refusal = tuple[int, str]
_Key = tuple[str, str]


def rejected(
    command: SubmitOrder, owner: str, refusal: Refusal, now_ns: int, exec_id: str
) -> MatchReport:
    """An OrderRejected report for a new order the venue never accepted."""
    code, reason = refusal
    event = OrderRejected(
        client_order_id=command.client_order_id, reason=reason, code=code, ts_ns=now_ns
    )
    state = OrderState(
        owner=owner,
        client_order_id=command.client_order_id,
        order_id=None,
        symbol=command.symbol,
        side=command.side,
        order_type=command.order_type,
        time_in_force=command.time_in_force,
        limit_price=command.limit_price,
        quantity=command.quantity if math.isfinite(command.quantity) else 0.0,
        filled_quantity=0.0,
        average_price=0.0,
        status=OrderStatus.REJECTED,
    )
    return MatchReport(event=event, state=state, exec_id=exec_id)


def find_target(
    orders: Mapping[_Key, VenueOrder],
    replaced: Mapping[_Key, OrderState],
    command: CancelOrder | ReplaceOrder,
    owner: str,
) -> tuple[VenueOrder | None, Refusal | None]:
    """The live order a cancel/replace names, or why the request must be refused."""
    orig = command.orig_client_order_id
    order = orders.get((owner, orig))
    if order is None:
        if (owner, orig) in replaced:
            return None, (
                CancelRejectReason.TOO_LATE_TO_CANCEL,
                f"order {orig!r} was replaced; it is REPLACED",
            )
        return None, (CancelRejectReason.UNKNOWN_ORDER, f"unknown order {orig!r}")
    if order.status.is_terminal:
        return order, (
            CancelRejectReason.TOO_LATE_TO_CANCEL,
            f"order {orig!r} is already {order.status.value}",
        )
    if command.symbol != order.symbol or command.side is not order.side:
        return order, (
            CancelRejectReason.OTHER,
            f"request names {command.side.value} {command.symbol!r}, "
            f"order {orig!r} is {order.side.value} {order.symbol!r}",
        )
    return order, None


def request_refused(
    command: CancelOrder | ReplaceOrder,
    owner: str,
    state: OrderState | None,
    refusal: Refusal,
    replace: bool,
    now_ns: int,
    exec_id: str,
) -> MatchReport:
    """An OrderCancelRejected report; ``state`` is the named order's (``None``: unknown)."""
    code, reason = refusal
    if state is None:
        state = OrderState(
            owner=owner,
            client_order_id=command.orig_client_order_id,
            order_id=None,
            symbol=command.symbol,
            side=command.side,
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.DAY,
            limit_price=None,
            quantity=0.0,
            filled_quantity=0.0,
            average_price=0.0,
            status=OrderStatus.REJECTED,
        )
    event = OrderCancelRejected(
        client_order_id=command.client_order_id,
        orig_client_order_id=command.orig_client_order_id,
        reason=reason,
        ts_ns=now_ns,
    )
    return MatchReport(
        event=event,
        state=state,
        exec_id=exec_id,
        replace_request=replace,
        cancel_reject_reason=code,
    )
