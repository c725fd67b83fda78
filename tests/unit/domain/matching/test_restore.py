"""A venue engine takes back the orders a previous run held (a venue restart)."""

from __future__ import annotations

from emp.domain.events import OrderCanceled, OrderFilled
from emp.domain.matching import MassStatusQuery, SimulatedExchange
from emp.domain.orders import OrderStatus
from tests.unit.domain.matching.builders import BUY, SELL, cancel, engine, limit, market, replace


def states_after_trading():
    first = engine()
    first.submit(limit("a", BUY, 10, 99.0), now_ns=1, owner="X")
    first.submit(limit("b", BUY, 10, 99.0), now_ns=2, owner="X")
    first.submit(limit("c", BUY, 10, 98.0), now_ns=3, owner="X")
    first.submit(market("m", SELL, 4), now_ns=4, owner="Y")  # a: 4 of 10 filled
    first.replace(replace("c2", "c", BUY, 8, 98.0), now_ns=5, owner="X")
    return first, [first.order(cid, "X") for cid in ("a", "b", "c", "c2")]


class TestRestore:
    def test_restored_orders_keep_their_state_and_time_priority(self):
        _, states = states_after_trading()
        second = engine()
        assert second.restore(states) == 3  # c is a replaced ClOrdID, not an order
        a = second.order("a", "X")
        assert (a.status, a.filled_quantity, a.average_price) == (
            OrderStatus.PARTIALLY_FILLED,
            4,
            99.0,
        )
        assert second.order("c", "X").status is OrderStatus.REPLACED
        reports = second.submit(market("m2", SELL, 8), now_ns=10, owner="Y")
        makers = [
            (r.event.fill.client_order_id, r.event.fill.quantity)
            for r in reports
            if isinstance(r.event, OrderFilled) and r.state.owner == "X"
        ]
        assert makers == [("a", 6), ("b", 2)]  # a was first in the queue, and still is

    def test_restored_orders_can_be_canceled_and_listed(self):
        _, states = states_after_trading()
        second = engine()
        second.restore(states)
        (report,) = second.cancel(cancel("x", "c2", BUY), now_ns=10, owner="X")
        assert isinstance(report.event, OrderCanceled)
        exchange = SimulatedExchange(second)
        exchange.send(MassStatusQuery("M1"), owner="X", sent_ns=11)
        (delivery,) = exchange.advance_to(11)
        assert [s.client_order_id for s in delivery.report.states] == ["a", "b"]

    def test_new_orders_after_a_restore_get_fresh_order_ids(self):
        _, states = states_after_trading()
        second = engine()
        second.restore(states)
        second.submit(limit("d", BUY, 1, 90.0), now_ns=10, owner="X")
        assert second.order("d", "X").order_id not in {s.order_id for s in states}
