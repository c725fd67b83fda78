"""The served venue's order log: last state per order, compaction, crash tolerance."""

from __future__ import annotations

import dataclasses

import pytest

from emp.adapters.fix_quickfix.venue_orders import VenueOrderLog
from emp.domain.matching import OrderState
from emp.domain.orders import OrderSide, OrderStatus, OrderType, TimeInForce
from emp.ports.venue import VenueError

STATE = OrderState(
    owner="EMP",
    client_order_id="o1",
    order_id="V-O1",
    symbol="ABC",
    side=OrderSide.BUY,
    order_type=OrderType.LIMIT,
    time_in_force=TimeInForce.GTC,
    limit_price=99.5,
    quantity=100.0,
    filled_quantity=0.0,
    average_price=0.0,
    status=OrderStatus.NEW,
)


def written(path, *states: OrderState) -> None:
    log = VenueOrderLog(path)
    log.load()
    for state in states:
        log.record(state)
    log.close()


class TestVenueOrderLog:
    def test_each_order_comes_back_in_its_last_state_oldest_first(self, tmp_path):
        path = tmp_path / "orders.jsonl"
        later = dataclasses.replace(STATE, filled_quantity=40.0, average_price=99.5)
        other = dataclasses.replace(STATE, client_order_id="o2", order_id="V-O2")
        written(path, STATE, other, later)
        assert VenueOrderLog(path).load() == [
            dataclasses.replace(later, status=OrderStatus.NEW),
            other,
        ]

    def test_loading_compacts_the_file_to_one_line_per_order(self, tmp_path):
        path = tmp_path / "orders.jsonl"
        written(path, STATE, STATE, STATE)
        log = VenueOrderLog(path)
        log.load()
        log.close()
        assert len(path.read_text().splitlines()) == 1

    def test_a_last_line_cut_short_by_a_crash_is_skipped(self, tmp_path):
        path = tmp_path / "orders.jsonl"
        written(path, STATE)
        with open(path, "a") as handle:
            handle.write("('EMP', 'o2', 'V-O2', 'AB")
        assert [s.client_order_id for s in VenueOrderLog(path).load()] == ["o1"]

    def test_a_garbled_line_in_the_middle_is_an_error_naming_it(self, tmp_path):
        path = tmp_path / "orders.jsonl"
        path.write_text("not json\n" + "[]\n")
        with pytest.raises(VenueError, match="line 1"):
            VenueOrderLog(path).load()

    def test_nothing_is_written_before_a_flush(self, tmp_path):
        path = tmp_path / "orders.jsonl"
        log = VenueOrderLog(path)
        log.load()
        log.record(STATE)
        assert path.read_text() == ""
        log.flush()
        assert path.read_text().count("\n") == 1
        log.close()
