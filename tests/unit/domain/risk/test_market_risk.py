"""VaR (historical, parametric) and beta, their caps, and resizing against them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.domain.errors import InvalidConfiguration
from emp.domain.risk import (
    BreachAction,
    ExposureBook,
    MarketRiskModel,
    MaxBetaExposure,
    MaxValueAtRisk,
    ReturnHistory,
    RiskContext,
)
from emp.domain.risk.market_risk import historical_var, parametric_var, tail_index
from emp.domain.risk.var_book import BATCH, VarBook
from tests.unit.domain.risk.builders import BUY, SELL, account, check_input

RESIZE = BreachAction.RESIZE
SYMBOLS = ("A", "B", "C")


def history(seed: int = 7, periods: int = 300) -> ReturnHistory:
    rng = np.random.default_rng(seed)
    bench = rng.normal(0.0, 0.01, periods)
    betas = np.array([0.5, 1.5, -1.0])
    returns = bench[:, None] * betas + rng.normal(0.0, 0.005, (periods, 3))
    return ReturnHistory(symbols=SYMBOLS, returns=returns, benchmark=bench)


def context(positions: dict[str, float], hist: ReturnHistory | None = None, window: int = 250):
    book = ExposureBook()
    book.rebuild(
        account(positions, marks=dict.fromkeys(SYMBOLS, 100.0)),
        MarketRiskModel(hist or history(), window=window),
    )
    return RiskContext(book)


def naive_historical_var(returns: np.ndarray, values: np.ndarray, confidence: float) -> float:
    pnl = np.sort(returns @ values)
    k = max(0, round(len(pnl) * (1 - confidence) + 0.5 - 1e-6) - 1)  # ceil, float-safe
    return max(-pnl[k], 0.0)


class TestMeasures:
    def test_historical_var_is_the_empirical_tail_loss(self) -> None:
        pnl = np.arange(-50.0, 50.0)  # 100 periods: the 1 % tail is the worst one
        assert historical_var(pnl, 0.99) == 50.0
        assert historical_var(pnl, 0.95) == 46.0
        assert historical_var(pnl, 0.99, horizon=4) == 100.0

    def test_historical_var_of_a_winning_history_is_zero(self) -> None:
        assert historical_var(np.ones(10), 0.95) == 0.0

    def test_parametric_var_is_z_sigma(self) -> None:
        assert parametric_var(4.0, 0.975) == pytest.approx(1.959964 * 2.0, rel=1e-6)

    def test_tail_index_never_goes_below_zero(self) -> None:
        assert tail_index(10, 0.999) == 0

    def test_model_keeps_only_the_window_and_measures_betas(self) -> None:
        model = MarketRiskModel(history(), window=250)
        assert model.returns.shape == (250, 3)
        assert model.beta("A") == pytest.approx(0.5, abs=0.1)
        assert model.beta("C") == pytest.approx(-1.0, abs=0.1)
        assert model.beta("ZZZ") == 1.0

    def test_nan_returns_count_as_zero(self) -> None:
        returns = np.array([[np.nan, 0.01], [0.02, np.nan], [0.0, 0.0]])
        model = MarketRiskModel(ReturnHistory(symbols=("A", "B"), returns=returns), window=3)
        assert np.isfinite(model.returns).all()

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"symbols": ("A",), "returns": np.zeros((5, 2))},
            {"symbols": ("A", "A"), "returns": np.zeros((5, 2))},
            {"symbols": ("A",), "returns": np.zeros((5, 1)), "benchmark": np.zeros(4)},
        ],
    )
    def test_inconsistent_histories_are_refused(self, kwargs) -> None:
        with pytest.raises(InvalidConfiguration):
            ReturnHistory(**kwargs)

    def test_book_pnl_matches_the_matrix_product_after_incremental_updates(self) -> None:
        ctx = context({"A": 10, "B": -20})
        book = ctx.book
        data = check_input(BUY, 30, symbol="C", context=ctx)
        book.store(book.measure(data).with_order(30))
        values = np.array([1_000.0, -2_000.0, 3_000.0])
        expected = book.market.returns @ values
        np.testing.assert_allclose(book.pnl, expected)
        book.var.sigma_v()
        book.store(
            book.measure(check_input(SELL, 5, symbol="A", position=10, context=ctx)).with_order(-5)
        )
        values[0] = 500.0
        cov = book.market.covariance
        assert book.variance() == pytest.approx(values @ cov @ values)


class TestMaxValueAtRisk:
    def test_historical_var_cap_matches_an_independent_computation(self) -> None:
        ctx = context({"A": 100, "B": 50})
        returns = ctx.book.market.returns
        before = naive_historical_var(returns, np.array([10_000.0, 5_000.0, 0.0]), 0.99)
        after = naive_historical_var(returns, np.array([10_000.0, 15_000.0, 0.0]), 0.99)
        assert before < after
        limit = (before + after) / 2
        rule = MaxValueAtRisk(limit, confidence=0.99)
        reason = rule.check(check_input(BUY, 100, symbol="B", position=50, context=ctx))
        assert reason is not None and f"{after:,.2f}" in reason

    def test_order_that_lowers_var_passes_above_the_cap(self) -> None:
        ctx = context({"A": 1_000})
        rule = MaxValueAtRisk(1.0, method="parametric")
        assert rule.check(check_input(SELL, 10, symbol="A", position=1_000, context=ctx)) is None
        assert rule.check(check_input(BUY, 10, symbol="A", position=1_000, context=ctx))

    def test_hedge_in_a_negative_beta_symbol_may_pass_above_the_cap(self) -> None:
        ctx = context({"B": 1_000})  # long beta 1.5; C has beta -1
        rule = MaxValueAtRisk(1.0, method="parametric")
        assert rule.check(check_input(BUY, 100, symbol="C", context=ctx)) is None

    @pytest.mark.parametrize("method", ["historical", "parametric"])
    def test_resize_finds_the_largest_lot_within_the_cap(self, method: str) -> None:
        ctx = context({"A": 100})
        rule = MaxValueAtRisk(400.0, method=method, confidence=0.95, action=RESIZE)
        data = check_input(BUY, 1_000, symbol="B", context=ctx)
        assert rule.check(data) is not None
        capacity = math.floor(rule.capacity(data) + 1e-9)
        assert 0 < capacity < 1_000
        assert rule.check(check_input(BUY, capacity, symbol="B", context=ctx)) is None
        assert rule.check(check_input(BUY, capacity + 1, symbol="B", context=ctx)) is not None

    def test_symbols_without_history_pass_unless_history_is_required(self) -> None:
        ctx = context({"A": 100})
        assert MaxValueAtRisk(1.0).check(check_input(BUY, 10, symbol="Z", context=ctx)) is None
        strict = MaxValueAtRisk(1.0, require_history=True)
        assert strict.check(check_input(BUY, 10, symbol="Z", context=ctx)) == (
            "max_var_historical: no return history for Z"
        )
        assert strict.capacity(check_input(BUY, 10, symbol="Z", context=ctx)) == 0.0

    @pytest.mark.parametrize(
        "kwargs",
        [{"confidence": 0.4}, {"confidence": 1.0}, {"method": "monte_carlo"}, {"horizon": 0}],
    )
    def test_bad_configuration_is_refused(self, kwargs) -> None:
        with pytest.raises(InvalidConfiguration):
            MaxValueAtRisk(1.0, **kwargs)


class TestMaxBetaExposure:
    def test_beta_weighted_exposure_is_capped(self) -> None:
        ctx = context({"A": 100})  # beta ~0.5 → ~5,000 USD beta exposure
        beta_a = ctx.book.beta("A")
        rule = MaxBetaExposure(10_000.0)
        room = (10_000.0 - beta_a * 10_000.0) / (ctx.book.beta("B") * 100.0)
        assert rule.check(check_input(BUY, math.floor(room), symbol="B", context=ctx)) is None
        assert rule.check(check_input(BUY, math.floor(room) + 1, symbol="B", context=ctx))
        assert rule.capacity(check_input(BUY, 1, symbol="B", context=ctx)) == pytest.approx(room)

    def test_buying_a_negative_beta_symbol_hedges(self) -> None:
        ctx = context({"B": 100})
        rule = MaxBetaExposure(100.0)  # already far above
        assert rule.check(check_input(BUY, 50, symbol="C", context=ctx)) is None
        assert rule.check(check_input(SELL, 50, symbol="C", context=ctx)) is not None

    def test_without_a_benchmark_every_symbol_counts_as_beta_one(self) -> None:
        hist = history()
        flat = ReturnHistory(symbols=hist.symbols, returns=hist.returns)
        ctx = context({"A": 10}, flat)
        assert ctx.book.beta_high == pytest.approx(1_000.0)


class TestVarBook:
    def test_batched_updates_equal_a_fresh_computation_with_repeated_symbols(self) -> None:
        model = MarketRiskModel(history(), window=250)
        var = VarBook(model, np.array([100.0, -50.0, 0.0]), track_variance=True)
        values = np.array([100.0, -50.0, 0.0])
        rng = np.random.default_rng(3)
        for _ in range(BATCH * 2 + 5):  # crosses the automatic flush twice
            j = int(rng.integers(0, 3))
            values[j] = float(rng.normal(0, 1_000))
            var.apply(j, values[j])
        np.testing.assert_allclose(var.pnl, model.returns @ values)
        np.testing.assert_allclose(var.sigma_v(), model.covariance @ values)
        assert var.variance() == pytest.approx(values @ model.covariance @ values)

    def test_no_bound_is_known_before_an_exact_figure(self) -> None:
        var = VarBook(MarketRiskModel(history()), np.zeros(3), track_variance=False)
        assert math.isinf(var.bound(("historical", 0.99)))

    @settings(max_examples=200, deadline=None)
    @given(
        updates=st.lists(
            st.tuples(st.integers(0, 2), st.floats(-5_000, 5_000, allow_nan=False)), max_size=40
        ),
        confidence=st.sampled_from([0.9, 0.95, 0.99]),
    )
    def test_drift_bounds_are_never_below_the_exact_figures(self, updates, confidence) -> None:
        model = MarketRiskModel(history(), window=250)
        values = np.array([1_000.0, -500.0, 200.0])
        var = VarBook(model, values.copy(), track_variance=True)
        historical, parametric = ("historical", confidence), ("parametric", confidence)
        var.remember(historical, historical_var(var.pnl, confidence))
        var.remember(parametric, math.sqrt(var.variance()))
        for j, value in updates:
            var.apply(j, value)
            values[j] = value
            exact_hist = historical_var(model.returns @ values, confidence)
            exact_sigma = math.sqrt(max(values @ model.covariance @ values, 0.0))
            assert var.bound(historical) >= exact_hist - 1e-6
            assert var.bound(parametric) >= exact_sigma - 1e-6


class TestPrecomputedVaR:
    @pytest.mark.parametrize("method", ["historical", "parametric"])
    def test_precomputing_at_the_bar_changes_no_decision(self, method: str) -> None:
        from emp.domain.risk import RiskConfig, build_risk_manager

        decisions = []
        for precompute in (False, True):
            manager = build_risk_manager(
                RiskConfig(max_var=2_500.0, var_method=method, precompute_var=precompute)
            )
            manager.on_bar(
                account({"A": 100}, marks=dict.fromkeys(SYMBOLS, 100.0)), returns=history()
            )
            assert manager.book.var is not None
            assert manager.book.var.knows((method, 0.99)) is precompute
            decisions.append(
                [
                    manager.check(check_input(BUY, q, symbol="B", context=manager.context)).approved
                    for q in (10, 100, 1_000, 5_000)
                ]
            )
        assert decisions[0] == decisions[1]
        assert True in decisions[0] and False in decisions[0]
