"""Order lifecycles over real FIX: fills, cancels, replaces, rejects, the audit journal."""

from __future__ import annotations

import pytest

from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder
from emp.domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    RejectCode,
)
from emp.domain.matching import TradePrint, VenueLimits, ladder
from emp.domain.orders import OrderSide, OrderType, TimeInForce
from tests.integration.fix.conftest import INSTRUMENTS, SYMBOL, collect, of_kind, settle

BUY, SELL = OrderSide.BUY, OrderSide.SELL
BOOK = ladder(INSTRUMENTS[SYMBOL], ts_ns=0, best_bid=99.99, levels=3, size=100)


def limit(cid: str, side: OrderSide, qty: float, price: float, **kw) -> SubmitOrder:
    return SubmitOrder(
        client_order_id=cid,
        symbol=SYMBOL,
        side=side,
        quantity=qty,
        order_type=OrderType.LIMIT,
        limit_price=price,
        **kw,
    )


def trade(qty: float, price: float, aggressor: OrderSide = SELL) -> TradePrint:
    return TradePrint(symbol=SYMBOL, ts_ns=1, price=price, quantity=qty, aggressor=aggressor)


def has(kind: type, count: int = 1):
    return lambda events: len(of_kind(events, kind)) >= count


class TestFills:
    def test_new_then_partial_fill_then_fill(self, lab):
        server = lab.server()
        client = lab.client(server.config.port)
        client.submit_order(limit("o1", BUY, 100, 99.0, strategy="mean_rev"))
        accepted = collect(client, has(OrderAccepted))
        assert accepted[0].venue_order_id.startswith("EMPSIM-")
        server.feed(trade(40, 99.0))
        (partial,) = of_kind(collect(client, has(OrderFilled)), OrderFilled)
        assert (partial.fill.quantity, partial.fill.price) == (40.0, 99.0)
        server.feed(trade(500, 98.5))
        (rest,) = of_kind(collect(client, has(OrderFilled)), OrderFilled)
        assert rest.fill.quantity == 60.0
        assert client.tracker.orders["o1"].status.value == "FILLED"
        assert settle(client) == []

    def test_a_market_order_walks_the_served_book(self, lab):
        server = lab.server(initial=[BOOK])
        client = lab.client(server.config.port)
        client.submit_order(
            SubmitOrder(client_order_id="m1", symbol=SYMBOL, side=BUY, quantity=150)
        )
        fills = of_kind(collect(client, has(OrderFilled, 2)), OrderFilled)
        assert [(f.fill.quantity, f.fill.price) for f in fills] == [(100.0, 100.0), (50.0, 100.01)]


class TestCancelAndReplace:
    def test_new_then_cancel(self, lab):
        server = lab.server()
        client = lab.client(server.config.port)
        client.submit_order(limit("o1", BUY, 10, 99.0))
        collect(client, has(OrderAccepted))
        client.cancel_order(
            CancelOrder(client_order_id="x1", orig_client_order_id="o1", symbol=SYMBOL, side=BUY)
        )
        (canceled,) = of_kind(collect(client, has(OrderCanceled)), OrderCanceled)
        assert canceled.client_order_id == "o1"

    def test_replace_changes_the_terms_and_the_new_order_fills(self, lab):
        server = lab.server()
        client = lab.client(server.config.port)
        client.submit_order(limit("o1", BUY, 10, 99.0))
        collect(client, has(OrderAccepted))
        client.replace_order(
            ReplaceOrder(
                client_order_id="o2",
                orig_client_order_id="o1",
                symbol=SYMBOL,
                side=BUY,
                quantity=20,
                limit_price=99.5,
            )
        )
        (replaced,) = of_kind(collect(client, has(OrderReplaced)), OrderReplaced)
        assert (replaced.client_order_id, replaced.quantity, replaced.limit_price) == (
            "o2",
            20.0,
            99.5,
        )
        server.feed(trade(20, 99.5))
        (fill,) = of_kind(collect(client, has(OrderFilled)), OrderFilled)
        assert (fill.client_order_id, fill.fill.quantity, fill.fill.price) == ("o2", 20.0, 99.5)

    def test_cancel_of_a_filled_order_gets_a_cancel_reject(self, lab):
        server = lab.server(initial=[BOOK])
        client = lab.client(server.config.port)
        client.submit_order(SubmitOrder(client_order_id="m1", symbol=SYMBOL, side=BUY, quantity=5))
        collect(client, has(OrderFilled))
        client.cancel_order(
            CancelOrder(client_order_id="x1", orig_client_order_id="m1", symbol=SYMBOL, side=BUY)
        )
        (refused,) = of_kind(collect(client, has(OrderCancelRejected)), OrderCancelRejected)
        assert "already FILLED" in refused.reason

    def test_cancel_of_an_unknown_order_gets_a_cancel_reject(self, lab):
        server = lab.server()
        client = lab.client(server.config.port)
        client.cancel_order(
            CancelOrder(client_order_id="x1", orig_client_order_id="nope", symbol=SYMBOL, side=BUY)
        )
        (refused,) = of_kind(collect(client, has(OrderCancelRejected)), OrderCancelRejected)
        assert "unknown order 'nope'" in refused.reason


class TestRejects:
    @pytest.mark.parametrize(
        ("command", "code"),
        [
            (SubmitOrder(client_order_id="r1", symbol="NOPE", side=BUY, quantity=1), 1),
            (limit("r2", BUY, 1.5, 99.0), RejectCode.INCORRECT_QUANTITY),
            # 18 (invalid price increment) is FIX 5.0: a FIX 4.4 wire carries 99 + Text
            (limit("r3", BUY, 1, 99.001), RejectCode.OTHER),
            (limit("r4", BUY, 5_000, 99.0), RejectCode.EXCEEDS_LIMIT),
        ],
    )
    def test_a_refused_order_comes_back_rejected_with_its_reason(self, lab, command, code):
        server = lab.server(limits=VenueLimits(max_order_quantity=1_000))
        client = lab.client(server.config.port)
        client.submit_order(command)
        (rejected,) = of_kind(collect(client, has(OrderRejected)), OrderRejected)
        assert rejected.code == code
        assert rejected.reason
        assert settle(client, 0.1) == []  # and no session-level Reject came of it

    def test_a_closed_market_rejects_orders_and_expires_day_orders(self, lab):
        server = lab.server()
        client = lab.client(server.config.port)
        client.submit_order(limit("day", BUY, 1, 99.0))
        client.submit_order(limit("gtc", BUY, 1, 98.0, time_in_force=TimeInForce.GTC))
        collect(client, has(OrderAccepted, 2))
        server.close_market()
        (expired,) = of_kind(collect(client, has(OrderExpired)), OrderExpired)
        assert expired.client_order_id == "day"
        client.submit_order(limit("late", BUY, 1, 99.0))
        (rejected,) = of_kind(collect(client, has(OrderRejected)), OrderRejected)
        assert rejected.code == RejectCode.EXCHANGE_CLOSED


class TestAuditJournal:
    def test_every_application_message_is_journaled_with_its_lineage(self, lab):
        server = lab.server()
        client = lab.client(server.config.port, journal=True)
        client.submit_order(limit("o1", BUY, 10, 99.0, strategy="trend"), decision_id="dec-7")
        collect(client, has(OrderAccepted))
        client.replace_order(
            ReplaceOrder(
                client_order_id="o2",
                orig_client_order_id="o1",
                symbol=SYMBOL,
                side=BUY,
                quantity=10,
                limit_price=99.5,
            )
        )
        collect(client, has(OrderReplaced))
        server.feed(trade(10, 99.5))
        collect(client, has(OrderFilled))
        rows = client.journal.for_order("o1")
        assert [(r["direction"], r["msg_type"]) for r in rows] == [
            ("out", "D"),
            ("in", "8"),
            ("out", "G"),
            ("in", "8"),
            ("in", "8"),
        ]
        assert {(r["strategy"], r["decision_id"]) for r in rows} == {("trend", "dec-7")}
        assert rows[-1]["cl_ord_id"] == "o2" and rows[-1]["exec_id"]
        assert client.journal.verify() == len(client.journal.rows())
