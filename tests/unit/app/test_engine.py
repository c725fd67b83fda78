"""The bar event engine, driven with a fake venue and a manual clock."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

from emp.adapters.clocks import ManualClock
from emp.app.engine import BarEventEngine
from emp.domain.bars import Bar, BarSeries
from emp.domain.errors import InvalidOrder, StrategyError, UnknownInstrument
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.orders import OrderSide, OrderStatus, OrderType
from emp.domain.risk import MaxPosition, RiskManager
from emp.domain.strategy import OrderIntent, Strategy, StrategyContext
from tests.fakes.venue import FakeNextOpenVenue

DAY = 86_400 * 10**9


def make_series(symbol: str, opens: Sequence[float], start_day: int = 0) -> BarSeries:
    opens_arr = np.asarray(opens, dtype=float)
    closes = opens_arr + 0.5
    return BarSeries.from_arrays(
        symbol,
        ts_ns=[(start_day + i) * DAY for i in range(len(opens))],
        open=opens_arr,
        high=np.maximum(opens_arr, closes) + 1,
        low=np.minimum(opens_arr, closes) * 0.9,
        close=closes,
        volume=np.full(len(opens), 1_000.0),
    )


class ScriptedStrategy(Strategy):
    """Returns intents chosen by a function of (bar index per symbol, bar, ctx)."""

    name = "scripted"

    def __init__(self, script: Callable[[int, Bar, StrategyContext], Sequence[OrderIntent]]):
        self._script = script
        self._seen: dict[str, int] = {}
        self.fills: list[tuple[str, float]] = []
        self.positions_seen: list[tuple[int, str, float]] = []

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Sequence[OrderIntent]:
        i = self._seen.get(bar.symbol, 0)
        self._seen[bar.symbol] = i + 1
        self.positions_seen.append((i, bar.symbol, ctx.position(bar.symbol)))
        return self._script(i, bar, ctx)

    def on_fill(self, fill, ctx) -> None:
        self.fills.append((fill.symbol, fill.price))


def buy_on_first_bar(qty: float = 10, symbol: str | None = None):
    def script(i: int, bar: Bar, ctx: StrategyContext) -> Sequence[OrderIntent]:
        if i == 0 and (symbol is None or bar.symbol == symbol):
            return [OrderIntent(symbol=bar.symbol, side=OrderSide.BUY, quantity=qty)]
        return []

    return script


def make_engine(
    strategy: Strategy,
    bars: dict[str, BarSeries],
    risk: RiskManager | None = None,
    venue: FakeNextOpenVenue | None = None,
    cash: float = 100_000.0,
):
    instruments = InstrumentRegistry(Instrument(symbol=s) for s in bars)
    venue = venue or FakeNextOpenVenue()
    engine = BarEventEngine(
        bars=bars,
        instruments=instruments,
        strategy=strategy,
        risk=risk or RiskManager(),
        venue=venue,
        clock=ManualClock(),
        initial_cash=cash,
    )
    return engine, venue


class TestFillTiming:
    def test_an_order_decided_on_a_close_fills_at_the_next_bars_open(self):
        strategy = ScriptedStrategy(buy_on_first_bar(10))
        engine, _ = make_engine(strategy, {"AAA": make_series("AAA", [100, 103, 105])})
        result = engine.run()
        assert [(f.price, f.ts_ns) for f in result.fills] == [(103.0, 1 * DAY)]
        # the strategy saw no position on bar 0, and the filled position on bar 1
        assert strategy.positions_seen[:2] == [(0, "AAA", 0.0), (1, "AAA", 10.0)]
        assert strategy.fills == [("AAA", 103.0)]

    def test_equity_is_cash_plus_marked_positions_at_every_bar(self):
        engine, _ = make_engine(
            ScriptedStrategy(buy_on_first_bar(10)), {"AAA": make_series("AAA", [100, 103, 105])}
        )
        result = engine.run()
        cash_after = 100_000.0 - 10 * 103.0
        assert result.equity.tolist() == pytest.approx(
            [100_000.0, cash_after + 10 * 103.5, cash_after + 10 * 105.5]
        )
        assert result.gross_exposure.tolist() == pytest.approx([0.0, 1035.0, 1055.0])

    def test_symbols_with_different_calendars_are_merged_in_time_order(self):
        bars = {
            "AAA": make_series("AAA", [10, 11, 12, 13]),
            "BBB": make_series("BBB", [20, 21], start_day=2),
        }
        strategy = ScriptedStrategy(lambda i, bar, ctx: [])
        engine, _ = make_engine(strategy, bars)
        result = engine.run()
        assert result.ts_ns.tolist() == [0, DAY, 2 * DAY, 3 * DAY]
        assert [(s, i) for i, s, _ in strategy.positions_seen] == [
            ("AAA", 0),
            ("AAA", 1),
            ("AAA", 2),
            ("BBB", 0),
            ("AAA", 3),
            ("BBB", 1),
        ]

    def test_progress_is_reported_for_every_timestamp(self):
        engine, _ = make_engine(
            ScriptedStrategy(lambda *_: []), {"AAA": make_series("AAA", [1, 2, 3])}
        )
        calls: list[tuple[int, int]] = []
        engine.run(progress=lambda done, total: calls.append((done, total)))
        assert calls == [(1, 3), (2, 3), (3, 3)]


class TestRiskInTheOrderPath:
    def test_a_refused_intent_becomes_a_rejected_order_and_never_reaches_the_venue(self):
        strategy = ScriptedStrategy(buy_on_first_bar(500))
        engine, venue = make_engine(
            strategy,
            {"AAA": make_series("AAA", [100, 101])},
            risk=RiskManager(rules=[MaxPosition(100)]),
        )
        result = engine.run()
        assert venue.submitted == []
        assert result.risk_rejections == 1
        (order,) = result.orders
        assert order.status is OrderStatus.REJECTED
        assert "max_position" in (order.reject_reason or "")

    def test_working_orders_count_toward_the_position_cap(self):
        def twice(i, bar, ctx):
            return (
                [OrderIntent(symbol="AAA", side=OrderSide.BUY, quantity=60)] * 2 if i == 0 else []
            )

        engine, venue = make_engine(
            ScriptedStrategy(twice),
            {"AAA": make_series("AAA", [100, 101])},
            risk=RiskManager(rules=[MaxPosition(100)]),
        )
        result = engine.run()
        assert len(venue.submitted) == 1
        assert result.risk_rejections == 1


class TestBadStrategies:
    def test_a_strategy_that_raises_becomes_a_strategy_error_naming_it_and_the_bar(self):
        def boom(i, bar, ctx):
            if i == 1:
                raise ZeroDivisionError("division by zero")
            return []

        engine, _ = make_engine(ScriptedStrategy(boom), {"AAA": make_series("AAA", [1, 2, 3])})
        with pytest.raises(
            StrategyError,
            match=r"'scripted' raised ZeroDivisionError in on_bar "
            r"on AAA bar at ts_ns=86400000000000",
        ):
            engine.run()

    @pytest.mark.parametrize(
        ("intent", "message"),
        [
            (OrderIntent(symbol="AAA", side=OrderSide.BUY, quantity=0), "quantity must be > 0"),
            (OrderIntent(symbol="AAA", side=OrderSide.BUY, quantity=-5), "quantity must be > 0"),
            (OrderIntent(symbol="AAA", side=OrderSide.BUY, quantity=1.5), "lot size"),
            (
                OrderIntent(
                    symbol="AAA",
                    side=OrderSide.BUY,
                    quantity=1,
                    order_type=OrderType.LIMIT,
                    limit_price=100.005,
                ),
                "tick size",
            ),
        ],
    )
    def test_a_malformed_intent_is_an_invalid_order_error(self, intent, message):
        engine, venue = make_engine(
            ScriptedStrategy(lambda i, bar, ctx: [intent] if i == 0 else []),
            {"AAA": make_series("AAA", [100, 101])},
        )
        with pytest.raises(InvalidOrder, match=message):
            engine.run()
        assert venue.submitted == []

    def test_an_intent_for_an_unknown_symbol_is_an_unknown_instrument_error(self):
        intent = OrderIntent(symbol="ZZZ", side=OrderSide.BUY, quantity=1)
        engine, _ = make_engine(
            ScriptedStrategy(lambda i, bar, ctx: [intent]), {"AAA": make_series("AAA", [1, 2])}
        )
        with pytest.raises(UnknownInstrument, match="'ZZZ'.*AAA"):
            engine.run()

    def test_a_strategy_returning_something_else_than_intents_is_refused(self):
        engine, _ = make_engine(
            ScriptedStrategy(lambda i, bar, ctx: ["buy please"]),
            {"AAA": make_series("AAA", [1, 2])},
        )
        with pytest.raises(InvalidOrder, match="returned str, expected OrderIntent"):
            engine.run()


class TestResult:
    def test_round_trips_and_open_positions_are_reported(self):
        def script(i, bar, ctx):
            if i == 0:
                return [OrderIntent(symbol=bar.symbol, side=OrderSide.BUY, quantity=10)]
            if i == 2 and bar.symbol == "AAA":
                return [OrderIntent(symbol=bar.symbol, side=OrderSide.SELL, quantity=10)]
            return []

        bars = {
            "AAA": make_series("AAA", [100, 101, 102, 110]),
            "BBB": make_series("BBB", [50, 51, 52, 53]),
        }
        result = make_engine(ScriptedStrategy(script), bars, venue=FakeNextOpenVenue(1.0))[0].run()
        (trade,) = result.trades
        assert trade.symbol == "AAA"
        assert trade.pnl == pytest.approx((110 - 101) * 10 - 2.0)
        assert any("BBB 10" in note for note in result.notes)
        assert result.portfolio.fees_paid == pytest.approx(3.0)


class TestOrderIds:
    def test_orders_are_named_after_the_strategy_unless_a_prefix_is_given(self):
        bars = {"AAA": make_series("AAA", [10.0, 11.0, 12.0])}
        engine, _ = make_engine(ScriptedStrategy(buy_on_first_bar(5)), bars)
        (order,) = engine.run().orders
        assert order.client_order_id == "scripted-1"
        instruments = InstrumentRegistry([Instrument(symbol="AAA")])
        prefixed = BarEventEngine(
            bars=bars,
            instruments=instruments,
            strategy=ScriptedStrategy(buy_on_first_bar(5)),
            risk=RiskManager(),
            venue=FakeNextOpenVenue(),
            clock=ManualClock(),
            initial_cash=100_000.0,
            order_id_prefix="scripted-k9x2",
        )
        (order,) = prefixed.run().orders
        assert order.client_order_id == "scripted-k9x2-1"
