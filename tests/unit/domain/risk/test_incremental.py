"""Incremental market-data state equals a from-scratch recomputation.

The market model takes only new rows of a return stream, the exposure book only the
symbols that changed, the volatility tier and regime only the new close: each is
compared here with the same figure computed afresh, within float tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.domain.regime import RealisedVolTrendClassifier, RollingLogReturns, realised_volatility
from emp.domain.risk import (
    AccountSnapshot,
    ExposureBook,
    MarketRiskModel,
    ReturnHistory,
    TokenBucket,
    WorkingOrder,
)
from emp.domain.risk.market_risk import historical_var
from tests.unit.domain.risk.builders import BUY, SELL

SYMBOLS = ("A", "B", "C", "D")


class Stream:
    """An append-only return stream handing out windows of it, as the app's rings do."""

    def __init__(self, seed: int, n: int = len(SYMBOLS)) -> None:
        self.rng = np.random.default_rng(seed)
        self.rows: list[np.ndarray] = []
        self.bench: list[float] = []
        self.n = n

    def append(self, count: int = 1, nan: bool = False) -> None:
        for _ in range(count):
            b = float(self.rng.normal(0, 0.01))
            row = b * np.linspace(-1.0, 1.5, self.n) + self.rng.normal(0, 0.005, self.n)
            if nan:
                row[self.rng.integers(0, self.n)] = np.nan
            self.rows.append(row)
            self.bench.append(b)

    def history(self, window: int, symbols: tuple[str, ...] = SYMBOLS) -> ReturnHistory:
        rows = np.array(self.rows[-window:])
        return ReturnHistory(
            symbols=symbols,
            returns=rows,
            benchmark=np.array(self.bench[-window:]),
            origin=self,
            end=len(self.rows),
        )


def assert_models_equal(rolled: MarketRiskModel, fresh: MarketRiskModel) -> None:
    assert rolled.observations == fresh.observations
    np.testing.assert_allclose(
        np.sort(rolled.returns, axis=0), np.sort(fresh.returns, axis=0), rtol=0, atol=0
    )
    # a volatility is the square root of rolling sums' difference: where the window's
    # returns are constant the exact variance is 0 and the rolled one float residue
    # (≈ 1e-20), whose root is ≈ 1e-10 — float tolerance at return scales of 1e-3..1e-2
    np.testing.assert_allclose(rolled.volatilities, fresh.volatilities, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(rolled.covariance, fresh.covariance, rtol=1e-9, atol=1e-15)
    assert rolled.betas.keys() == fresh.betas.keys()
    for s in fresh.betas:
        assert rolled.betas[s] == pytest.approx(fresh.betas[s], rel=1e-7, abs=1e-9)
    exact_max = np.abs(fresh.returns).max(axis=0, initial=0.0)
    assert all(b >= m for b, m in zip(rolled.max_abs_returns, exact_max, strict=True))


class TestRollingMarketModel:
    @settings(max_examples=60, deadline=None)
    @given(
        seed=st.integers(0, 10_000),
        window=st.integers(2, 40),
        steps=st.lists(st.integers(0, 7), min_size=1, max_size=30),
        nan=st.booleans(),
    )
    def test_advancing_equals_building_afresh_from_the_same_window(
        self, seed, window, steps, nan
    ) -> None:
        stream = Stream(seed)
        stream.append(3, nan)
        model = MarketRiskModel(stream.history(window), window=window)
        for k in steps:
            stream.append(k, nan)
            assert model.advance(stream.history(window)) is not None
            assert_models_equal(model, MarketRiskModel(stream.history(window), window=window))

    def test_a_history_of_another_stream_or_with_a_gap_is_not_taken(self) -> None:
        stream, other = Stream(1), Stream(2)
        stream.append(10)
        other.append(10)
        model = MarketRiskModel(stream.history(5), window=5)
        assert model.advance(other.history(5)) is None
        stream.append(6)  # six new rows, a cut of three: three rows never seen
        short = stream.history(3)
        assert model.advance(short) is None
        assert model.advance(stream.history(5)) is not None  # a whole window replaces all
        assert_models_equal(model, MarketRiskModel(stream.history(5), window=5))
        plain = ReturnHistory(symbols=SYMBOLS, returns=np.zeros((3, 4)))
        assert MarketRiskModel(plain, window=5).advance(plain) is None

    def test_a_history_must_end_after_its_own_rows(self) -> None:
        from emp.domain.errors import InvalidConfiguration

        with pytest.raises(InvalidConfiguration, match="end at row"):
            ReturnHistory(symbols=("A",), returns=np.zeros((3, 1)), origin=object(), end=2)


def random_account(rng: np.random.Generator, ts: int) -> AccountSnapshot:
    positions = {
        s: float(rng.integers(-50, 50)) for s in (*SYMBOLS, "E", "F") if rng.random() < 0.7
    }
    working = tuple(
        WorkingOrder(
            client_order_id=f"o{ts}-{i}",
            symbol=str(rng.choice((*SYMBOLS, "G"))),
            side=BUY if rng.random() < 0.5 else SELL,
            leaves_quantity=float(rng.integers(1, 20)),
        )
        for i in range(int(rng.integers(0, 4)))
    )
    symbols = set(positions) | {o.symbol for o in working}
    marks = {s: float(rng.uniform(50, 150)) for s in symbols}
    return AccountSnapshot(
        ts_ns=ts,
        equity=1e6,
        positions=positions,
        marks=marks,
        working_orders=working,
        fx_rates={"EUR": float(rng.choice([1.1, 1.2]))},
    )


GROUPINGS = {"sector": {"A": "tech", "B": "tech", "C": "energy"}}
CURRENCIES = {"B": "EUR", "E": "EUR"}


def assert_books_equal(rolled: ExposureBook, fresh: ExposureBook) -> None:
    for key, value in fresh.to_dict().items():
        assert rolled.to_dict()[key] == pytest.approx(value, rel=1e-9, abs=1e-6), key
    assert rolled.entries().keys() == fresh.entries().keys()
    for grouping in fresh.groupings:
        for symbol in fresh.entries():
            group = fresh.group_of(grouping, symbol)
            assert rolled.group_gross(grouping, group) == pytest.approx(
                fresh.group_gross(grouping, group), rel=1e-9, abs=1e-6
            )
    if fresh.var is not None:
        assert rolled.var is not None
        for s in SYMBOLS:
            assert rolled.var_value(s) == pytest.approx(fresh.var_value(s), abs=1e-6)
        assert np.sort(rolled.pnl) == pytest.approx(np.sort(fresh.pnl), rel=1e-9, abs=1e-6)
        assert rolled.variance() == pytest.approx(fresh.variance(), rel=1e-9, abs=1e-6)
        assert historical_var(rolled.pnl, 0.95) == pytest.approx(
            historical_var(fresh.pnl, 0.95), rel=1e-9, abs=1e-6
        )


class TestIncrementalBook:
    @settings(max_examples=60, deadline=None)
    @given(seed=st.integers(0, 10_000), bars=st.integers(1, 25), market=st.booleans())
    def test_syncing_bar_by_bar_equals_rebuilding_from_the_account(
        self, seed, bars, market
    ) -> None:
        rng = np.random.default_rng(seed)
        stream = Stream(seed)
        stream.append(5)
        rolled = ExposureBook(groupings=GROUPINGS, currencies=CURRENCIES)
        for ts in range(bars):
            account = random_account(rng, ts)
            stream.append(int(rng.integers(0, 3)))
            history = stream.history(20) if market else None
            rolled.sync(account, history, window=20)
            fresh = ExposureBook(groupings=GROUPINGS, currencies=CURRENCIES)
            fresh.rebuild(account, MarketRiskModel(history, window=20) if market else None)
            assert_books_equal(rolled, fresh)

    @settings(max_examples=40, deadline=None)
    @given(seed=st.integers(0, 10_000), bars=st.integers(1, 20))
    def test_syncing_only_the_changed_symbols_equals_rebuilding(self, seed, bars) -> None:
        rng = np.random.default_rng(seed)
        rolled = ExposureBook(groupings=GROUPINGS, currencies=CURRENCIES)
        positions = {"A": 10.0, "B": -5.0, "C": 3.0}
        marks = {"A": 100.0, "B": 50.0, "C": 20.0, "D": 70.0}
        working: tuple[WorkingOrder, ...] = ()
        for ts in range(bars):
            changed = {str(s) for s in rng.choice(list(marks), size=2, replace=False)}
            for s in changed:  # bars and fills touch only these symbols
                marks[s] = float(rng.uniform(10, 200))
                if rng.random() < 0.5:
                    positions[s] = float(rng.integers(-20, 20))
            if rng.random() < 0.3:  # an order works in a changed symbol
                s = sorted(changed)[0]
                working = (
                    WorkingOrder(client_order_id=f"w{ts}", symbol=s, side=BUY, leaves_quantity=4.0),
                )
            elif rng.random() < 0.5:
                working = ()  # it filled or was cancelled (its symbol is revisited)
            account = AccountSnapshot(
                ts_ns=ts,
                equity=1e6,
                positions=dict(positions),
                marks=dict(marks),
                working_orders=working,
                fx_rates={"EUR": 1.1},
            )
            rolled.sync(account, changed=changed if ts else None)
            fresh = ExposureBook(groupings=GROUPINGS, currencies=CURRENCIES)
            fresh.rebuild(account)
            assert_books_equal(rolled, fresh)


def closes_path(rng: np.random.Generator, n: int) -> np.ndarray:
    return 100.0 * np.exp(np.cumsum(rng.normal(0, rng.choice([0.005, 0.03]), n)))


class TestRollingVolatilityAndRegime:
    @settings(max_examples=60, deadline=None)
    @given(
        seed=st.integers(0, 10_000),
        vol_window=st.integers(2, 30),
        regime_window=st.integers(2, 30),
        length=st.integers(3, 60),
        steps=st.integers(1, 80),
    )
    def test_sliding_windows_give_the_from_scratch_volatility_and_label(
        self, seed, vol_window, regime_window, length, steps
    ) -> None:
        rng = np.random.default_rng(seed)
        path = closes_path(rng, length + steps)
        classifier = RealisedVolTrendClassifier(window=regime_window, high_volatility=0.3)
        rolling = RollingLogReturns((vol_window, regime_window))
        for end in range(2, length + steps):
            closes = path[max(0, end - length) : end]  # grows to `length`, then slides
            rolling.update(closes)
            exact = realised_volatility(closes[-(vol_window + 1) :])
            mine = rolling.sigma(vol_window) * math.sqrt(252.0)
            if math.isnan(exact):
                assert math.isnan(mine)
            else:
                assert mine == pytest.approx(exact, rel=1e-7, abs=1e-12)
            if len(closes) >= regime_window + 1:
                sigma = rolling.sigma(regime_window)
                drift = rolling.drift(regime_window)
                label = classifier.label(sigma, drift)
                near = (
                    abs(sigma * math.sqrt(252.0) - 0.3) < 1e-9
                    or abs(abs(drift / (sigma * math.sqrt(regime_window))) - 1.0) < 1e-9
                )
                if not near:
                    assert label == classifier.classify(closes)

    def test_an_unrelated_window_is_recomputed_not_rolled(self) -> None:
        rolling = RollingLogReturns((3,))
        rolling.update(np.array([100.0, 101.0, 99.0, 102.0]))
        rolling.update(np.array([50.0, 55.0, 52.0, 60.0]))
        exact = realised_volatility(np.array([50.0, 55.0, 52.0, 60.0]), periods_per_year=1.0)
        assert rolling.sigma(3) == pytest.approx(exact)

    def test_non_positive_prices_fall_back_to_the_plain_computation(self) -> None:
        rolling = RollingLogReturns((3,))
        rolling.update(np.array([100.0, 0.0, 99.0]))
        assert not rolling.valid


class TestTokenBucketReadiness:
    @settings(max_examples=100, deadline=None)
    @given(
        rate=st.sampled_from([1.0, 3.0, 1000.0]),
        burst=st.integers(1, 4),
        events=st.lists(st.integers(-(10**9), 3 * 10**9), max_size=40),
    )
    def test_ready_time_says_exactly_when_a_whole_token_is_available(
        self, rate, burst, events
    ) -> None:
        bucket = TokenBucket(rate_per_second=rate, burst=burst)
        ts = 0
        for step in events:
            ts += step
            for probe in (ts - 1, ts, ts + bucket.interval_ns // 2, ts + bucket.interval_ns):
                assert (probe >= bucket.ready_ns) == (bucket.available(probe) >= 1)
            bucket.try_take(ts)
