"""SmaCross.fast_forward skips exactly the bars on which on_bar stays silent."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.domain.bars import BarSeries
from emp.domain.fills import Fill
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.orders import OrderSide
from emp.domain.portfolio import Portfolio
from emp.domain.strategies.sma_cross import SmaCross
from emp.domain.strategy import StrategyContext

MINUTE = 60 * 10**9


def series_of(closes: np.ndarray) -> BarSeries:
    n = closes.shape[0]
    return BarSeries.from_arrays(
        "SYN",
        np.arange(1, n + 1, dtype=np.int64) * MINUTE,
        closes,
        closes,
        closes,
        closes,
        np.full(n, 1_000.0),
    )


def context_holding(quantity: float) -> StrategyContext:
    portfolio = Portfolio(1_000_000.0)
    if quantity:
        side = OrderSide.BUY if quantity > 0 else OrderSide.SELL
        portfolio.apply_fill(
            Fill(
                exec_id="E1",
                client_order_id="C1",
                symbol="SYN",
                side=side,
                quantity=abs(quantity),
                price=100.0,
                fee=0.0,
                ts_ns=0,
            )
        )
    return StrategyContext(portfolio, InstrumentRegistry([Instrument(symbol="SYN")]))


def state(strategy: SmaCross) -> tuple:
    sums = strategy._sums.get("SYN")
    if sums is None:
        return ()
    live = [sums.ring[a % sums.size] for a in range(max(0, sums.count - sums.size), sums.count)]
    return sums.count, sums.total, live


def closes_of(seed: int, n: int, grid: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    walk = 100.0 + np.cumsum(rng.normal(0.0, 0.3, n))
    return np.round(np.maximum(walk, 1.0) / grid) * grid


class TestFastForwardEqualsOnBar:
    @settings(max_examples=150, deadline=None)
    @given(
        seed=st.integers(0, 10_000),
        n=st.integers(1, 700),
        fast=st.integers(1, 12),
        gap=st.integers(1, 40),
        mode=st.sampled_from(["long_only", "reverse"]),
        held=st.sampled_from([-100.0, 0.0, 100.0]),
        grid=st.sampled_from([0.01, 1e-8]),
        pieces=st.integers(1, 4),
    )
    def test_skipped_bars_are_silent_and_the_stop_bar_would_act(
        self, seed, n, fast, gap, mode, held, grid, pieces
    ):
        slow = fast + gap
        series = series_of(closes_of(seed, n, grid))
        ctx = context_holding(held)
        fast_path = SmaCross(fast=fast, slow=slow, mode=mode, units=100.0)
        reference = SmaCross(fast=fast, slow=slow, mode=mode, units=100.0)
        i = 0
        # the engine calls it from where the last call stopped, up to a window end
        ends = sorted({n, *np.linspace(0, n, pieces + 1).astype(int)[1:].tolist()})
        for end in ends:
            while i < end:
                k = fast_path.fast_forward(series, i, end, ctx)
                assert i <= k <= end
                for j in range(i, k):
                    assert reference.on_bar(series.bar(j), ctx) == ()
                assert state(fast_path) == state(reference)
                if k == end:
                    i = end
                    break
                # the stop bar: on_bar acts there (through both, which stay in step)
                acted = reference.on_bar(series.bar(k), ctx)
                assert fast_path.on_bar(series.bar(k), ctx) == acted
                assert acted != ()
                i = k + 1

    def test_a_long_quiet_run_is_consumed_in_growing_numpy_blocks(self):
        closes = np.linspace(100.0, 200.0, 50_000)  # rising: long all along after warm-up
        series = series_of(closes)
        ctx = context_holding(100.0)
        fast_path, reference = SmaCross(fast=5, slow=20), SmaCross(fast=5, slow=20)
        assert fast_path.fast_forward(series, 0, len(series), ctx) == len(series)
        for j in range(len(series)):
            reference.on_bar(series.bar(j), ctx)
        assert state(fast_path) == state(reference)

    def test_the_default_strategy_hook_consumes_nothing(self):
        from emp.domain.strategy import Strategy

        class Plain(Strategy):
            def on_bar(self, bar, ctx):
                return ()

        series = series_of(np.ones(5))
        assert Plain().fast_forward(series, 2, 5, context_holding(0.0)) == 2


@pytest.mark.parametrize("held", [0.0, 100.0])
def test_a_flat_long_only_book_stops_at_the_first_long_signal(held):
    closes = np.concatenate((np.full(40, 100.0), np.linspace(100.0, 120.0, 40)))
    series = series_of(closes)
    strategy = SmaCross(fast=3, slow=10, mode="long_only", units=1.0)
    k = strategy.fast_forward(series, 0, len(series), context_holding(held))
    if held:  # long already: flat closes are "not above" → it wants flat at the first decision
        assert k == 9
    else:
        assert 40 <= k < 45  # the first bar whose fast SMA rises above the slow one


class TestThePlanIsRedoneWhenTheSumsMovedElsewhere:
    def test_bars_of_another_series_between_calls_are_taken_into_account(self):
        first = series_of(closes_of(1, 400, 0.01))
        other = series_of(closes_of(2, 50, 0.01))
        ctx = context_holding(0.0)
        fast_path, reference = SmaCross(fast=3, slow=12), SmaCross(fast=3, slow=12)
        k = fast_path.fast_forward(first, 0, 200, ctx)
        for j in range(k):
            reference.on_bar(first.bar(j), ctx)
        for j in range(len(other)):  # the sums move on, off the plan of `first`
            assert fast_path.on_bar(other.bar(j), ctx) == reference.on_bar(other.bar(j), ctx)
        k2 = fast_path.fast_forward(first, k, len(first), ctx)
        for j in range(k, k2):
            assert reference.on_bar(first.bar(j), ctx) == ()
        assert state(fast_path) == state(reference)
        if k2 < len(first):
            assert reference.on_bar(first.bar(k2), ctx) != ()

    def test_a_series_longer_than_one_plan_is_planned_in_parts(self, monkeypatch):
        import emp.domain.strategies.sma_cross as module

        monkeypatch.setattr(module, "PLAN_BARS", 64)
        closes = np.linspace(100.0, 200.0, 1_000)  # long all along after the warm-up
        series = series_of(closes)
        ctx = context_holding(100.0)
        fast_path, reference = SmaCross(fast=5, slow=20), SmaCross(fast=5, slow=20)
        i = 0
        while i < len(series):  # each call stops at most at the end of its plan
            k = fast_path.fast_forward(series, i, len(series), ctx)
            assert k - i <= 64
            if k == i:  # the warm-up's end: on_bar decides (long already: silent)
                assert fast_path.on_bar(series.bar(i), ctx) == ()
                k = i + 1
            i = k
        for j in range(len(series)):
            reference.on_bar(series.bar(j), ctx)
        assert state(fast_path) == state(reference)
