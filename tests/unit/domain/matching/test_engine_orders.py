"""The matching engine's order handling: accepts, rejects, fills, time in force, cancels."""

from __future__ import annotations

import pytest

from emp.domain.events import OrderCanceled, OrderCancelRejected, OrderRejected, RejectCode
from emp.domain.matching import CancelRejectReason, VenueLimits
from emp.domain.orders import OrderStatus, TimeInForce
from tests.unit.domain.matching.builders import (
    BUY,
    SELL,
    book,
    cancel,
    engine,
    fills,
    kinds,
    limit,
    market,
)

DEPTH = book(bids=((99.99, 100), (99.98, 200)), asks=((100.01, 100), (100.02, 200)))


class TestRejects:
    @pytest.mark.parametrize(
        ("command", "code", "words"),
        [
            (market("a", BUY, 10, symbol="NOPE"), RejectCode.UNKNOWN_SYMBOL, "unknown symbol"),
            (market("a", BUY, 0), RejectCode.INCORRECT_QUANTITY, "greater than 0"),
            (market("a", BUY, -5), RejectCode.INCORRECT_QUANTITY, "greater than 0"),
            (market("a", BUY, 15, symbol="XYZ"), RejectCode.INCORRECT_QUANTITY, "lot size"),
            (limit("a", BUY, 10, 100.005), RejectCode.INVALID_PRICE_INCREMENT, "tick size"),
            (limit("a", BUY, 10, 0.0), RejectCode.INVALID_PRICE_INCREMENT, "> 0"),
        ],
    )
    def test_a_malformed_order_is_rejected_with_its_fix_reason(self, command, code, words):
        reports = engine().submit(command, now_ns=5)
        (report,) = reports
        assert isinstance(report.event, OrderRejected)
        assert report.event.code == code
        assert words in report.event.reason
        assert report.event.ts_ns == 5
        assert report.state.status is OrderStatus.REJECTED
        assert report.state.order_id is None

    def test_a_duplicate_client_order_id_is_rejected(self):
        venue = engine()
        venue.submit(limit("a", BUY, 10, 99.0), now_ns=1)
        (report,) = venue.submit(limit("a", BUY, 10, 99.0), now_ns=2)
        assert report.event.code == RejectCode.DUPLICATE_ORDER

    def test_the_same_client_order_id_from_another_owner_is_accepted(self):
        venue = engine()
        venue.submit(limit("a", BUY, 10, 99.0), now_ns=1, owner="ONE")
        reports = venue.submit(limit("a", BUY, 10, 99.0), now_ns=2, owner="TWO")
        assert kinds(reports) == ["OrderAccepted"]

    def test_an_order_in_a_closed_market_is_rejected(self):
        venue = engine()
        venue.close_market(now_ns=1)
        (report,) = venue.submit(limit("a", BUY, 10, 99.0), now_ns=2)
        assert report.event.code == RejectCode.EXCHANGE_CLOSED
        venue.open_market()
        assert kinds(venue.submit(limit("b", BUY, 10, 99.0), now_ns=3)) == ["OrderAccepted"]

    def test_an_order_over_the_venue_quantity_limit_is_rejected_as_a_risk_breach(self):
        venue = engine(limits=VenueLimits(max_order_quantity=50))
        (report,) = venue.submit(limit("a", BUY, 60, 99.0), now_ns=1)
        assert report.event.code == RejectCode.EXCEEDS_LIMIT
        assert "exceeds the venue's limit" in report.event.reason

    def test_a_market_order_over_the_notional_limit_is_priced_at_the_opposite_touch(self):
        venue = engine(limits=VenueLimits(max_order_notional=5_000))
        venue.apply(DEPTH)
        (report,) = venue.submit(market("a", BUY, 60), now_ns=1)  # 60 x 100.01 > 5000
        assert report.event.code == RejectCode.EXCEEDS_LIMIT
        assert kinds(venue.submit(market("b", BUY, 40), now_ns=2))[0] == "OrderAccepted"


class TestFills:
    def test_a_market_order_walks_the_book_at_the_resting_prices(self):
        venue = engine()
        venue.apply(DEPTH)
        reports = venue.submit(market("a", BUY, 250), now_ns=7)
        assert kinds(reports)[0] == "OrderAccepted"
        assert fills(reports) == [(100.0, 100.01), (150.0, 100.02)]
        state = reports[-1].state
        assert state.status is OrderStatus.FILLED
        assert state.average_price == pytest.approx((100 * 100.01 + 150 * 100.02) / 250)
        assert venue.book("ABC").depth(SELL) == [(10002, 50)]

    @pytest.mark.parametrize("quantity", [11, 37, 99])
    def test_an_order_filled_at_one_price_reports_that_price_as_its_average(self, quantity):
        venue = engine()
        venue.apply(book(bids=((99.99, 100),), asks=((100.01, 100),)))
        (*_, sold) = venue.submit(market("a", SELL, quantity), now_ns=7)
        # 9999 ticks x 11 lots x 0.01 / 11 is 99.99000000000001 in floats: never on the wire
        assert sold.state.average_price == 99.99
        assert repr(sold.state.average_price) == "99.99"

    def test_a_market_order_larger_than_the_book_fills_what_exists_and_cancels_the_rest(self):
        venue = engine()
        venue.apply(DEPTH)
        reports = venue.submit(market("a", SELL, 1_000), now_ns=7)
        assert fills(reports) == [(100.0, 99.99), (200.0, 99.98)]
        assert isinstance(reports[-1].event, OrderCanceled)
        assert reports[-1].state.filled_quantity == 300
        assert reports[-1].state.leaves_quantity == 0

    def test_a_limit_order_trades_up_to_its_price_and_rests_the_rest(self):
        venue = engine()
        venue.apply(DEPTH)
        reports = venue.submit(limit("a", BUY, 150, 100.01), now_ns=1)
        assert fills(reports) == [(100.0, 100.01)]
        assert reports[-1].state.status is OrderStatus.PARTIALLY_FILLED
        assert venue.book("ABC").best_bid() == 10001
        assert venue.open_orders()[0].leaves_quantity == 50

    def test_two_own_orders_trade_with_each_other_at_the_resting_price(self):
        venue = engine(commission_bps=10)
        venue.submit(limit("maker", SELL, 10, 101.0), now_ns=1, owner="M")
        reports = venue.submit(limit("taker", BUY, 10, 102.0), now_ns=2, owner="T")
        assert fills(reports, "taker") == [(10.0, 101.0)]
        assert fills(reports, "maker") == [(10.0, 101.0)]
        fees = [r.event.fill.fee for r in reports if type(r.event).__name__ == "OrderFilled"]
        assert fees == [pytest.approx(1.01), pytest.approx(1.01)]
        assert {r.owner for r in reports[1:]} == {"M", "T"}

    def test_exec_ids_are_unique_and_carry_the_prefix(self):
        venue = engine(exec_id_prefix="RUN7-")
        venue.apply(DEPTH)
        reports = venue.submit(market("a", BUY, 250), now_ns=1)
        ids = [r.exec_id for r in reports]
        assert len(set(ids)) == len(ids)
        assert all(i.startswith("RUN7-") for i in ids)
        assert reports[1].event.fill.exec_id == reports[1].exec_id


class TestTimeInForce:
    def test_an_ioc_order_cancels_what_it_cannot_fill_at_once(self):
        venue = engine()
        venue.apply(DEPTH)
        reports = venue.submit(limit("a", BUY, 150, 100.01, TimeInForce.IOC), now_ns=1)
        assert fills(reports) == [(100.0, 100.01)]
        assert isinstance(reports[-1].event, OrderCanceled)
        assert venue.open_orders() == []

    def test_a_fok_order_that_cannot_fill_in_full_is_canceled_untouched(self):
        venue = engine()
        venue.apply(DEPTH)
        reports = venue.submit(limit("a", BUY, 301, 100.02, TimeInForce.FOK), now_ns=1)
        assert kinds(reports) == ["OrderAccepted", "OrderCanceled"]
        assert venue.book("ABC").depth(SELL) == [(10001, 100), (10002, 200)]

    def test_a_fok_order_that_can_fill_in_full_fills(self):
        venue = engine()
        venue.apply(DEPTH)
        reports = venue.submit(limit("a", BUY, 300, 100.02, TimeInForce.FOK), now_ns=1)
        assert sum(q for q, _ in fills(reports)) == 300
        assert reports[-1].state.status is OrderStatus.FILLED

    def test_closing_the_market_expires_day_orders_and_keeps_gtc_orders(self):
        venue = engine()
        venue.submit(limit("day", BUY, 10, 99.0), now_ns=1)
        venue.submit(limit("gtc", BUY, 10, 98.0, TimeInForce.GTC), now_ns=2)
        reports = venue.close_market(now_ns=9)
        assert kinds(reports) == ["OrderExpired"]
        assert reports[0].event.client_order_id == "day"
        assert reports[0].event.ts_ns == 9
        assert [o.client_order_id for o in venue.open_orders()] == ["gtc"]
        assert venue.book("ABC").depth(BUY) == [(9800, 10)]


class TestCancel:
    def test_a_resting_order_is_canceled_and_leaves_the_book(self):
        venue = engine()
        venue.submit(limit("a", BUY, 10, 99.0), now_ns=1)
        (report,) = venue.cancel(cancel("c1", "a", BUY), now_ns=2)
        assert isinstance(report.event, OrderCanceled)
        assert report.state.status is OrderStatus.CANCELED
        assert venue.book("ABC").depth(BUY) == []

    def test_cancel_of_a_filled_order_is_rejected_as_too_late(self):
        venue = engine()
        venue.apply(DEPTH)
        venue.submit(market("a", BUY, 10), now_ns=1)
        (report,) = venue.cancel(cancel("c1", "a", BUY), now_ns=2)
        assert isinstance(report.event, OrderCancelRejected)
        assert report.cancel_reject_reason == CancelRejectReason.TOO_LATE_TO_CANCEL
        assert report.state.status is OrderStatus.FILLED
        assert report.replace_request is False

    def test_cancel_of_an_unknown_order_is_rejected_as_unknown(self):
        (report,) = engine().cancel(cancel("c1", "ghost", BUY), now_ns=2)
        assert report.cancel_reject_reason == CancelRejectReason.UNKNOWN_ORDER
        assert "unknown order 'ghost'" in report.event.reason

    def test_cancel_naming_the_wrong_side_is_rejected(self):
        venue = engine()
        venue.submit(limit("a", BUY, 10, 99.0), now_ns=1)
        (report,) = venue.cancel(cancel("c1", "a", SELL), now_ns=2)
        assert report.cancel_reject_reason == CancelRejectReason.OTHER
        assert venue.open_orders()[0].client_order_id == "a"

    def test_an_owner_cannot_cancel_another_owners_order(self):
        venue = engine()
        venue.submit(limit("a", BUY, 10, 99.0), now_ns=1, owner="ONE")
        (report,) = venue.cancel(cancel("c1", "a", BUY), now_ns=2, owner="TWO")
        assert report.cancel_reject_reason == CancelRejectReason.UNKNOWN_ORDER
        assert report.owner == "TWO"
