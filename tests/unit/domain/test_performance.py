"""Performance statistics on hand-computed equity curves."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emp.domain.performance import (
    TRADING_DAYS_PER_YEAR,
    drawdown_series,
    infer_periods_per_year,
    summarize,
)
from emp.domain.trades import ClosedTrade

NS_PER_MINUTE = 60 * 1_000_000_000
NS_PER_DAY = 1_440 * NS_PER_MINUTE


def closed(pnl: float) -> ClosedTrade:
    return ClosedTrade(symbol="AAA", direction=1, entry_ns=0, exit_ns=1, max_quantity=1.0, pnl=pnl)


def no_exposure(equity: np.ndarray) -> np.ndarray:
    return np.zeros_like(equity)


class TestSummarize:
    def test_flat_curve_has_no_return_no_risk_and_no_drawdown(self) -> None:
        equity = np.full(10, 1_000.0)
        summary = summarize(equity, no_exposure(equity), [], 0.0)
        assert summary.total_return == 0.0
        assert summary.cagr == 0.0
        assert summary.volatility == 0.0
        assert summary.sharpe == 0.0
        assert summary.max_drawdown == 0.0
        assert summary.bars == 10

    def test_known_drawdown_is_measured_from_the_running_peak(self) -> None:
        equity = np.array([100.0, 120.0, 90.0, 130.0, 65.0, 80.0])
        summary = summarize(equity, no_exposure(equity), [], 0.0)
        assert summary.max_drawdown == pytest.approx(65.0 / 130.0 - 1.0)
        assert summary.total_return == pytest.approx(-0.2)
        assert summary.initial_equity == 100.0
        assert summary.final_equity == 80.0

    def test_cagr_over_exactly_one_year_of_bars_is_the_total_return(self) -> None:
        # 252 per-bar returns (253 equity points) span exactly one year at 252 bars a year.
        rng = np.random.default_rng(7)
        returns = rng.normal(0.0005, 0.01, size=TRADING_DAYS_PER_YEAR)
        equity = 1_000.0 * np.concatenate([[1.0], np.cumprod(1.0 + returns)])
        summary = summarize(equity, no_exposure(equity), [], 0.0)
        assert summary.cagr == pytest.approx(summary.total_return, rel=1e-9)

    def test_cagr_over_two_years_is_the_annual_growth_rate(self) -> None:
        equity = np.linspace(100.0, 121.0, 2 * 252 + 1)
        summary = summarize(equity, no_exposure(equity), [], 0.0)
        assert summary.cagr == pytest.approx(0.10, rel=1e-9)

    def test_total_loss_has_a_cagr_of_minus_one(self) -> None:
        equity = np.array([100.0, 50.0, 0.0])
        summary = summarize(equity, no_exposure(equity), [], 0.0)
        assert summary.cagr == -1.0

    def test_sharpe_and_volatility_match_their_written_definitions(self) -> None:
        equity = np.array([100.0, 102.0, 101.0, 104.0, 103.0, 107.0])
        returns = [equity[i + 1] / equity[i] - 1.0 for i in range(len(equity) - 1)]
        std = statistics.stdev(returns)
        summary = summarize(equity, no_exposure(equity), [], 0.0, periods_per_year=52.0)
        assert summary.volatility == pytest.approx(std * math.sqrt(52.0), rel=1e-12)
        assert summary.sharpe == pytest.approx(
            statistics.fmean(returns) / std * math.sqrt(52.0), rel=1e-12
        )

    def test_steady_growth_has_no_dispersion_and_so_a_sharpe_of_zero(self) -> None:
        # Every per-bar return is 0.1%: "0.0 when returns have no dispersion", not the
        # ~1e14 that floating-point noise in the returns would otherwise produce.
        equity = 100.0 * 1.001 ** np.arange(253)
        summary = summarize(equity, no_exposure(equity), [], 0.0)
        assert summary.sharpe == 0.0

    def test_single_bar_has_zero_statistics(self) -> None:
        equity = np.array([100.0])
        summary = summarize(equity, no_exposure(equity), [], 0.0)
        assert (summary.cagr, summary.volatility, summary.sharpe) == (0.0, 0.0, 0.0)

    def test_empty_curve_is_refused(self) -> None:
        with pytest.raises(ValueError, match="non-empty"):
            summarize(np.array([]), np.array([]), [], 0.0)

    def test_exposure_is_the_mean_of_gross_over_equity(self) -> None:
        equity = np.array([100.0, 200.0, 100.0, 50.0])
        gross = np.array([0.0, 100.0, 100.0, 100.0])
        summary = summarize(equity, gross, [], 0.0)
        assert summary.exposure == pytest.approx((0.0 + 0.5 + 1.0 + 2.0) / 4)

    def test_win_rate_is_none_without_closed_trades(self) -> None:
        equity = np.array([100.0, 101.0])
        summary = summarize(equity, no_exposure(equity), [], 0.0)
        assert summary.trades == 0
        assert summary.win_rate is None

    def test_win_rate_counts_trades_with_positive_net_pnl(self) -> None:
        equity = np.array([100.0, 101.0])
        trades = [closed(5.0), closed(-1.0), closed(0.0), closed(0.01)]
        summary = summarize(equity, no_exposure(equity), trades, 3.5)
        assert summary.trades == 4
        assert summary.win_rate == pytest.approx(0.5)
        assert summary.fees == 3.5

    def test_to_dict_holds_every_field(self) -> None:
        equity = np.array([100.0, 101.0])
        as_dict = summarize(equity, no_exposure(equity), [], 0.0).to_dict()
        assert as_dict["bars"] == 2
        assert as_dict["win_rate"] is None
        assert set(as_dict) >= {"sharpe", "max_drawdown", "cagr", "exposure"}


class TestDrawdownSeries:
    def test_known_series(self) -> None:
        drawdown = drawdown_series(np.array([100.0, 110.0, 99.0, 121.0]))
        np.testing.assert_allclose(drawdown, [0.0, 0.0, -0.1, 0.0])

    @given(
        st.lists(
            st.floats(min_value=1e-3, max_value=1e9, allow_nan=False), min_size=1, max_size=200
        )
    )
    def test_drawdown_is_never_positive_and_zero_at_new_highs(self, values: list[float]) -> None:
        equity = np.array(values)
        drawdown = drawdown_series(equity)
        assert np.all(drawdown <= 0.0)
        assert drawdown[0] == 0.0
        at_high = equity >= np.maximum.accumulate(equity)
        assert np.all(drawdown[at_high] == 0.0)


def spaced(step_ns: int, n: int = 30) -> np.ndarray:
    return np.arange(n, dtype=np.int64) * step_ns


class TestInferPeriodsPerYear:
    def test_daily_bars_give_252(self) -> None:
        assert infer_periods_per_year(spaced(NS_PER_DAY)) == 252.0

    def test_weekdays_with_weekend_gaps_give_252(self) -> None:
        days = [d for d in range(60) if d % 7 not in (5, 6)]
        assert infer_periods_per_year(np.array(days, dtype=np.int64) * NS_PER_DAY) == 252.0

    def test_one_minute_bars_give_252_sessions_of_390_minutes(self) -> None:
        assert infer_periods_per_year(spaced(NS_PER_MINUTE)) == pytest.approx(252.0 * 390.0)

    def test_hourly_bars_scale_with_the_session_length(self) -> None:
        assert infer_periods_per_year(spaced(60 * NS_PER_MINUTE)) == pytest.approx(252.0 * 6.5)

    def test_weekly_bars_give_about_52_per_year(self) -> None:
        # A year holds ~52 weekly bars (252 trading days / 5, or 365.25 days / 7).
        assert 50.0 <= infer_periods_per_year(spaced(7 * NS_PER_DAY)) <= 53.0

    def test_fewer_than_two_bars_default_to_252(self) -> None:
        assert infer_periods_per_year(spaced(NS_PER_DAY, n=1)) == 252.0
        assert infer_periods_per_year(np.array([], dtype=np.int64)) == 252.0


class TestEventTimeCurves:
    def test_a_curve_spaced_below_a_second_is_event_time_and_bars_are_not(self):
        from emp.domain.performance import is_event_time

        assert is_event_time(np.array([0, 1_000, 250_000_000, 900_000_000], dtype=np.int64))
        minute = 60 * 10**9
        assert not is_event_time(np.arange(5, dtype=np.int64) * minute)
        assert not is_event_time(np.array([7], dtype=np.int64))

    def test_sampling_each_second_takes_the_last_value_at_or_before_each_tick(self):
        from emp.domain.performance import sampled_each

        second = 10**9
        ts = np.array([0, 200_000_000, 1_500_000_000, 1_600_000_000, 3_200_000_000])
        equity = np.array([100.0, 101.0, 99.0, 98.0, 102.0])
        grid, (sampled,) = sampled_each(ts, (equity,))
        assert grid.tolist() == [0, second, 2 * second, 3 * second, 3_200_000_000]
        assert sampled.tolist() == [100.0, 101.0, 98.0, 98.0, 102.0]
