"""Per-order and per-asset rules: instrument list, quantity, notional, position, collar,
open orders, and their capacities for resizing."""

from __future__ import annotations

import math

import pytest

from emp.domain.errors import InvalidConfiguration
from emp.domain.risk import (
    BreachAction,
    InstrumentAllowed,
    MaxOpenOrders,
    MaxOrderNotional,
    MaxOrderQuantity,
    MaxPosition,
    MaxPositionNotional,
    PriceCollar,
    ResizableRule,
    RiskRule,
)
from tests.unit.domain.risk.builders import BUY, SELL, check_input


class TestCheckInput:
    @pytest.mark.parametrize(
        ("side", "quantity", "position", "open_sell", "reducing", "flattening"),
        [
            (SELL, 10, 50, 0, True, False),
            (SELL, 50, 50, 0, True, True),
            (SELL, 40, 50, 10, True, True),  # with the working sell it closes exactly
            (SELL, 51, 50, 0, False, False),
            (BUY, 10, 50, 0, False, False),
            (BUY, 10, 0, 0, False, False),
        ],
    )
    def test_reducing_and_flattening_count_working_orders(
        self, side, quantity, position, open_sell, reducing, flattening
    ) -> None:
        data = check_input(side, quantity, position=position, open_sell=open_sell)
        assert data.is_reducing is reducing
        assert data.is_flattening is flattening

    def test_with_quantity_keeps_everything_else(self) -> None:
        data = check_input(BUY, 10, limit_price=101.0, strategy="s", ts_ns=5, lot_size=5)
        smaller = data.with_quantity(5)
        assert smaller.intent.quantity == 5
        assert smaller.intent.limit_price == 101.0
        assert (smaller.strategy, smaller.ts_ns, smaller.lot_size) == ("s", 5, 5)

    def test_price_is_the_limit_price_else_the_reference(self) -> None:
        assert check_input(BUY, 1, limit_price=99.0).price == 99.0
        assert check_input(BUY, 1, price=42.0).price == 42.0


class TestInstrumentAllowed:
    def test_listed_symbol_passes_and_unlisted_is_refused(self) -> None:
        rule = InstrumentAllowed(["AAPL"])
        assert rule.check(check_input(BUY, 1)) is None
        reason = rule.check(check_input(BUY, 1, symbol="MSFT"))
        assert reason == "instrument_allowed: MSFT is not an allowed instrument"

    def test_blocked_symbol_is_refused_even_without_an_allow_list(self) -> None:
        assert InstrumentAllowed(blocked=["AAPL"]).check(check_input(BUY, 1)) is not None

    def test_reducing_a_position_in_a_removed_symbol_passes(self) -> None:
        rule = InstrumentAllowed(["MSFT"], blocked=["AAPL"])
        assert rule.check(check_input(SELL, 5, position=10)) is None

    def test_empty_allow_list_is_a_configuration_error(self) -> None:
        with pytest.raises(InvalidConfiguration):
            InstrumentAllowed([])


class TestMaxOrderQuantity:
    def test_quantity_at_the_limit_passes_and_above_is_refused(self) -> None:
        rule = MaxOrderQuantity(100)
        assert rule.check(check_input(BUY, 100)) is None
        assert rule.check(check_input(SELL, 101)) == (
            "max_order_quantity: AAPL order quantity 101 exceeds limit 100"
        )

    def test_capacity_is_the_limit(self) -> None:
        assert MaxOrderQuantity(100).capacity(check_input(BUY, 500)) == 100

    def test_action_accepts_its_name_from_configuration(self) -> None:
        assert MaxOrderQuantity(1, action="resize").action is BreachAction.RESIZE
        with pytest.raises(InvalidConfiguration, match="breach action"):
            MaxOrderQuantity(1, action="shrink")


class TestMaxOrderNotionalCapacity:
    def test_capacity_uses_the_limit_price_when_present(self) -> None:
        rule = MaxOrderNotional(1_000.0)
        assert rule.capacity(check_input(BUY, 50, limit_price=40.0)) == 25.0
        assert rule.capacity(check_input(BUY, 50, price=200.0)) == 5.0


class TestMaxPositionExtensions:
    def test_per_symbol_limit_overrides_the_default(self) -> None:
        rule = MaxPosition(100, limits={"AAPL": 10})
        assert rule.check(check_input(BUY, 11)) is not None
        assert rule.check(check_input(BUY, 11, symbol="MSFT")) is None

    @pytest.mark.parametrize(
        ("side", "position", "open_buy", "open_sell", "expected"),
        [
            (BUY, 0, 0, 0, 100),
            (BUY, 30, 20, 0, 50),
            (SELL, 30, 0, 10, 120),
            (BUY, 150, 0, 0, 0),  # already beyond: nothing more
            (SELL, 150, 0, 0, 300),  # may go from +150 to -150 (|position| does not grow)
            (BUY, -40, 0, 0, 140),
        ],
    )
    def test_capacity_is_the_largest_quantity_that_passes(
        self, side, position, open_buy, open_sell, expected
    ) -> None:
        rule = MaxPosition(100)
        data = check_input(side, 1, position=position, open_buy=open_buy, open_sell=open_sell)
        capacity = rule.capacity(data)
        assert capacity == expected
        probe = check_input(
            side, capacity + 1, position=position, open_buy=open_buy, open_sell=open_sell
        )
        assert rule.check(probe) is not None
        if capacity > 0:
            fits = check_input(
                side, capacity, position=position, open_buy=open_buy, open_sell=open_sell
            )
            assert rule.check(fits) is None


class TestMaxPositionNotional:
    def test_position_notional_at_the_reference_price_is_capped(self) -> None:
        rule = MaxPositionNotional(10_000.0)
        assert rule.check(check_input(BUY, 100, price=100.0)) is None
        reason = rule.check(check_input(BUY, 101, price=100.0))
        assert reason == (
            "max_position_notional: AAPL position notional would reach 10,100.00, "
            "limit is 10,000.00"
        )

    def test_capacity_converts_the_notional_to_units(self) -> None:
        rule = MaxPositionNotional(10_000.0)
        assert rule.capacity(check_input(BUY, 500, position=20, price=50.0)) == 180


class TestPriceCollar:
    def test_market_orders_pass(self) -> None:
        assert PriceCollar(0.05).check(check_input(BUY, 1)) is None

    def test_limit_within_the_collar_passes_on_both_sides(self) -> None:
        rule = PriceCollar(0.05)
        assert rule.check(check_input(BUY, 1, limit_price=105.0)) is None
        assert rule.check(check_input(SELL, 1, limit_price=95.0)) is None

    def test_limit_outside_the_collar_is_refused(self) -> None:
        reason = PriceCollar(0.05).check(check_input(BUY, 1, limit_price=106.0))
        assert reason == (
            "price_collar: AAPL limit 106 is 6.00% from reference 100, collar is 5.00%"
        )

    @pytest.mark.parametrize("deviation", [0.0, 1.0, -0.1, math.nan])
    def test_collar_must_be_a_fraction(self, deviation: float) -> None:
        with pytest.raises(InvalidConfiguration):
            PriceCollar(deviation)


class TestMaxOpenOrders:
    def test_new_order_is_refused_once_the_count_is_reached(self) -> None:
        rule = MaxOpenOrders(3)
        assert rule.check(check_input(BUY, 1, open_orders=2)) is None
        assert rule.check(check_input(BUY, 1, open_orders=3)) == (
            "max_open_orders: 3 orders already working, limit is 3"
        )

    @pytest.mark.parametrize("limit", [0, -1, 2.5, True])
    def test_limit_must_be_a_positive_integer(self, limit) -> None:
        with pytest.raises(InvalidConfiguration):
            MaxOpenOrders(limit)


class TestProtocols:
    def test_every_order_rule_satisfies_the_rule_protocol(self) -> None:
        rules = [
            InstrumentAllowed(["AAPL"]),
            MaxOrderQuantity(1),
            MaxPositionNotional(1.0),
            PriceCollar(0.1),
            MaxOpenOrders(1),
        ]
        assert all(isinstance(rule, RiskRule) for rule in rules)

    def test_capped_rules_are_resizable_and_list_rules_are_not(self) -> None:
        assert isinstance(MaxOrderQuantity(1), ResizableRule)
        assert isinstance(MaxPosition(1), ResizableRule)
        assert not isinstance(PriceCollar(0.1), ResizableRule)
        assert not isinstance(MaxOpenOrders(1), ResizableRule)
