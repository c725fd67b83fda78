"""Quiet stretches: the engine's fast path gives the per-bar loop's result exactly."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.adapters.clocks import ManualClock
from emp.adapters.fix_sim import SimulatedVenue, SimulatedVenueConfig
from emp.app.engine import BarEventEngine, RunResult
from emp.domain.bars import BarSeries
from emp.domain.errors import StrategyError
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.risk import DrawdownLimits, MaxPosition, RiskManager, TradingState
from emp.domain.strategies.sma_cross import SmaCross

MINUTE = 60 * 10**9


def synthetic(seed: int, n: int, symbol: str = "SYN") -> BarSeries:
    rng = np.random.default_rng(seed)
    close = np.round(100.0 + np.cumsum(rng.normal(0.0, 0.4, n)), 2)
    close = np.maximum(close, 1.0)
    open_ = np.maximum(np.round(close + rng.normal(0.0, 0.1, n), 2), 0.5)
    high = np.maximum(open_, close) + 0.05
    low = np.minimum(open_, close) - 0.05
    return BarSeries.from_arrays(
        symbol,
        np.arange(1, n + 1, dtype=np.int64) * MINUTE,
        open_,
        high,
        low,
        close,
        np.full(n, 10_000.0),
    )


def part(series: BarSeries, start: int, stop: int) -> BarSeries:
    return BarSeries.from_arrays(
        series.symbol,
        *(
            column[start:stop]
            for column in (
                series.ts_ns,
                series.open,
                series.high,
                series.low,
                series.close,
                series.volume,
            )
        ),
    )


class CountingSma(SmaCross):
    """SmaCross counting its on_bar calls (to see the fast path engage)."""

    calls = 0

    def on_bar(self, bar, ctx):
        CountingSma.calls += 1
        return super().on_bar(bar, ctx)


def run(
    series: BarSeries,
    *,
    fast_forward: bool,
    strategy_args: dict,
    fill: str = "next_open",
    commission_bps: float = 0.0,
    risk: RiskManager | None = None,
    chunks: int = 1,
    kill_signal=None,
) -> tuple[RunResult, int]:
    instruments = InstrumentRegistry([Instrument(symbol=series.symbol)])
    clock = ManualClock()
    CountingSma.calls = 0
    engine = BarEventEngine(
        bars={series.symbol: series},
        instruments=instruments,
        strategy=CountingSma(**strategy_args),
        risk=risk if risk is not None else RiskManager(rules=[MaxPosition(1e9)]),
        venue=SimulatedVenue(
            instruments,
            clock,
            SimulatedVenueConfig(fill_model=fill, commission_bps=commission_bps),
        ),
        clock=clock,
        initial_cash=100_000.0,
        fast_forward=fast_forward,
        kill_signal=kill_signal,
    )
    n = len(series)
    edges = np.linspace(0, n, chunks + 1).astype(int)
    windows = [
        {series.symbol: part(series, int(a), int(b))} for a, b in itertools.pairwise(edges) if b > a
    ]
    return engine.run_chunks(windows), CountingSma.calls


def same(a: RunResult, b: RunResult) -> None:
    assert [dataclasses.astuple(f) for f in a.fills] == [dataclasses.astuple(f) for f in b.fills]
    assert np.array_equal(a.equity, b.equity)
    assert np.array_equal(a.gross_exposure, b.gross_exposure)
    assert np.array_equal(a.ts_ns, b.ts_ns)
    assert a.trades == b.trades
    assert [(o.client_order_id, o.status, o.filled_quantity) for o in a.orders] == [
        (o.client_order_id, o.status, o.filled_quantity) for o in b.orders
    ]
    assert a.notes == b.notes
    assert (a.risk_rejections, a.risk_resizes) == (b.risk_rejections, b.risk_resizes)
    state_a, state_b = dict(a.risk_state), dict(b.risk_state)
    exposure_a, exposure_b = state_a.pop("exposure"), state_b.pop("exposure")
    assert state_a == state_b
    # the book's aggregates are sums of deltas: fewer syncs, other last bits at most
    assert exposure_a == pytest.approx(exposure_b, rel=1e-9, abs=1e-6)


class TestSameResultAsThePerBarLoop:
    @settings(max_examples=40, deadline=None)
    @given(
        seed=st.integers(0, 1_000),
        n=st.integers(40, 600),
        fast=st.integers(2, 8),
        gap=st.integers(1, 20),
        mode=st.sampled_from(["long_only", "reverse"]),
        units=st.sampled_from([0.0, 7.0]),
        fill=st.sampled_from(["next_open", "close"]),
        commission=st.sampled_from([0.0, 2.5]),
        chunks=st.integers(1, 3),
        cap=st.sampled_from([1e9, 5.0]),
    )
    def test_fills_trades_and_the_equity_curve_are_identical(
        self, seed, n, fast, gap, mode, units, fill, commission, chunks, cap
    ):
        series = synthetic(seed, n)
        args = {"fast": fast, "slow": fast + gap, "mode": mode, "units": units}
        results = [
            run(
                series,
                fast_forward=ff,
                strategy_args=args,
                fill=fill,
                commission_bps=commission,
                chunks=chunks,
                risk=RiskManager(rules=[MaxPosition(cap)]),
            )[0]
            for ff in (False, True)
        ]
        same(*results)

    def test_the_fast_path_calls_on_bar_on_few_bars(self):
        series = synthetic(7, 5_000)
        args = {"fast": 10, "slow": 30, "mode": "reverse", "units": 10.0}
        slow, per_bar_calls = run(series, fast_forward=False, strategy_args=args)
        fast, fast_calls = run(series, fast_forward=True, strategy_args=args)
        same(slow, fast)
        assert per_bar_calls == 5_000
        assert fast_calls < per_bar_calls / 3
        assert len(fast.fills) > 50

    def test_a_drawdown_brake_keeps_every_bar_and_the_same_result(self):
        series = synthetic(3, 800)
        args = {"fast": 3, "slow": 9, "mode": "reverse", "units": 400.0}

        def braked() -> RiskManager:
            return RiskManager(
                rules=[MaxPosition(1e9)],
                drawdown=DrawdownLimits(reduce_at=0.01, halt_at=0.02, hysteresis=0.002),
            )

        slow, _ = run(series, fast_forward=False, strategy_args=args, risk=braked())
        fast, calls = run(series, fast_forward=True, strategy_args=args, risk=braked())
        same(slow, fast)
        assert calls == 800  # the brake needs each bar's equity: no stretch was skipped
        assert slow.risk_state["trading_state"] != TradingState.ACTIVE.value


def plain_engine(strategy: SmaCross) -> BarEventEngine:
    instruments = InstrumentRegistry([Instrument(symbol="SYN")])
    clock = ManualClock()
    return BarEventEngine(
        bars={"SYN": synthetic(1, 100)},
        instruments=instruments,
        strategy=strategy,
        risk=RiskManager(),
        venue=SimulatedVenue(instruments, clock),
        clock=clock,
        initial_cash=1_000.0,
    )


class TestKillSignalAndBadStrategies:
    def test_a_kill_signal_is_polled_per_stretch_and_halts_the_run(self):
        class KillAfter:
            def __init__(self, polls: int) -> None:
                self.polls, self.left = 0, polls

            def poll(self) -> str | None:
                self.polls += 1
                self.left -= 1
                return "operator kill" if self.left == 0 else None

        series = synthetic(11, 3_000)
        signal = KillAfter(20)
        result, _ = run(
            series,
            fast_forward=True,
            strategy_args={"fast": 5, "slow": 20, "mode": "reverse", "units": 10.0},
            kill_signal=signal,
        )
        assert result.risk_state["trading_state"] == TradingState.HALTED.value
        assert result.portfolio.positions == {}
        assert any("operator kill" in note for note in result.notes)

    @pytest.mark.parametrize("returned", [-1, 10**9, 2.5, True])
    def test_a_fast_forward_outside_the_window_is_a_strategy_error(self, returned):
        class Broken(SmaCross):
            name = "broken"

            def fast_forward(self, series, start, stop, ctx):
                return returned

        engine = plain_engine(Broken())
        with pytest.raises(StrategyError, match="broken.*fast_forward must return"):
            engine.run()

    def test_a_fast_forward_that_raises_names_the_strategy_and_the_bar(self):
        class Raising(SmaCross):
            name = "raising"

            def fast_forward(self, series, start, stop, ctx):
                raise ValueError("no")

        engine = plain_engine(Raising())
        with pytest.raises(StrategyError, match="raising.*ValueError in fast_forward on SYN"):
            engine.run()
