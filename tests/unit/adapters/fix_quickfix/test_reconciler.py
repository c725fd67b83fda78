"""Reconciliation requests after a re-logon: 35=AF first, 35=H where needed, retries."""

from __future__ import annotations

import time

from emp.adapters.fix_codec.status import OrderStatusReport
from emp.adapters.fix_quickfix.order_tracker import OrderTracker
from emp.adapters.fix_quickfix.reconnect import Reconciler
from emp.domain.commands import SubmitOrder
from emp.domain.orders import OrderSide, OrderStatus


def tracker_with(*cids: str) -> OrderTracker:
    tracker = OrderTracker()
    for cid in cids:
        tracker.on_submit(
            SubmitOrder(client_order_id=cid, symbol="ABC", side=OrderSide.BUY, quantity=10)
        )
    return tracker


def listed(cid: str, request_id: str, total: int, last: bool) -> OrderStatusReport:
    return OrderStatusReport(
        client_order_id=cid,
        order_id=f"V-{cid}",
        symbol="ABC",
        side=OrderSide.BUY,
        status=OrderStatus.NEW,
        order_quantity=10,
        cum_quantity=0,
        leaves_quantity=10,
        average_price=0,
        ts_ns=1,
        known=True,
        request_id=None,
        text="",
        mass_request_id=request_id,
        total_reports=total,
        last_report=last,
    )


class Sent(list):
    def __call__(self, msg_type, body, lineage) -> None:
        self.append((msg_type, dict(body)))


def reconciler(tracker: OrderTracker, **kwargs) -> tuple[Reconciler, Sent]:
    sent = Sent()
    return Reconciler(tracker, sent, lambda text: None, **kwargs), sent


class TestReconciler:
    def test_orders_the_venue_no_longer_lists_are_asked_about_one_by_one(self):
        tracker = tracker_with("a", "b", "c")
        rec, sent = reconciler(tracker)
        assert rec.start() == 3
        assert sent == [("AF", {584: "M1", 585: "7"})]
        rec.on_report(listed("b", "M1", 1, True))
        assert [(t, b[11]) for t, b in sent[1:]] == [("H", "a"), ("H", "c")]
        assert tracker.orders["b"].status is OrderStatus.NEW  # accepted by reconciliation

    def test_an_unanswered_mass_request_is_sent_again(self):
        rec, sent = reconciler(tracker_with("a"), retry_s=0.5)
        rec.start()
        rec.retry_overdue(time.monotonic())
        assert len(sent) == 1  # not overdue yet
        rec.retry_overdue(time.monotonic() + 1)
        assert [b[584] for _, b in sent] == ["M1", "M2"]
        rec.on_report(listed("a", "M1", 1, True))  # a late answer to the old request
        assert rec.waiting  # M2 still open
        rec.on_report(listed("a", "M2", 1, True))
        assert not rec.waiting

    def test_a_refusal_falls_back_to_status_requests_and_they_are_retried(self):
        rec, sent = reconciler(tracker_with("a", "b"), retry_s=0.5)
        rec.start()
        rec.refused("BusinessMessageReject")
        assert not rec.mass_status
        assert [(t, b[11]) for t, b in sent[1:]] == [("H", "a"), ("H", "b")]
        rec.on_report(listed("a", "", 0, False))
        rec.retry_overdue(time.monotonic() + 1)
        assert [(t, b[11]) for t, b in sent[3:]] == [("H", "b")]
        rec.start()
        assert sent[-1][0] == "H"  # never 35=AF again
