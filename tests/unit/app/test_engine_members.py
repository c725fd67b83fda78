"""Several strategies in one engine: one account, each strategy's own positions and fills."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from emp.app.engine_members import StrategyGroup
from emp.domain.bars import Bar
from emp.domain.errors import InvalidConfiguration, StrategyError
from emp.domain.orders import OrderSide
from emp.domain.risk import RiskManager
from emp.domain.risk.rule import RiskCheckInput
from emp.domain.strategy import OrderIntent, Strategy, StrategyContext
from tests.unit.app.test_engine import DAY, make_engine, make_series


class Script(Strategy):
    """Trades ``plan[i]`` (signed quantity) on its i-th bar; records what it saw."""

    def __init__(self, name: str, plan: dict[int, float]) -> None:
        self.name, self.plan, self.i = name, plan, 0
        self.fills: list[str] = []
        self.seen: list[tuple[float, float]] = []
        self.timers: list[tuple[str, int]] = []

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Sequence[OrderIntent]:
        self.seen.append((ctx.position(bar.symbol), round(ctx.equity, 6)))
        quantity = self.plan.get(self.i, 0.0)
        self.i += 1
        if not quantity:
            return ()
        side = OrderSide.BUY if quantity > 0 else OrderSide.SELL
        return [OrderIntent(symbol=bar.symbol, side=side, quantity=abs(quantity), tag="mine")]

    def on_fill(self, fill, ctx) -> None:
        self.fills.append(fill.client_order_id)

    def on_timer(self, timer, ctx):
        self.timers.append((timer.name, ctx.ts_ns))
        return ()


BARS = {"AAA": make_series("AAA", [100, 101, 102, 103])}


class TestOneAccountManyBooks:
    def test_each_strategy_sees_its_own_position_and_hears_its_own_fills(self):
        a, b = Script("a", {0: 10}), Script("b", {1: -4})
        engine, _ = make_engine([a, b], BARS)
        result = engine.run()
        assert result.portfolio.quantity("AAA") == 6
        assert [(o.client_order_id, o.strategy) for o in result.orders] == [
            ("a-1", "a"),
            ("b-2", "b"),
        ]
        assert a.fills == ["a-1"] and b.fills == ["b-2"]
        assert [p for p, _ in a.seen] == [0, 10, 10, 10]
        assert [p for p, _ in b.seen] == [0, 0, -4, -4]

    def test_equity_is_shared_by_weight(self):
        a, b = Script("a", {}), Script("b", {})
        group = StrategyGroup([a, b], weights=[3, 1])
        engine, _ = make_engine(group, BARS, cash=100_000.0)
        engine.run()
        assert a.seen[0][1] == 75_000.0 and b.seen[0][1] == 25_000.0

    def test_the_risk_manager_sees_the_member_as_the_order_s_strategy(self):
        @dataclass(frozen=True)
        class Seen:
            names: list
            name: str = "seen"

            def check(self, data: RiskCheckInput) -> str | None:
                self.names.append(data.strategy)
                return None

        names: list[str] = []
        a, b = Script("a", {0: 1}), Script("b", {0: 1})
        engine, _ = make_engine([a, b], BARS, risk=RiskManager(rules=[Seen(names)]))
        engine.run()
        assert names == ["a", "b"]

    def test_timers_go_to_the_member_that_set_them(self):
        class Timed(Script):
            def on_start(self, ctx):
                ctx.set_timer(DAY // 2, "half")

        a, b = Timed("a", {}), Script("b", {})
        engine, _ = make_engine([a, b], BARS)
        engine.run()
        assert a.timers == [("half", DAY // 2)] and b.timers == []

    def test_one_strategy_in_a_list_runs_as_itself(self):
        a = Script("a", {0: 5})
        engine, _ = make_engine([a], BARS)
        result = engine.run()
        assert [o.client_order_id for o in result.orders] == ["a-1"]


class TestRefusals:
    def test_two_strategies_with_one_name_are_refused(self):
        with pytest.raises(InvalidConfiguration, match="distinct names"):
            StrategyGroup([Script("a", {}), Script("a", {})])

    @pytest.mark.parametrize("weights", [[1], [1, 0], [1, float("nan")]])
    def test_weights_must_be_one_positive_number_per_strategy(self, weights):
        with pytest.raises(InvalidConfiguration, match="positive weight per strategy"):
            StrategyGroup([Script("a", {}), Script("b", {})], weights=weights)

    def test_a_member_raising_is_named_in_the_error(self):
        class Broken(Script):
            def on_bar(self, bar, ctx):
                raise ValueError("bad")

        engine, _ = make_engine([Script("a", {}), Broken("b", {})], BARS)
        with pytest.raises(StrategyError, match="strategy 'b' raised ValueError in on_bar: bad"):
            engine.run()
