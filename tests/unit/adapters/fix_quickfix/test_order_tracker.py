"""The initiator's application layer: exactly-once events and reconciliation, no network."""

from __future__ import annotations

import pytest

from emp.adapters.fix_codec.status import OrderStatusReport
from emp.adapters.fix_quickfix.order_tracker import OrderTracker, flatten_commands
from emp.domain.commands import ReplaceOrder, SubmitOrder
from emp.domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    RejectCode,
)
from emp.domain.fills import Fill
from emp.domain.orders import OrderSide, OrderStatus, OrderType


def tracker_with(cid: str = "o1", quantity: float = 100) -> OrderTracker:
    tracker = OrderTracker()
    tracker.on_submit(
        SubmitOrder(
            client_order_id=cid,
            symbol="ABC",
            side=OrderSide.BUY,
            quantity=quantity,
            order_type=OrderType.LIMIT,
            limit_price=10.0,
            strategy="s",
        ),
        decision_id="d1",
    )
    return tracker


def filled(qty: float, price: float, exec_id: str, cid: str = "o1") -> OrderFilled:
    return OrderFilled(
        fill=Fill(
            exec_id=exec_id,
            client_order_id=cid,
            symbol="ABC",
            side=OrderSide.BUY,
            quantity=qty,
            price=price,
            fee=0.0,
            ts_ns=1,
        )
    )


def status(cum: float, avg: float, state: OrderStatus, known: bool = True) -> OrderStatusReport:
    return OrderStatusReport(
        client_order_id="o1",
        order_id="V1",
        symbol="ABC",
        side=OrderSide.BUY,
        status=state,
        order_quantity=100,
        cum_quantity=cum,
        leaves_quantity=max(100 - cum, 0),
        average_price=avg,
        ts_ns=9,
        known=known,
        request_id="R1",
        text="",
    )


ACCEPTED = OrderAccepted(client_order_id="o1", venue_order_id="V1", ts_ns=1)


class TestExactlyOnce:
    def test_a_repeated_exec_id_is_dropped(self):
        tracker = tracker_with()
        assert tracker.apply(ACCEPTED, "E1", 0.0)
        assert not tracker.apply(ACCEPTED, "E1", 0.0)
        assert tracker.counters.duplicates == 1

    def test_a_fill_whose_cum_qty_is_already_counted_is_dropped(self):
        tracker = tracker_with()
        tracker.apply(ACCEPTED, "E1", 0.0)
        assert tracker.apply(filled(40, 10.0, "F1"), "F1", 40.0)
        assert not tracker.apply(filled(40, 10.0, "F1-copy"), "F1-copy", 40.0)
        assert tracker.orders["o1"].cum_quantity == 40

    def test_nothing_is_applied_after_a_terminal_state(self):
        tracker = tracker_with()
        tracker.apply(ACCEPTED, "E1", 0.0)
        canceled = OrderCanceled(client_order_id="o1", ts_ns=2)
        assert tracker.apply(canceled, "E2", 0.0)
        assert not tracker.apply(OrderCanceled(client_order_id="o1", ts_ns=3), "E3", 0.0)
        assert not tracker.apply(filled(1, 10.0, "F9"), "F9", 1.0)

    def test_a_late_acceptance_after_a_fill_is_dropped(self):
        tracker = tracker_with()
        assert tracker.apply(filled(100, 10.0, "F1"), "F1", 100.0)
        assert not tracker.apply(ACCEPTED, "E1", 0.0)

    def test_a_replace_moves_the_order_and_its_fills_to_the_new_id(self):
        tracker = tracker_with()
        tracker.apply(ACCEPTED, "E1", 0.0)
        tracker.apply(filled(30, 10.0, "F1"), "F1", 30.0)
        tracker.on_replace(
            ReplaceOrder(
                client_order_id="o2",
                orig_client_order_id="o1",
                symbol="ABC",
                side=OrderSide.BUY,
                quantity=80,
                limit_price=10.5,
            )
        )
        replaced = OrderReplaced(
            orig_client_order_id="o1", client_order_id="o2", quantity=80, limit_price=10.5, ts_ns=2
        )
        assert tracker.apply(replaced, "E2", 30.0)
        assert tracker.orders["o1"].status is OrderStatus.REPLACED
        new = tracker.orders["o2"]
        assert (new.cum_quantity, new.status, new.lineage.decision_id) == (
            30,
            OrderStatus.PARTIALLY_FILLED,
            "d1",
        )
        assert tracker.lineage("o2").root_client_order_id == "o1"

    def test_a_cancel_reject_for_a_request_we_never_made_is_dropped(self):
        tracker = tracker_with()
        refused = OrderCancelRejected(
            client_order_id="x9", orig_client_order_id="o1", reason="late", ts_ns=2
        )
        assert not tracker.apply(refused, "C1", None)


class TestReconciliation:
    def test_a_missing_fill_is_synthesized_at_the_implied_price(self):
        tracker = tracker_with()
        tracker.apply(ACCEPTED, "E1", 0.0)
        tracker.apply(filled(40, 10.0, "F1"), "F1", 40.0)
        events = tracker.reconcile(status(100, 10.6, OrderStatus.FILLED))
        (event,) = events
        assert isinstance(event, OrderFilled)
        assert event.fill.quantity == 60
        assert event.fill.price == pytest.approx(11.0)  # (100*10.6 - 40*10) / 60
        assert tracker.orders["o1"].status is OrderStatus.FILLED

    def test_a_report_arriving_after_reconciliation_is_not_counted_twice(self):
        tracker = tracker_with()
        tracker.apply(ACCEPTED, "E1", 0.0)
        tracker.reconcile(status(100, 10.0, OrderStatus.FILLED))
        assert not tracker.apply(filled(100, 10.0, "F1"), "F1", 100.0)

    def test_a_status_that_agrees_produces_nothing(self):
        tracker = tracker_with()
        tracker.apply(ACCEPTED, "E1", 0.0)
        tracker.apply(filled(40, 10.0, "F1"), "F1", 40.0)
        assert tracker.reconcile(status(40, 10.0, OrderStatus.PARTIALLY_FILLED)) == []

    def test_an_order_the_venue_never_received_is_rejected_as_unknown(self):
        tracker = tracker_with()
        (event,) = tracker.reconcile(status(0, 0, OrderStatus.REJECTED, known=False))
        assert isinstance(event, OrderRejected)
        assert event.code == RejectCode.UNKNOWN_ORDER
        assert tracker.orders["o1"].status is OrderStatus.REJECTED

    def test_a_pending_order_the_venue_canceled_is_accepted_then_canceled(self):
        tracker = tracker_with()
        events = tracker.reconcile(status(0, 0, OrderStatus.CANCELED))
        assert [type(e) for e in events] == [OrderAccepted, OrderCanceled]


class TestFlattenCommands:
    def test_flatten_cancels_working_orders_and_offsets_every_position(self):
        tracker = tracker_with("w1")
        tracker.apply(OrderAccepted(client_order_id="w1", venue_order_id="V1", ts_ns=1), "E1", 0.0)
        cancels, orders = flatten_commands(
            tracker.open_orders(), {"ABC": 30.0, "XYZ": -5.0, "FLAT": 0.0}, prefix="K-", ts_ns=7
        )
        assert [(c.orig_client_order_id, c.side) for c in cancels] == [("w1", OrderSide.BUY)]
        assert [(o.symbol, o.side, o.quantity) for o in orders] == [
            ("ABC", OrderSide.SELL, 30.0),
            ("XYZ", OrderSide.BUY, 5.0),
        ]
        assert all(o.order_type is OrderType.MARKET and o.ts_ns == 7 for o in orders)
        assert len({c.client_order_id for c in (*cancels, *orders)}) == 3
