"""Reconciliation by OrderMassStatusRequest (35=AF) over real FIX, and its 35=H fallback."""

from __future__ import annotations

from emp.domain.commands import SubmitOrder
from emp.domain.events import OrderAccepted, OrderExpired, OrderFilled
from emp.domain.orders import OrderSide, OrderStatus, OrderType, TimeInForce
from tests.integration.fix.conftest import collect, message_lines, of_kind, settle
from tests.integration.fix.test_recovery import fills_of, sell_print, wait_until

BUY = OrderSide.BUY


def bid(cid: str, price: float, tif: TimeInForce = TimeInForce.GTC) -> SubmitOrder:
    return SubmitOrder(
        client_order_id=cid,
        symbol="ABC",
        side=BUY,
        quantity=100,
        order_type=OrderType.LIMIT,
        limit_price=price,
        time_in_force=tif,
    )


def lines_with(venue, *parts: str) -> list[str]:
    return [line for line in message_lines(venue) if all(part in line for part in parts)]


def away(lab, proxy, client, server) -> None:
    proxy.sever(refuse=True)
    wait_until(lambda: not client.is_logged_on and not server.is_logged_on())


class TestMassStatusReconciliation:
    def test_orders_filled_and_expired_while_away_are_each_counted_once(self, lab):
        server = lab.server()
        proxy = lab.proxy(server.config.port)
        client = lab.client(proxy.port)
        orders = [
            bid("o1", 99.0),
            bid("o2", 98.0, TimeInForce.DAY),
            bid("o3", 97.0),
            bid("o4", 96.0),
        ]
        for order in orders:
            client.submit_order(order)
        collect(client, lambda e: len(of_kind(e, OrderAccepted)) == 4)
        for cid in ("o1", "o2", "o3"):
            server.suppress_reports(cid)  # a venue that lost them: only status can tell
        away(lab, proxy, client, server)
        server.feed(sell_print(100, 99.0))  # o1 filled
        server.feed(sell_print(30, 98.0))  # o2 partly filled...
        server.close_market("ABC")  # ...then expires (DAY); GTC o3 and o4 keep working
        server.open_market("ABC")
        server.feed(sell_print(40, 97.0))  # o3 partly filled
        proxy.allow()
        client.wait_logged_on(15)
        events = collect(
            client, lambda e: len(of_kind(e, OrderFilled)) == 3 and of_kind(e, OrderExpired), 10
        )
        events += settle(client, 0.5)

        assert sorted((cid, qty) for cid, qty, _ in fills_of(events)) == [
            ("o1", 100.0),
            ("o2", 30.0),
            ("o3", 40.0),
        ]
        assert [e.client_order_id for e in of_kind(events, OrderExpired)] == ["o2"]
        orders_now = client.tracker.orders
        assert (orders_now["o1"].status, orders_now["o1"].cum_quantity) == (
            OrderStatus.FILLED,
            100,
        )
        assert (orders_now["o2"].status, orders_now["o2"].cum_quantity) == (
            OrderStatus.EXPIRED,
            30,
        )
        assert orders_now["o3"].status is OrderStatus.PARTIALLY_FILLED
        assert orders_now["o4"].status is OrderStatus.NEW
        # one 35=AF; 35=H only for the orders the venue no longer lists
        assert len(lines_with(client, " OUT ", "|35=AF|", "|585=7|")) == 1
        asked = {
            cid for cid in ("o1", "o2", "o3", "o4") if lines_with(client, "|35=H|", f"|11={cid}|")
        }
        assert asked == {"o1", "o2"}
        answers = lines_with(client, " IN ", "|150=I|", "|584=")
        assert len(answers) == 2 and all("|911=2|" in line for line in answers)
        assert ["|912=Y|" in line for line in answers] == [False, True]
        assert client.errors == []

    def test_with_no_working_order_the_venue_sends_a_single_report(self, lab):
        server = lab.server()
        client = lab.client(server.config.port)
        assert client.reconcile() == 0
        wait_until(lambda: bool(lines_with(client, " IN ", "|150=I|")))
        assert settle(client, 0.3) == []
        (answer,) = lines_with(client, " IN ", "|150=I|")
        for part in ("|584=M1|", "|911=0|", "|912=Y|", "|37=NONE|", "|55=[N/A]|"):
            assert part in answer
        assert "|11=" not in answer
        assert client.errors == []


class TestMassStatusFallback:
    def test_a_venue_that_refuses_mass_status_is_asked_order_by_order(self, lab):
        server = lab.server(mass_status=False)
        proxy = lab.proxy(server.config.port)
        client = lab.client(proxy.port)
        client.submit_order(bid("o1", 99.0))
        collect(client, lambda e: bool(of_kind(e, OrderAccepted)))
        server.suppress_reports("o1")
        away(lab, proxy, client, server)
        server.feed(sell_print(25, 99.0))
        proxy.allow()
        client.wait_logged_on(15)
        events = collect(client, lambda e: bool(of_kind(e, OrderFilled)), 10)
        events += settle(client, 0.3)
        assert [(cid, qty) for cid, qty, _ in fills_of(events)] == [("o1", 25.0)]
        assert client.mass_status is False
        assert lines_with(client, " IN ", "|35=j|", "|372=AF|")
        assert lines_with(client, " OUT ", "|35=H|", "|11=o1|")
        assert client.errors == []
