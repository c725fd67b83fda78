"""Order-rate throttles (token buckets on event time) and the no-doubling-down rule."""

from __future__ import annotations

import pytest

from emp.domain.errors import InvalidConfiguration
from emp.domain.risk import (
    NoDoublingDown,
    OrderRateThrottle,
    RiskContext,
    RiskEngine,
    RiskManager,
    TokenBucket,
)
from emp.domain.risk.exposure import ExposureBook
from tests.unit.domain.risk.builders import BUY, SELL, check_input

SECOND = 10**9


class TestTokenBucket:
    def test_a_full_bucket_grants_its_burst_then_refuses(self) -> None:
        bucket = TokenBucket(rate_per_second=1.0, burst=3)
        assert [bucket.try_take(0) for _ in range(4)] == [True, True, True, False]

    def test_tokens_come_back_at_the_rate(self) -> None:
        bucket = TokenBucket(rate_per_second=2.0, burst=1)
        assert bucket.try_take(0)
        assert not bucket.try_take(SECOND // 2 - 1)
        assert bucket.try_take(SECOND // 2)

    def test_time_going_backwards_refills_nothing(self) -> None:
        bucket = TokenBucket(rate_per_second=1.0, burst=1)
        assert bucket.try_take(10 * SECOND)
        assert not bucket.try_take(5 * SECOND)
        assert not bucket.try_take(10 * SECOND + SECOND - 1)
        assert bucket.try_take(11 * SECOND)

    def test_available_does_not_consume(self) -> None:
        bucket = TokenBucket(rate_per_second=1.0, burst=2)
        assert bucket.available(0) == 2
        assert bucket.available(0) == 2

    def test_interval_is_rounded_up_so_the_rate_is_never_exceeded(self) -> None:
        assert TokenBucket(rate_per_second=3.0, burst=1).interval_ns == 333_333_334

    @pytest.mark.parametrize(
        "kwargs", [{"rate_per_second": 0, "burst": 1}, {"rate_per_second": 1, "burst": 0}]
    )
    def test_bad_configuration_is_refused(self, kwargs) -> None:
        with pytest.raises(InvalidConfiguration):
            TokenBucket(**kwargs)


class TestOrderRateThrottle:
    def test_each_strategy_has_its_own_bucket(self) -> None:
        engine = RiskEngine([OrderRateThrottle(1.0, 1, "strategy")])
        assert engine.check(check_input(BUY, 1, strategy="a")).approved
        assert engine.check(check_input(BUY, 1, strategy="b")).approved
        refused = engine.check(check_input(BUY, 1, strategy="a"))
        assert refused.reason == "strategy_order_rate: strategy 'a' exceeded 1 orders/s (burst 1)"

    def test_global_scope_shares_one_bucket(self) -> None:
        engine = RiskEngine([OrderRateThrottle(1.0, 1, "global")])
        assert engine.check(check_input(BUY, 1, strategy="a")).approved
        refused = engine.check(check_input(BUY, 1, strategy="b"))
        assert refused.reason == "global_order_rate: the account exceeded 1 orders/s (burst 1)"

    def test_refused_orders_do_not_use_up_tokens(self) -> None:
        from emp.domain.risk import MaxOrderQuantity

        engine = RiskEngine([MaxOrderQuantity(5), OrderRateThrottle(1.0, 1, "global")])
        assert not engine.check(check_input(BUY, 10)).approved
        assert engine.check(check_input(BUY, 1)).approved

    def test_unknown_scope_is_refused(self) -> None:
        with pytest.raises(InvalidConfiguration, match="scope"):
            OrderRateThrottle(1.0, 1, "venue")


def in_drawdown(drawdown: float) -> RiskContext:
    ctx = RiskContext(ExposureBook())
    ctx.drawdown = drawdown
    return ctx


class TestNoDoublingDown:
    def losing_buy(self, ctx: RiskContext, symbol: str = "AAPL"):
        return check_input(
            BUY, 10, symbol=symbol, position=100, average_price=110.0, price=100.0, context=ctx
        )

    def test_adds_to_a_loser_are_limited_while_in_drawdown(self) -> None:
        rule = NoDoublingDown(2)
        engine = RiskEngine([rule])
        ctx = in_drawdown(0.05)
        assert engine.check(self.losing_buy(ctx)).approved
        assert engine.check(self.losing_buy(ctx)).approved
        refused = engine.check(self.losing_buy(ctx))
        assert not refused.approved
        assert "already added 2 time(s), limit is 2" in refused.reason
        assert engine.check(self.losing_buy(ctx, "MSFT")).approved  # counted per symbol

    def test_without_drawdown_adds_pass(self) -> None:
        engine = RiskEngine([NoDoublingDown(0, min_drawdown=0.02)])
        assert engine.check(self.losing_buy(in_drawdown(0.01))).approved

    def test_adding_to_a_winner_passes_and_restarts_the_count(self) -> None:
        rule = NoDoublingDown(1)
        engine = RiskEngine([rule])
        ctx = in_drawdown(0.05)
        engine.check(self.losing_buy(ctx))
        assert rule.adds("AAPL") == 1
        winner = check_input(BUY, 10, position=100, average_price=90.0, context=ctx)
        assert engine.check(winner).approved
        assert rule.adds("AAPL") == 0

    def test_reducing_a_loser_passes(self) -> None:
        engine = RiskEngine([NoDoublingDown(0)])
        data = check_input(SELL, 10, position=100, average_price=110.0, context=in_drawdown(0.1))
        assert engine.check(data).approved

    def test_short_losers_count_too(self) -> None:
        engine = RiskEngine([NoDoublingDown(0)])
        data = check_input(
            SELL, 10, position=-100, average_price=90.0, price=100.0, context=in_drawdown(0.1)
        )
        assert not engine.check(data).approved

    def test_manager_feeds_the_drawdown_from_the_brake(self) -> None:
        from emp.domain.risk import DrawdownLimits
        from tests.unit.domain.risk.builders import account

        manager = RiskManager(
            rules=[NoDoublingDown(0)], drawdown=DrawdownLimits(reduce_at=0.5, hysteresis=0.0)
        )
        manager.on_bar(account(equity=100.0, ts_ns=0))
        manager.on_bar(account(equity=99.0, ts_ns=1))
        buy = check_input(BUY, 1, position=10, average_price=110.0, price=100.0)
        assert not manager.check(buy).approved
