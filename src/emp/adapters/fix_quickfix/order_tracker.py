"""The initiator's application-level order state: deduplication and reconciliation.

quickfix guarantees the session layer (every message once, in sequence, gaps resent); the
application layer must still make sure an order event is applied exactly once even when
the venue repeats itself (PossDup/PossResend copies, a report re-sent after a crash) or
when reconciliation after a reconnect has already told us what a late report says.

The tracker lives on the owner's thread. It passes on an event only if it moves the order
forward:

* every ExecID is accepted once;
* a fill counts only if its CumQty (14) exceeds what the order already has;
* acceptances, cancels, expiries and rejects count only while the order can still take
  them (nothing after a terminal state).

After a (re)logon the adapter asks the venue for the status of every open order (35=H);
:meth:`OrderTracker.reconcile` turns a status report that is ahead of the local state into
the missing events (a fill of the difference in CumQty at the implied price, a cancel, an
expiry, an acceptance, or a reject for an order the venue never received).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from emp.adapters.fix_codec.status import OrderStatusReport
from emp.adapters.fix_quickfix.audit import Lineage
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
    RejectCode,
)
from emp.domain.fills import Fill
from emp.domain.orders import OrderSide, OrderStatus

_EPS = 1e-9


@dataclass(slots=True, kw_only=True)
class TrackedOrder:
    """What the adapter knows of one ClOrdID."""

    client_order_id: str
    symbol: str
    side: OrderSide
    quantity: float
    limit_price: float | None
    lineage: Lineage
    order_id: str | None = None
    status: OrderStatus = OrderStatus.PENDING_NEW
    cum_quantity: float = 0.0
    average_price: float = 0.0
    pending_replace: ReplaceOrder | None = None
    pending_cancel: CancelOrder | None = None

    @property
    def is_open(self) -> bool:
        return not self.status.is_terminal


@dataclass(slots=True)
class TrackerCounters:
    duplicates: int = 0
    stale: int = 0
    reconciled: int = 0


@dataclass(slots=True)
class OrderTracker:
    """See the module docstring. Not thread-safe: the owner's thread only."""

    orders: dict[str, TrackedOrder] = field(default_factory=dict)
    seen_exec_ids: set[str] = field(default_factory=set)
    requests: dict[str, str] = field(default_factory=dict)  # request ClOrdID -> order's
    counters: TrackerCounters = field(default_factory=TrackerCounters)
    #: Orders that were open when last looked at (pruned lazily by open_orders()).
    live: dict[str, TrackedOrder] = field(default_factory=dict)

    # ------------------------------------------------------------------ commands
    def on_submit(self, command: SubmitOrder, decision_id: str = "") -> Lineage:
        lineage = Lineage(command.client_order_id, command.strategy, decision_id)
        self.orders[command.client_order_id] = self.live[command.client_order_id] = TrackedOrder(
            client_order_id=command.client_order_id,
            symbol=command.symbol,
            side=command.side,
            quantity=command.quantity,
            limit_price=command.limit_price,
            lineage=lineage,
        )
        return lineage

    def on_cancel(self, command: CancelOrder) -> Lineage:
        order = self.orders.get(command.orig_client_order_id)
        self.requests[command.client_order_id] = command.orig_client_order_id
        if order is None:
            return Lineage(command.orig_client_order_id)
        order.pending_cancel = command
        return order.lineage

    def on_replace(self, command: ReplaceOrder) -> Lineage:
        order = self.orders.get(command.orig_client_order_id)
        self.requests[command.client_order_id] = command.orig_client_order_id
        if order is None:
            return Lineage(command.orig_client_order_id)
        order.pending_replace = command
        return order.lineage

    def lineage(self, client_order_id: str) -> Lineage:
        order = self.orders.get(client_order_id)
        if order is not None:
            return order.lineage
        orig = self.requests.get(client_order_id)
        if orig is not None and orig in self.orders:
            return self.orders[orig].lineage
        return Lineage(client_order_id)

    def open_orders(self) -> list[TrackedOrder]:
        """Orders not yet in a terminal state, oldest first (cost: the open ones only)."""
        self.live = {cid: order for cid, order in self.live.items() if order.is_open}
        return list(self.live.values())

    # ------------------------------------------------------------------ reports
    def apply(self, event: OrderEvent, exec_id: str, cum_quantity: float | None) -> bool:
        """Whether ``event`` (a report with ``exec_id``) is new; updates the state if so."""
        if exec_id:
            if exec_id in self.seen_exec_ids:
                self.counters.duplicates += 1
                return False
            self.seen_exec_ids.add(exec_id)
        if isinstance(event, OrderReplaced):
            fresh = self._replaced(event)
        elif isinstance(event, OrderCancelRejected):
            fresh = self._request_known(event)
        else:
            order = self.orders.get(event.client_order_id)
            fresh = order is None or self._advance(order, event, cum_quantity)
        if not fresh:
            self.counters.stale += 1
        return fresh

    def _request_known(self, event: OrderCancelRejected) -> bool:
        orig = self.orders.get(event.orig_client_order_id)
        if orig is None:
            return True
        if orig.pending_replace and orig.pending_replace.client_order_id == event.client_order_id:
            orig.pending_replace = None
            return True
        if orig.pending_cancel and orig.pending_cancel.client_order_id == event.client_order_id:
            orig.pending_cancel = None
            return True
        return False  # we already learnt the outcome another way

    def _advance(self, order: TrackedOrder, event: OrderEvent, cum: float | None) -> bool:
        match event:
            case OrderAccepted():
                if order.status is not OrderStatus.PENDING_NEW:
                    return False
                order.status, order.order_id = OrderStatus.NEW, event.venue_order_id
            case OrderFilled(fill=fill):
                new_cum = cum if cum is not None else order.cum_quantity + fill.quantity
                if not order.is_open or new_cum <= order.cum_quantity + _EPS:
                    return False
                self._fill(order, fill.quantity, fill.price)
            case OrderRejected():
                if order.status is not OrderStatus.PENDING_NEW:
                    return False
                order.status = OrderStatus.REJECTED
            case OrderCanceled() | OrderExpired():
                if not order.is_open:
                    return False
                canceled = isinstance(event, OrderCanceled)
                order.status = OrderStatus.CANCELED if canceled else OrderStatus.EXPIRED
        return True

    def _replaced(self, event: OrderReplaced) -> bool:
        old = self.orders.get(event.orig_client_order_id)
        if event.client_order_id in self.orders:
            return False
        if old is None:
            return True
        if not old.is_open:
            return False
        old.status = OrderStatus.REPLACED
        old.pending_replace = None
        self.orders[event.client_order_id] = self.live[event.client_order_id] = TrackedOrder(
            client_order_id=event.client_order_id,
            symbol=old.symbol,
            side=old.side,
            quantity=event.quantity,
            limit_price=event.limit_price,
            lineage=old.lineage,
            order_id=old.order_id,
            status=OrderStatus.PARTIALLY_FILLED if old.cum_quantity > 0 else OrderStatus.NEW,
            cum_quantity=old.cum_quantity,
            average_price=old.average_price,
        )
        return True

    @staticmethod
    def _fill(order: TrackedOrder, quantity: float, price: float) -> None:
        total = order.cum_quantity + quantity
        order.average_price = (order.average_price * order.cum_quantity + price * quantity) / total
        order.cum_quantity = total
        done = total >= order.quantity - _EPS
        order.status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED

    # ------------------------------------------------------------------ reconciliation
    def reconcile(self, report: OrderStatusReport) -> list[OrderEvent]:
        """The events that bring the local order up to the venue's status report."""
        order = self.orders.get(report.client_order_id)
        if order is None or not order.is_open:
            return []
        if not report.known:
            events = self._never_received(order, report)
        elif order.status is OrderStatus.PENDING_NEW and report.status is OrderStatus.REJECTED:
            order.status = OrderStatus.REJECTED
            reason = report.text or "reconciled: the venue rejected the order"
            events = [
                OrderRejected(
                    client_order_id=order.client_order_id,
                    reason=reason,
                    code=RejectCode.OTHER,
                    ts_ns=report.ts_ns,
                )
            ]
        else:
            events = self._catch_up(order, report)
        self.counters.reconciled += len(events)
        return events

    @staticmethod
    def _never_received(order: TrackedOrder, report: OrderStatusReport) -> list[OrderEvent]:
        if order.status is not OrderStatus.PENDING_NEW:
            return []  # accepted earlier: a venue that forgot it proves nothing more
        order.status = OrderStatus.REJECTED
        return [
            OrderRejected(
                client_order_id=order.client_order_id,
                reason="reconciled: the venue never received the order",
                code=RejectCode.UNKNOWN_ORDER,
                ts_ns=report.ts_ns,
            )
        ]

    def _catch_up(self, order: TrackedOrder, report: OrderStatusReport) -> list[OrderEvent]:
        cid, ts = order.client_order_id, report.ts_ns
        events: list[OrderEvent] = []
        if order.status is OrderStatus.PENDING_NEW:
            order.status, order.order_id = OrderStatus.NEW, report.order_id
            events.append(
                OrderAccepted(client_order_id=cid, venue_order_id=report.order_id, ts_ns=ts)
            )
        missing = report.cum_quantity - order.cum_quantity
        if missing > _EPS:
            venue_notional = report.average_price * report.cum_quantity
            price = (venue_notional - order.average_price * order.cum_quantity) / missing
            fill = Fill(
                exec_id=f"{report.order_id}-RECON-{report.cum_quantity!r}",
                client_order_id=cid,
                symbol=order.symbol,
                side=order.side,
                quantity=missing,
                price=price,
                fee=0.0,
                ts_ns=ts,
            )
            self._fill(order, missing, price)
            events.append(OrderFilled(fill=fill))
        if order.is_open and report.status is OrderStatus.CANCELED:
            order.status = OrderStatus.CANCELED
            reason = "reconciled: the venue reports the order canceled"
            events.append(OrderCanceled(client_order_id=cid, ts_ns=ts, reason=reason))
        elif order.is_open and report.status is OrderStatus.EXPIRED:
            order.status = OrderStatus.EXPIRED
            events.append(OrderExpired(client_order_id=cid, ts_ns=ts))
        return events


def flatten_commands(
    open_orders: list[TrackedOrder],
    positions: Mapping[str, float],
    *,
    prefix: str,
    ts_ns: int,
) -> tuple[list[CancelOrder], list[SubmitOrder]]:
    """The kill switch's commands: cancel every working order (unless a cancel is already
    pending), and one MARKET order per non-zero position that takes it to zero."""
    cancels = [
        CancelOrder(
            client_order_id=f"{prefix}X{n}",
            orig_client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            ts_ns=ts_ns,
        )
        for n, order in enumerate(open_orders)
        if order.pending_cancel is None
    ]
    orders = [
        SubmitOrder(
            client_order_id=f"{prefix}M{n}",
            symbol=symbol,
            side=OrderSide.SELL if quantity > 0 else OrderSide.BUY,
            quantity=abs(quantity),
            ts_ns=ts_ns,
        )
        for n, (symbol, quantity) in enumerate(sorted(positions.items()))
        if abs(quantity) > _EPS
    ]
    return cancels, orders
