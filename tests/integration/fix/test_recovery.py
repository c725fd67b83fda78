"""Recovery over real FIX: sequence gaps, duplicates, disconnects, reconciliation."""

from __future__ import annotations

import time

from emp.domain.commands import SubmitOrder
from emp.domain.events import OrderAccepted, OrderFilled
from emp.domain.matching import TradePrint
from emp.domain.orders import OrderSide, OrderStatus, OrderType
from tests.integration.fix.conftest import SYMBOL, collect, message_lines, of_kind, settle

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def resting_bid(cid: str, qty: float = 100, price: float = 99.0) -> SubmitOrder:
    return SubmitOrder(
        client_order_id=cid,
        symbol=SYMBOL,
        side=BUY,
        quantity=qty,
        order_type=OrderType.LIMIT,
        limit_price=price,
    )


def sell_print(qty: float, price: float = 99.0) -> TradePrint:
    return TradePrint(symbol=SYMBOL, ts_ns=1, price=price, quantity=qty, aggressor=SELL)


def fills_of(events) -> list[tuple[str, float, float]]:
    return [
        (e.client_order_id, e.fill.quantity, e.fill.price) for e in of_kind(events, OrderFilled)
    ]


def wait_until(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


class TestSequenceGap:
    def test_a_report_lost_on_the_wire_is_resent_and_applied_once_in_order(self, lab):
        server = lab.server()
        proxy = lab.proxy(server.config.port)
        client = lab.client(proxy.port)
        client.submit_order(resting_bid("o1"))
        collect(client, lambda e: bool(of_kind(e, OrderAccepted)))
        proxy.drop_next_to_client(lambda raw: b"\x01150=F\x01" in raw)
        server.feed(sell_print(40))
        wait_until(lambda: proxy.dropped)
        server.feed(sell_print(60))  # its higher MsgSeqNum reveals the gap
        events = collect(client, lambda e: len(of_kind(e, OrderFilled)) == 2)
        assert fills_of(events) == [("o1", 40.0, 99.0), ("o1", 60.0, 99.0)]
        assert settle(client) == []
        log = "\n".join(message_lines(client))
        assert any("|35=2|" in line and " OUT " in line for line in log.splitlines())
        resent = [line for line in log.splitlines() if "|150=F|" in line and "|43=Y|" in line]
        assert len(resent) == 1


class TestDuplicates:
    def test_a_possdup_copy_of_a_report_is_ignored(self, lab):
        server = lab.server()
        client = lab.client(server.config.port)
        client.submit_order(resting_bid("o1"))
        collect(client, lambda e: bool(of_kind(e, OrderAccepted)))
        server.feed(sell_print(100))
        collect(client, lambda e: bool(of_kind(e, OrderFilled)))
        original = server.resend_last_report("EMP")
        assert "\x01150=F\x01" in original
        assert settle(client) == []
        assert client.tracker.counters.duplicates == 1
        assert client.tracker.orders["o1"].cum_quantity == 100

    def test_a_possresend_copy_of_a_report_is_ignored(self, lab):
        server = lab.server()
        client = lab.client(server.config.port)
        client.submit_order(resting_bid("o1"))
        collect(client, lambda e: bool(of_kind(e, OrderAccepted)))
        server.resend_last_report("EMP", poss_resend=True)
        assert settle(client) == []
        log = "\n".join(message_lines(client))
        assert "|97=Y|" in log
        assert client.tracker.counters.duplicates == 1


class TestDisconnect:
    def test_a_fill_during_a_disconnect_arrives_once_after_reconnecting(self, lab):
        server = lab.server()
        proxy = lab.proxy(server.config.port)
        client = lab.client(proxy.port)
        client.submit_order(resting_bid("o1"))
        collect(client, lambda e: bool(of_kind(e, OrderAccepted)))
        proxy.sever(refuse=True)
        wait_until(lambda: not client.is_logged_on and not server.is_logged_on())
        server.feed(sell_print(30), sell_print(70))  # filled while we are away
        proxy.allow()
        client.wait_logged_on(15)
        events = collect(client, lambda e: sum(q for _, q, _ in fills_of(e)) >= 100, 10)
        events += settle(client, 0.5)
        assert fills_of(events) == [("o1", 30.0, 99.0), ("o1", 70.0, 99.0)]
        assert client.tracker.orders["o1"].status is OrderStatus.FILLED
        assert client.logons == 2
        assert client.reconnect_delays and client.reconnect_delays[0] == 0.1
        log = "\n".join(message_lines(client))
        assert any("|35=AF|" in line and " OUT " in line for line in log.splitlines())

    def test_reconciliation_recovers_a_fill_the_venue_never_sent(self, lab):
        server = lab.server()
        proxy = lab.proxy(server.config.port)
        client = lab.client(proxy.port)
        client.submit_order(resting_bid("o1"))
        collect(client, lambda e: bool(of_kind(e, OrderAccepted)))
        server.suppress_reports("o1")  # a venue that lost its reports
        server.feed(sell_print(25, 99.0))
        assert settle(client, 0.3) == []
        proxy.sever()
        client.wait_logged_on(15)
        events = collect(client, lambda e: bool(of_kind(e, OrderFilled)), 10)
        events += settle(client, 0.3)
        ((fill_event,),) = [of_kind(events, OrderFilled)]
        fill = fill_event.fill
        assert (fill.client_order_id, fill.quantity, fill.price) == ("o1", 25.0, 99.0)
        assert "RECON" in fill.exec_id
        assert client.tracker.orders["o1"].cum_quantity == 25
        assert client.tracker.counters.reconciled == 1
