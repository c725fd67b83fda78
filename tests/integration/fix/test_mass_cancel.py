"""The kill switch's batch cancel over real FIX: one OrderMassCancelRequest (35=q) for
every working order, the venue's OrderMassCancelReport (35=r), and the 35=F fallback."""

from __future__ import annotations

from collections import defaultdict

import quickfix as fix

from emp.adapters.fix_quickfix.wire import build_message, utc_timestamp
from emp.domain.commands import SubmitOrder
from emp.domain.events import OrderAccepted, OrderCanceled, OrderFilled
from emp.domain.matching import ladder
from emp.domain.orders import OrderSide, OrderType
from tests.integration.fix.conftest import INSTRUMENTS, SYMBOL, collect, message_lines, of_kind
from tests.integration.fix.test_recovery import wait_until

BOOK = ladder(INSTRUMENTS[SYMBOL], ts_ns=0, best_bid=99.99, levels=3, size=1_000)


def bid(cid: str, price: float) -> SubmitOrder:
    return SubmitOrder(
        client_order_id=cid,
        symbol=SYMBOL,
        side=OrderSide.BUY,
        quantity=10,
        order_type=OrderType.LIMIT,
        limit_price=price,
    )


def open_position_and_bids(client, bids: int) -> dict[str, float]:
    """A filled market buy of 25 and ``bids`` working bids; returns the position."""
    client.submit_order(
        SubmitOrder(client_order_id="m", symbol=SYMBOL, side=OrderSide.BUY, quantity=25)
    )
    for n in range(bids):
        client.submit_order(bid(f"w{n}", 50.0 - n))
    events = collect(
        client, lambda e: len(of_kind(e, OrderAccepted)) == bids + 1 and of_kind(e, OrderFilled)
    )
    position: dict[str, float] = defaultdict(float)
    for fill in of_kind(events, OrderFilled):
        position[fill.fill.symbol] += fill.fill.signed_quantity
    return dict(position)


def canceled_and_flat(client, bids: int):
    def done(events) -> bool:
        return len(of_kind(events, OrderCanceled)) == bids and any(
            f.fill.side is OrderSide.SELL for f in of_kind(events, OrderFilled)
        )

    return done


class TestFlattenWithOneMassCancel:
    def test_one_mass_cancel_request_cancels_every_working_order_and_the_position_is_sold(
        self, lab
    ):
        server = lab.server(initial=[BOOK], journal=True)
        client = lab.client(server.config.port, journal=True)
        client.mass_cancel = True
        position = open_position_and_bids(client, bids=4)
        sent = client.flatten(position, prefix="K")
        events = collect(client, canceled_and_flat(client, 4))
        assert sorted(e.client_order_id for e in of_kind(events, OrderCanceled)) == [
            "w0",
            "w1",
            "w2",
            "w3",
        ]
        assert client.tracker.open_orders() == []
        assert sent == ["K1-Q", "K1-M0"]
        lines = message_lines(client)
        assert len([line for line in lines if "|35=q|" in line and " OUT " in line]) == 1
        assert not [line for line in lines if "|35=F|" in line], "no order-by-order cancel"
        reports = [line for line in lines if "|35=r|" in line and " IN " in line]
        assert len(reports) == 1 and "|531=7|" in reports[0] and "|533=4|" in reports[0]
        journaled = {row["msg_type"] for row in client.journal.rows()}
        assert {"q", "r"} <= journaled

    def test_orders_sent_after_the_mass_cancel_are_not_canceled_by_it(self, lab):
        server = lab.server(initial=[BOOK])
        client = lab.client(server.config.port)
        client.mass_cancel = True
        position = open_position_and_bids(client, bids=2)
        client.flatten(position, prefix="K")
        client.submit_order(bid("after", 40.0))  # sent behind the 35=q: it must survive
        flat = canceled_and_flat(client, 2)
        events = collect(
            client,
            lambda e: (
                flat(e) and any(a.client_order_id == "after" for a in of_kind(e, OrderAccepted))
            ),
        )
        assert "after" not in {e.client_order_id for e in of_kind(events, OrderCanceled)}
        assert [o.client_order_id for o in client.tracker.open_orders()] == ["after"]


class TestMassCancelRefused:
    def test_a_venue_that_refuses_mass_cancels_gets_one_cancel_per_working_order(self, lab):
        server = lab.server(initial=[BOOK], mass_cancel=False)
        client = lab.client(server.config.port)
        client.mass_cancel = True
        position = open_position_and_bids(client, bids=3)
        client.flatten(position, prefix="K")
        events = collect(client, canceled_and_flat(client, 3))
        assert len(of_kind(events, OrderCanceled)) == 3
        assert client.mass_cancel is False, "a refusal turns mass cancel off"
        lines = message_lines(client)
        assert any("|35=j|" in line and "|372=q|" in line for line in lines)
        assert len([line for line in lines if "|35=F|" in line and " OUT " in line]) == 3


class TestMassCancelRequestTypes:
    def test_an_unsupported_request_type_is_answered_by_a_rejected_report(self, lab):
        server = lab.server(initial=[BOOK])
        client = lab.client(server.config.port)
        client.mass_cancel = True
        client.submit_order(bid("w0", 50.0))
        collect(client, lambda e: len(of_kind(e, OrderAccepted)) == 1)
        body = [(11, "by-product"), (530, "3"), (60, utc_timestamp(lab.clock.now_ns()))]
        fix.Session.sendToTarget(build_message("q", body), client._session_id)
        wait_until(lambda: any("|35=r|" in line for line in message_lines(client)))
        client.drain_events()
        (report,) = [line for line in message_lines(client) if "|35=r|" in line]
        assert "|531=0|" in report and "|532=0|" in report and "|11=by-product|" in report
        assert client.mass_cancel is False, "a refused mass cancel is not tried again"
        assert [o.client_order_id for o in client.tracker.open_orders()] == ["w0"]

    def test_a_mass_cancel_for_one_security_cancels_its_orders(self, lab):
        server = lab.server(initial=[BOOK])
        client = lab.client(server.config.port)
        client.submit_order(bid("w0", 50.0))
        client.submit_order(bid("w1", 49.0))
        collect(client, lambda e: len(of_kind(e, OrderAccepted)) == 2)
        now = utc_timestamp(lab.clock.now_ns())
        body = [(11, "one-symbol"), (530, "1"), (55, SYMBOL), (60, now)]
        fix.Session.sendToTarget(build_message("q", body), client._session_id)
        events = collect(client, lambda e: len(of_kind(e, OrderCanceled)) == 2)
        assert {e.client_order_id for e in of_kind(events, OrderCanceled)} == {"w0", "w1"}
        (report,) = [line for line in message_lines(client) if "|35=r|" in line]
        assert "|531=1|" in report and "|533=2|" in report
