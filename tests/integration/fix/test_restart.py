"""A served venue restarted on the same store folder remembers its orders."""

from __future__ import annotations

from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder
from emp.domain.events import OrderAccepted, OrderCanceled, OrderFilled, OrderReplaced
from emp.domain.matching import TradePrint
from emp.domain.orders import OrderSide, OrderStatus, OrderType, TimeInForce
from tests.integration.fix.conftest import (
    SYMBOL,
    collect,
    free_port,
    message_lines,
    of_kind,
    settle,
)
from tests.integration.fix.test_recovery import sell_print, wait_until

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def limit(cid: str, side: OrderSide, price: float, qty: float = 100) -> SubmitOrder:
    return SubmitOrder(
        client_order_id=cid,
        symbol=SYMBOL,
        side=side,
        quantity=qty,
        order_type=OrderType.LIMIT,
        limit_price=price,
        time_in_force=TimeInForce.GTC,
    )


class TestVenueRestart:
    def test_orders_accepted_before_a_restart_can_be_asked_about_canceled_and_replaced(self, lab):
        port = free_port()
        server = lab.server(port=port, name="v")
        client = lab.client(port)
        for order in (limit("o1", BUY, 99.0), limit("o2", BUY, 98.0), limit("o3", SELL, 101.0, 50)):
            client.submit_order(order)
        collect(client, lambda e: len(of_kind(e, OrderAccepted)) == 3)
        server.feed(sell_print(40, 99.0))  # o1 partly filled
        server.feed(TradePrint(symbol=SYMBOL, ts_ns=1, price=101.0, quantity=50, aggressor=BUY))
        collect(client, lambda e: len(of_kind(e, OrderFilled)) == 2)
        old_ids = {cid: client.tracker.orders[cid].order_id for cid in ("o1", "o2", "o3")}

        server.stop()
        wait_until(lambda: not client.is_logged_on)
        restarted = lab.server(port=port, name="v")
        assert restarted.restored_orders == 3
        client.wait_logged_on(15)

        def listed() -> list[str]:
            lines = message_lines(client)
            return [line for line in lines if "|150=I|" in line and "|584=" in line]

        events = collect(client, lambda _: len(listed()) == 2 and "|912=Y|" in listed()[-1], 10)
        events += settle(client, 0.3)
        assert events == []  # the venue's answer matches what we know: o1, o2 still work
        assert any("|11=o1|" in line and "|14=40|" in line for line in listed())

        def state(cid: str):
            return restarted.call(lambda worker: worker.exchange.engine.order(cid, "EMP"))

        assert (state("o3").status, state("o3").filled_quantity) == (OrderStatus.FILLED, 50)
        assert state("o1").order_id == old_ids["o1"]

        client.cancel_order(
            CancelOrder(client_order_id="c1", orig_client_order_id="o1", symbol=SYMBOL, side=BUY)
        )
        client.replace_order(
            ReplaceOrder(
                client_order_id="o2b",
                orig_client_order_id="o2",
                symbol=SYMBOL,
                side=BUY,
                quantity=100,
                limit_price=97.5,
            )
        )
        events = collect(
            client, lambda e: bool(of_kind(e, OrderCanceled) and of_kind(e, OrderReplaced))
        )
        assert [e.client_order_id for e in of_kind(events, OrderCanceled)] == ["o1"]
        assert client.tracker.orders["o1"].cum_quantity == 40
        client.submit_order(limit("o4", BUY, 90.0))
        (accepted,) = of_kind(
            collect(client, lambda e: bool(of_kind(e, OrderAccepted))), OrderAccepted
        )
        assert accepted.venue_order_id not in old_ids.values()

    def test_a_fresh_store_folder_starts_with_no_orders(self, lab):
        server = lab.server(name="fresh")
        assert server.restored_orders == 0
        assert (server.config.store_dir / "emp-venue-orders.jsonl").exists()
