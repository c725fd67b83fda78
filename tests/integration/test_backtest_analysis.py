"""The backtest's metrics and analyses on hand-computed curves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emp.domain.performance import longest_drawdown, summarize
from emp.domain.regime import RealisedVolTrendClassifier
from emp.domain.run_analysis import (
    detect_regimes,
    monthly_returns,
    pnl_attribution,
    policy_regret,
    regime_breakdown,
    rolling_sharpe,
)
from emp.domain.trades import ClosedTrade

DAY = 86_400 * 10**9


def trade(pnl: float) -> ClosedTrade:
    return ClosedTrade(symbol="A", direction=1, entry_ns=0, exit_ns=1, max_quantity=1.0, pnl=pnl)


class TestMetrics:
    def test_sortino_uses_the_downside_deviation_over_all_bars(self):
        equity = np.array([100.0, 110.0, 99.0, 108.9])
        r = equity[1:] / equity[:-1] - 1
        downside = math.sqrt(np.mean(np.minimum(r, 0) ** 2))
        summary = summarize(equity, np.zeros(4), [], 0.0, periods_per_year=252)
        assert summary.sortino == pytest.approx(np.mean(r) / downside * math.sqrt(252))

    def test_sortino_is_none_without_a_losing_bar(self):
        assert summarize(np.array([1.0, 2.0, 3.0]), np.zeros(3), [], 0.0).sortino is None

    def test_calmar_is_cagr_over_the_drawdown(self):
        equity = np.array([100.0, 80.0, 120.0])
        summary = summarize(equity, np.zeros(3), [], 0.0, periods_per_year=2)
        assert summary.calmar == pytest.approx(summary.cagr / 0.2)
        assert summarize(np.array([1.0, 2.0]), np.zeros(2), [], 0.0).calmar is None

    def test_drawdown_duration_runs_from_the_peak_to_the_recovery(self):
        equity = np.array([100.0, 90.0, 95.0, 100.0, 99.0, 101.0, 80.0, 85.0])
        assert longest_drawdown(equity) == (0, 3)
        ts = np.arange(8) * DAY
        summary = summarize(equity, np.zeros(8), [], 0.0, ts_ns=ts)
        assert summary.max_drawdown_bars == 3 and summary.max_drawdown_days == 3.0

    def test_an_unrecovered_drawdown_lasts_to_the_last_bar(self):
        assert longest_drawdown(np.array([100.0, 101.0, 90.0, 95.0, 96.0, 97.0])) == (1, 5)
        assert longest_drawdown(np.array([1.0, 2.0, 3.0])) == (0, 0)

    def test_profit_factor_is_gains_over_losses(self):
        trades = [trade(30.0), trade(-10.0), trade(5.0), trade(-5.0)]
        summary = summarize(np.array([1.0, 1.0]), np.zeros(2), trades, 0.0)
        assert summary.profit_factor == pytest.approx(35 / 15)
        assert summarize(np.ones(2), np.zeros(2), [trade(1.0)], 0.0).profit_factor is None

    def test_turnover_is_traded_notional_over_mean_equity_per_year(self):
        equity = np.full(253, 100.0)  # one year of daily bars
        summary = summarize(equity, np.zeros(253), [], 0.0, traded_notional=500.0)
        assert summary.turnover == pytest.approx(5.0)

    def test_time_in_market_counts_bars_with_exposure(self):
        summary = summarize(np.ones(4), np.array([0.0, 1.0, 1.0, 0.0]), [], 0.0)
        assert summary.time_in_market == 0.5


class TestSeries:
    def test_rolling_sharpe_matches_the_sharpe_of_each_window(self):
        rng = np.random.default_rng(1)
        equity = 100 * np.cumprod(1 + rng.normal(0.001, 0.01, 60))
        values = rolling_sharpe(equity, 20, 252)
        assert np.isnan(values[:20]).all()
        r = equity[1:] / equity[:-1] - 1
        window = r[30 - 20 : 30]
        assert values[30] == pytest.approx(window.mean() / window.std(ddof=1) * math.sqrt(252))

    def test_monthly_returns_chain_month_end_equity(self):
        days = np.array(["2024-01-30", "2024-01-31", "2024-02-15", "2024-03-01"], "datetime64[D]")
        ts = days.astype("datetime64[ns]").view(np.int64)
        table = monthly_returns(ts, np.array([100.0, 110.0, 99.0, 108.9]))
        assert table.years == (2024,)
        np.testing.assert_allclose(table.table[0, :3], [0.10, -0.10, 0.10])
        assert np.isnan(table.table[0, 3:]).all()

    def test_regime_breakdown_sums_each_bars_pnl_into_its_label(self):
        equity = np.array([100.0, 105.0, 103.0, 110.0])
        breakdown = regime_breakdown(equity, ["bull", "bull", "bear", "bull"])
        assert breakdown["bull"] == {"bars": 3, "time_share": 0.75, "pnl": 12.0}
        assert breakdown["bear"]["pnl"] == -2.0

    def test_detected_regimes_equal_the_classifier_at_every_bar(self):
        rng = np.random.default_rng(2)
        closes = 100 * np.exp(np.cumsum(rng.normal(0.0, 0.02, 300)))
        classifier = RealisedVolTrendClassifier(window=30)
        expected = [classifier.classify(closes[: t + 1]) for t in range(300)]
        assert detect_regimes(closes, window=30) == expected


class TestAttributionAndRegret:
    def test_market_fills_pay_the_cross_and_the_rest_is_hold(self):
        impact = 0.001
        fills = [(10.0, 100.0 * (1 + impact), True), (-10.0, 110.0 * (1 - impact), True)]
        total = 10 * (110 * (1 - impact) - 100 * (1 + impact)) - 2.0
        parts = pnl_attribution(fills, impact, total, fees=2.0)
        assert parts["cross"] == pytest.approx(-10 * 100 * impact - 10 * 110 * impact)
        assert parts["hold"] == pytest.approx(10 * (110 - 100))
        assert parts["cross"] + parts["post"] + parts["hold"] + parts["fees"] == pytest.approx(
            total
        )

    def test_known_mids_split_the_edge_into_cross_for_takers_and_post_for_makers(self):
        fills = [(10.0, 100.02, True), (-10.0, 100.03, False), (5.0, 99.0, True)]
        mids = [100.0, 100.01, None]  # the last one falls back to the cost model
        parts = pnl_attribution(fills, 0.001, 5.0, fees=1.0, mids=mids)
        assert parts["cross"] == pytest.approx(10 * (100.0 - 100.02) + 5 * (99.0 / 1.001 - 99.0))
        assert parts["post"] == pytest.approx(-10 * (100.01 - 100.03))  # sold above the mid
        assert parts["hold"] == pytest.approx(5.0 - parts["cross"] - parts["post"] + 1.0)

    def test_the_oracle_takes_every_rise_and_regret_is_what_the_run_missed(self):
        closes = np.array([100.0, 110.0, 99.0, 108.9])
        regret = policy_regret(closes, 1_000.0, 1_000.0)
        assert regret["oracle_long_only_final_equity"] == pytest.approx(1_000 * 1.1 * 1.1)
        assert regret["oracle_long_short_final_equity"] == pytest.approx(1_000 * 1.1**3)
        assert regret["regret_long_only"] == pytest.approx(210.0)
        assert regret["log_regret_long_only"] == pytest.approx(2 * math.log(1.1))
