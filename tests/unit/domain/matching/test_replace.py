"""Cancel/replace: what it changes, and when an order keeps its place in the queue."""

from __future__ import annotations

from emp.domain.events import OrderCancelRejected, OrderReplaced
from emp.domain.matching import CancelRejectReason
from emp.domain.orders import OrderStatus
from tests.unit.domain.matching.builders import (
    BUY,
    SELL,
    cancel,
    engine,
    fills,
    kinds,
    limit,
    market,
    replace,
)


def _two_bids(venue):
    venue.submit(limit("first", BUY, 10, 99.0), now_ns=1)
    venue.submit(limit("second", BUY, 10, 99.0), now_ns=2)


class TestPriority:
    def test_a_smaller_quantity_at_the_same_price_keeps_queue_priority(self):
        venue = engine()
        _two_bids(venue)
        venue.replace(replace("first2", "first", BUY, 5, 99.0), now_ns=3)
        reports = venue.submit(market("hit", SELL, 5), now_ns=4)
        assert fills(reports, "first2") == [(5.0, 99.0)]
        assert fills(reports, "second") == []

    def test_a_price_change_loses_queue_priority(self):
        venue = engine()
        _two_bids(venue)
        venue.replace(replace("first2", "first", BUY, 10, 98.0), now_ns=3)
        venue.replace(replace("first3", "first2", BUY, 10, 99.0), now_ns=4)
        reports = venue.submit(market("hit", SELL, 10), now_ns=5)
        assert fills(reports, "second") == [(10.0, 99.0)]
        assert fills(reports, "first3") == []

    def test_a_larger_quantity_loses_queue_priority(self):
        venue = engine()
        _two_bids(venue)
        venue.replace(replace("first2", "first", BUY, 20, 99.0), now_ns=3)
        reports = venue.submit(market("hit", SELL, 10), now_ns=4)
        assert fills(reports, "second") == [(10.0, 99.0)]


class TestOutcome:
    def test_a_replace_reports_the_new_terms_under_the_new_client_order_id(self):
        venue = engine()
        venue.submit(limit("a", BUY, 10, 99.0), now_ns=1)
        (report,) = venue.replace(replace("b", "a", BUY, 8, 99.5), now_ns=2)
        assert isinstance(report.event, OrderReplaced)
        assert (report.event.orig_client_order_id, report.event.client_order_id) == ("a", "b")
        assert (report.state.quantity, report.state.limit_price) == (8.0, 99.5)
        assert venue.order("a").status is OrderStatus.REPLACED
        assert venue.order("b").status is OrderStatus.NEW
        assert venue.book("ABC").depth(BUY) == [(9950, 8)]

    def test_a_replace_to_a_crossing_price_trades_at_once(self):
        venue = engine()
        venue.submit(limit("ask", SELL, 10, 100.0), now_ns=1, owner="M")
        venue.submit(limit("bid", BUY, 10, 99.0), now_ns=2)
        reports = venue.replace(replace("bid2", "bid", BUY, 10, 100.0), now_ns=3)
        assert kinds(reports)[0] == "OrderReplaced"
        assert fills(reports, "bid2") == [(10.0, 100.0)]
        assert venue.book("ABC").is_crossed() is False

    def test_a_partly_filled_order_keeps_its_fills_through_a_replace(self):
        venue = engine()
        venue.submit(limit("a", BUY, 10, 99.0), now_ns=1)
        venue.submit(market("hit", SELL, 4), now_ns=2)
        (report,) = venue.replace(replace("b", "a", BUY, 8, 99.0), now_ns=3)
        assert report.state.filled_quantity == 4
        assert report.state.leaves_quantity == 4
        assert venue.book("ABC").depth(BUY) == [(9900, 4)]


class TestRefusals:
    def test_a_quantity_not_above_the_filled_quantity_is_refused(self):
        venue = engine()
        venue.submit(limit("a", BUY, 10, 99.0), now_ns=1)
        venue.submit(market("hit", SELL, 4), now_ns=2)
        (report,) = venue.replace(replace("b", "a", BUY, 4, 99.0), now_ns=3)
        assert isinstance(report.event, OrderCancelRejected)
        assert report.replace_request is True
        assert "filled quantity" in report.event.reason
        assert venue.order("a").status is OrderStatus.PARTIALLY_FILLED

    def test_a_replace_reusing_a_client_order_id_is_refused(self):
        venue = engine()
        venue.submit(limit("a", BUY, 10, 99.0), now_ns=1)
        venue.submit(limit("b", BUY, 10, 98.0), now_ns=2)
        (report,) = venue.replace(replace("b", "a", BUY, 5, 99.0), now_ns=3)
        assert report.cancel_reject_reason == CancelRejectReason.DUPLICATE_CL_ORD_ID

    def test_a_replace_to_an_off_tick_price_is_refused(self):
        venue = engine()
        venue.submit(limit("a", BUY, 10, 99.0), now_ns=1)
        (report,) = venue.replace(replace("b", "a", BUY, 10, 99.001), now_ns=2)
        assert "tick size" in report.event.reason

    def test_cancel_of_a_replaced_order_is_too_late_and_names_the_state(self):
        venue = engine()
        venue.submit(limit("a", BUY, 10, 99.0), now_ns=1)
        venue.replace(replace("b", "a", BUY, 5, 99.0), now_ns=2)
        (report,) = venue.cancel(cancel("c", "a", BUY), now_ns=3)
        assert report.cancel_reject_reason == CancelRejectReason.TOO_LATE_TO_CANCEL
        assert report.state.status is OrderStatus.REPLACED
