"""Pre-trade risk rules and the engine that composes them."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.domain.errors import InvalidConfiguration
from emp.domain.orders import OrderSide, OrderType
from emp.domain.risk import (
    MaxOrderNotional,
    MaxPosition,
    RiskCheckInput,
    RiskDecision,
    RiskEngine,
    RiskRule,
)
from emp.domain.strategy import OrderIntent

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def check_input(
    side: OrderSide,
    quantity: float,
    *,
    position: float = 0.0,
    open_buy: float = 0.0,
    open_sell: float = 0.0,
    limit_price: float | None = None,
    reference_price: float = 100.0,
) -> RiskCheckInput:
    intent = OrderIntent(
        symbol="AAPL",
        side=side,
        quantity=quantity,
        order_type=OrderType.MARKET if limit_price is None else OrderType.LIMIT,
        limit_price=limit_price,
    )
    return RiskCheckInput(
        intent=intent,
        position=position,
        open_buy_quantity=open_buy,
        open_sell_quantity=open_sell,
        reference_price=reference_price,
        equity=1_000_000.0,
    )


class TestWorstCasePosition:
    def test_buy_adds_working_buys(self) -> None:
        assert check_input(BUY, 10, position=5, open_buy=20, open_sell=7).worst_case_position == 35

    def test_sell_subtracts_working_sells(self) -> None:
        data = check_input(SELL, 10, position=5, open_buy=20, open_sell=7)
        assert data.worst_case_position == -12


class TestMaxPosition:
    def test_order_within_the_limit_passes(self) -> None:
        assert MaxPosition(100).check(check_input(BUY, 100)) is None

    def test_working_orders_count_in_the_worst_case(self) -> None:
        reason = MaxPosition(100).check(check_input(BUY, 30, open_buy=80))
        assert reason == "max_position: AAPL position would reach 110, limit is 100"

    def test_working_orders_on_the_other_side_do_not_offset(self) -> None:
        assert MaxPosition(100).check(check_input(BUY, 30, position=80, open_sell=50)) is not None

    def test_short_side_is_limited_too(self) -> None:
        reason = MaxPosition(100).check(check_input(SELL, 60, position=-20, open_sell=30))
        assert reason is not None
        assert "-110" in reason

    def test_reducing_order_passes_even_above_the_limit(self) -> None:
        assert MaxPosition(100).check(check_input(SELL, 10, position=250)) is None
        assert MaxPosition(100).check(check_input(BUY, 10, position=-250)) is None

    def test_flip_beyond_the_limit_is_refused(self) -> None:
        assert MaxPosition(100).check(check_input(SELL, 200, position=50)) is not None

    @pytest.mark.parametrize("limit", [0.0, -1.0, math.nan, math.inf])
    def test_invalid_limit_is_a_configuration_error(self, limit: float) -> None:
        with pytest.raises(InvalidConfiguration, match="max_position must be > 0"):
            MaxPosition(limit)

    @settings(max_examples=500, deadline=None)
    @given(
        limit=st.integers(min_value=1, max_value=1_000),
        side=st.sampled_from([BUY, SELL]),
        quantity=st.integers(min_value=1, max_value=2_000),
        position=st.integers(min_value=-2_000, max_value=2_000),
        open_buy=st.integers(min_value=0, max_value=1_000),
        open_sell=st.integers(min_value=0, max_value=1_000),
    )
    def test_approved_intent_never_pushes_worst_case_beyond_limit_or_current_size(
        self,
        limit: int,
        side: OrderSide,
        quantity: int,
        position: int,
        open_buy: int,
        open_sell: int,
    ) -> None:
        data = check_input(
            side, quantity, position=position, open_buy=open_buy, open_sell=open_sell
        )
        reason = MaxPosition(limit).check(data)
        if reason is None:
            assert abs(data.worst_case_position) <= max(limit, abs(position))
        else:
            assert abs(data.worst_case_position) > max(limit, abs(position))


class TestMaxOrderNotional:
    def test_reference_price_is_used_for_market_orders(self) -> None:
        rule = MaxOrderNotional(600.0)
        reason = rule.check(check_input(BUY, 10, reference_price=100.0))
        assert reason == "max_order_notional: AAPL order notional 1,000.00 exceeds limit 600.00"

    def test_limit_price_is_used_when_present(self) -> None:
        rule = MaxOrderNotional(600.0)
        assert rule.check(check_input(BUY, 10, limit_price=50.0, reference_price=100.0)) is None
        assert rule.check(check_input(BUY, 10, limit_price=70.0, reference_price=10.0)) is not None

    def test_notional_equal_to_the_limit_passes(self) -> None:
        assert MaxOrderNotional(1_000.0).check(check_input(SELL, 10)) is None

    @pytest.mark.parametrize("limit", [0.0, -5.0, math.nan, math.inf])
    def test_invalid_limit_is_a_configuration_error(self, limit: float) -> None:
        with pytest.raises(InvalidConfiguration, match="max_notional must be > 0"):
            MaxOrderNotional(limit)


class TestRiskEngine:
    def test_empty_engine_approves(self) -> None:
        assert RiskEngine().check(check_input(BUY, 1e9)) == RiskDecision(approved=True)

    def test_engine_collects_every_reason_in_rule_order(self) -> None:
        engine = RiskEngine([MaxPosition(10), MaxOrderNotional(500.0)])
        decision = engine.check(check_input(BUY, 20, reference_price=100.0))
        assert not decision.approved
        assert len(decision.reasons) == 2
        assert decision.reasons[0].startswith("max_position:")
        assert decision.reasons[1].startswith("max_order_notional:")
        assert decision.reason == "; ".join(decision.reasons)

    def test_one_failing_rule_refuses(self) -> None:
        engine = RiskEngine([MaxPosition(1_000), MaxOrderNotional(500.0)])
        decision = engine.check(check_input(BUY, 20, reference_price=100.0))
        assert not decision.approved
        assert decision.reasons == (decision.reason,)
        assert decision.reason.startswith("max_order_notional:")

    def test_all_passing_rules_approve(self) -> None:
        engine = RiskEngine([MaxPosition(1_000), MaxOrderNotional(1e6)])
        decision = engine.check(check_input(BUY, 20))
        assert decision.approved
        assert decision.reasons == ()
        assert decision.reason == ""

    def test_rules_are_exposed_and_satisfy_the_protocol(self) -> None:
        rules = (MaxPosition(1), MaxOrderNotional(1.0))
        assert RiskEngine(rules).rules == rules
        assert all(isinstance(rule, RiskRule) for rule in rules)
