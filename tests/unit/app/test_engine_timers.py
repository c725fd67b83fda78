"""Strategy timers in the event engine: due timers fire before the next bar or book update,
each at its own time, on the per-bar loop and the quiet-stretch fast path alike."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.adapters.clocks import ManualClock
from emp.adapters.fix_sim import SimulatedVenue, SimulatedVenueConfig
from emp.app.engine import BarEventEngine
from emp.domain.bars import Bar
from emp.domain.errors import StrategyError
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.orders import OrderSide
from emp.domain.risk import MaxPosition, RiskManager
from emp.domain.strategies.sma_cross import SmaCross
from emp.domain.strategy import OrderIntent, Strategy, StrategyContext
from emp.domain.timers import Timer
from tests.unit.app.test_engine import DAY, make_engine, make_series
from tests.unit.app.test_engine_book import T0, book, run_book
from tests.unit.app.test_engine_quiet import same, synthetic


class Recorder(Strategy):
    """Logs every call; sets timers from a plan keyed by bar index; buys on a timer."""

    name = "recorder"

    def __init__(self, plan: dict[int, list[tuple[int, str]]], buy_on: str = "") -> None:
        self.plan, self.buy_on, self.calls, self.i = plan, buy_on, [], 0

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Sequence[OrderIntent]:
        self.calls.append(("bar", bar.ts_ns, ctx.ts_ns))
        for ts, name in self.plan.get(self.i, []):
            ctx.set_timer(ts, name)
        self.i += 1
        return ()

    def on_timer(self, timer: Timer, ctx: StrategyContext) -> Sequence[OrderIntent]:
        self.calls.append(("timer", timer.name, ctx.ts_ns))
        if timer.name == self.buy_on:
            return [OrderIntent(symbol="AAA", side=OrderSide.BUY, quantity=10)]
        return ()


class TestTimersOnBars:
    def test_a_timer_fires_at_its_time_before_the_next_bar(self):
        strategy = Recorder({0: [(DAY // 2, "noon")]})
        engine, _ = make_engine(strategy, {"AAA": make_series("AAA", [100, 101, 102])})
        engine.run()
        assert strategy.calls == [
            ("bar", 0, 0),
            ("timer", "noon", DAY // 2),
            ("bar", DAY, DAY),
            ("bar", 2 * DAY, 2 * DAY),
        ]

    def test_a_timer_at_a_bar_s_time_fires_before_that_bar(self):
        strategy = Recorder({0: [(DAY, "at-bar"), (DAY, "second")]})
        engine, _ = make_engine(strategy, {"AAA": make_series("AAA", [100, 101, 102])})
        engine.run()
        assert strategy.calls[1:4] == [
            ("timer", "at-bar", DAY),
            ("timer", "second", DAY),
            ("bar", DAY, DAY),
        ]

    def test_an_order_from_a_timer_is_risk_checked_and_fills_at_the_next_open(self):
        strategy = Recorder({0: [(DAY // 2, "buy")]}, buy_on="buy")
        engine, _ = make_engine(strategy, {"AAA": make_series("AAA", [100, 101, 102])})
        result = engine.run()
        (order,) = result.orders
        assert order.created_ns == DAY // 2
        assert [(f.ts_ns, f.price) for f in result.fills] == [(DAY, 101.0)]

    def test_a_timer_due_after_the_last_bar_never_fires(self):
        strategy = Recorder({0: [(10 * DAY, "late")]})
        engine, _ = make_engine(strategy, {"AAA": make_series("AAA", [100, 101])})
        engine.run()
        assert all(kind == "bar" for kind, *_ in strategy.calls)

    def test_a_timer_in_the_past_is_a_strategy_error(self):
        strategy = Recorder({1: [(0, "yesterday")]})
        engine, _ = make_engine(strategy, {"AAA": make_series("AAA", [100, 101])})
        with pytest.raises(StrategyError, match="cannot be set in the past"):
            engine.run()

    def test_on_timer_raising_names_the_timer(self):
        class Broken(Recorder):
            def on_timer(self, timer, ctx):
                raise ValueError("boom")

        engine, _ = make_engine(Broken({0: [(5, "tick")]}), {"AAA": make_series("AAA", [1, 2])})
        with pytest.raises(StrategyError, match=r"on_timer for timer 'tick' at ts_ns=5: boom"):
            engine.run()


class TestTimersWithBookUpdates:
    def test_a_timer_fires_before_the_update_at_or_after_its_time(self):
        class OnBook(Recorder):
            def on_book(self, update, ctx):
                self.calls.append(("book", update.ts_ns, ctx.ts_ns))
                if not self.i:
                    ctx.set_timer(T0 + 5, "soon")
                    self.i = 1
                return ()

        strategy = OnBook({})
        asks = ((100.01, 50.0),)
        run_book(strategy, [book(T0, asks), book(T0 + 10, asks), book(T0 + 20, asks)])
        assert strategy.calls == [
            ("book", T0, T0),
            ("timer", "soon", T0 + 5),
            ("book", T0 + 10, T0 + 10),
            ("book", T0 + 20, T0 + 20),
        ]


class FlattenAtTime(SmaCross):
    """sma_cross that sets a timer at the start and flattens when it fires (its bars may
    be skipped by the fast path: on_bar and fast_forward stay sma_cross's)."""

    name = "flatten_at_time"

    def __init__(self, *, at_ns: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.at_ns, self.fired = at_ns, 0

    def on_start(self, ctx):
        ctx.set_timer(self.at_ns, "flatten")

    def on_timer(self, timer, ctx):
        self.fired += 1
        held = ctx.position("SYN")
        if not held:
            return ()
        side = OrderSide.SELL if held > 0 else OrderSide.BUY
        return [OrderIntent(symbol="SYN", side=side, quantity=abs(held))]


def run_timed(series, *, fast_forward: bool, at_ns: int):
    instruments = InstrumentRegistry([Instrument(symbol=series.symbol)])
    clock = ManualClock()
    strategy = FlattenAtTime(at_ns=at_ns, fast=3, slow=9, mode="reverse", units=10.0)
    engine = BarEventEngine(
        bars={series.symbol: series},
        instruments=instruments,
        strategy=strategy,
        risk=RiskManager(rules=[MaxPosition(1e9)]),
        venue=SimulatedVenue(instruments, clock, SimulatedVenueConfig()),
        clock=clock,
        initial_cash=100_000.0,
        fast_forward=fast_forward,
    )
    return engine.run(), strategy


class TestFastPathParity:
    @settings(max_examples=25, deadline=None)
    @given(seed=st.integers(0, 500), n=st.integers(60, 400), at=st.floats(0.1, 0.9))
    def test_the_fast_path_stops_for_a_timer_and_gives_the_per_bar_result(self, seed, n, at):
        series = synthetic(seed, n)
        # just after a bar, so the timer's own time is on no bar
        at_ns = int(series.ts_ns[int(at * (n - 1))]) + 1
        slow, slow_strategy = run_timed(series, fast_forward=False, at_ns=at_ns)
        fast, fast_strategy = run_timed(series, fast_forward=True, at_ns=at_ns)
        same(slow, fast)
        assert slow_strategy.fired == fast_strategy.fired == 1
        held = sum(f.signed_quantity for f in fast.fills if f.ts_ns < at_ns)
        flattening = [o for o in fast.orders if o.created_ns == at_ns]
        assert len(flattening) == (1 if held else 0)


class TestTimersOnTheBookVenue:
    def test_an_order_from_a_timer_leaves_at_the_timer_s_time(self):
        class BuyOnTimer(Recorder):
            def on_book(self, update, ctx):
                if not self.i:
                    ctx.set_timer(T0 + 5, "buy")
                    self.i = 1
                return ()

            def on_timer(self, timer, ctx):
                return [OrderIntent(symbol="ABC", side=OrderSide.BUY, quantity=10)]

        asks = ((100.01, 50.0),)
        result = run_book(BuyOnTimer({}), [book(T0, asks), book(T0 + 10, asks)])
        (fill,) = result.fills
        assert (fill.ts_ns, fill.price) == (T0 + 5, 100.01)  # no latency: at the timer
