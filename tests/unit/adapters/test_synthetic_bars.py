"""RegimeSwitchingBarSource: deterministic, consistent, regime-driven synthetic bars."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.adapters.synthetic import RegimeSwitchingBarSource
from emp.adapters.synthetic.regimes import REGIME_NAMES, TRANSITIONS, stationary_distribution
from emp.domain.bars import BarSeries
from emp.domain.errors import InvalidConfiguration
from emp.ports.bar_source import BarSourcePort, SymbolNotFound

SYMBOLS = ("AAA", "BBB", "CCC")
COLUMNS = ("ts_ns", "open", "high", "low", "close", "volume")
DAY_NS = 86_400_000_000_000


def log_returns(series: BarSeries) -> np.ndarray:
    return np.diff(np.log(series.close))


class TestDeterminism:
    def test_the_same_seed_gives_bit_identical_bars(self) -> None:
        first = RegimeSwitchingBarSource(SYMBOLS, seed=7).load()
        second = RegimeSwitchingBarSource(SYMBOLS, seed=7).load()
        for symbol in SYMBOLS:
            for column in COLUMNS:
                a, b = getattr(first[symbol], column), getattr(second[symbol], column)
                assert a.tobytes() == b.tobytes(), (symbol, column)

    def test_different_seeds_give_different_bars(self) -> None:
        first = RegimeSwitchingBarSource(SYMBOLS, seed=1).load()["AAA"]
        second = RegimeSwitchingBarSource(SYMBOLS, seed=2).load()["AAA"]
        assert not np.array_equal(first.close, second.close)

    def test_loading_twice_gives_equal_independent_arrays(self) -> None:
        source = RegimeSwitchingBarSource(SYMBOLS)
        first = source.load(["AAA"])["AAA"]
        first.close[:] = 1.0
        assert not np.array_equal(source.load(["AAA"])["AAA"].close, first.close)

    def test_describe_records_seed_and_length(self) -> None:
        source = RegimeSwitchingBarSource(SYMBOLS, n_bars=300, seed=11)
        assert isinstance(source, BarSourcePort)
        assert "seed=11" in source.describe()
        assert "n_bars=300" in source.describe()


class TestBars:
    @settings(max_examples=40, deadline=None)
    @given(
        seed=st.integers(0, 2**32 - 1),
        n_bars=st.integers(2, 1500),
        initial_price=st.sampled_from([0.05, 1.0, 100.0, 5000.0]),
        tick_size=st.sampled_from([0.01, 0.05, 0.25, 1.0]),
    )
    def test_ohlc_are_consistent_positive_whole_ticks(
        self, seed: int, n_bars: int, initial_price: float, tick_size: float
    ) -> None:
        initial_price = max(initial_price, tick_size)
        source = RegimeSwitchingBarSource(
            ["X", "Y"],
            n_bars=n_bars,
            seed=seed,
            initial_price=initial_price,
            tick_size=tick_size,
        )
        for series in source.load().values():
            assert len(series) == n_bars
            assert np.all(series.low > 0)
            assert np.all(series.low <= np.minimum(series.open, series.close))
            assert np.all(series.high >= np.maximum(series.open, series.close))
            assert np.all(series.volume >= 0)
            for column in (series.open, series.high, series.low, series.close):
                ticks = column / tick_size
                np.testing.assert_allclose(ticks, np.round(ticks), rtol=0, atol=1e-6)

    def test_bars_fall_on_business_days_at_midnight_utc(self) -> None:
        source = RegimeSwitchingBarSource(["X"], n_bars=30, start=dt.date(2021, 1, 2))
        ts = source.load()["X"].ts_ns
        days = ts.astype("datetime64[ns]").astype("datetime64[D]")
        assert days[0] == np.datetime64("2021-01-04")  # Saturday start rolls to Monday
        assert np.all(ts % DAY_NS == 0)
        assert np.all(np.is_busday(days))
        assert np.all(np.diff(ts) <= 3 * DAY_NS)

    def test_symbols_move_together(self) -> None:
        bars = RegimeSwitchingBarSource(SYMBOLS, n_bars=756, seed=3).load()
        for a, b in (("AAA", "BBB"), ("AAA", "CCC"), ("BBB", "CCC")):
            correlation = np.corrcoef(log_returns(bars[a]), log_returns(bars[b]))[0, 1]
            assert correlation > 0.3

    def test_the_open_gaps_away_from_the_previous_close(self) -> None:
        series = RegimeSwitchingBarSource(["X"], n_bars=500).load()["X"]
        assert np.mean(series.open[1:] != series.close[:-1]) > 0.8

    def test_loading_selected_symbols_and_unknown_symbols(self) -> None:
        source = RegimeSwitchingBarSource(SYMBOLS)
        assert list(source.load(["CCC", "AAA"])) == ["CCC", "AAA"]
        with pytest.raises(SymbolNotFound, match="QQQ.*AAA, BBB, CCC"):
            source.load(["AAA", "QQQ"])


class TestRegimes:
    def test_every_regime_is_visited_in_a_long_history(self) -> None:
        ts, labels = RegimeSwitchingBarSource(["X"], n_bars=5000).regime_labels()
        assert set(labels) == set(REGIME_NAMES)
        assert len(labels) == ts.shape[0] == 5000

    def test_regimes_are_sticky(self) -> None:
        _, labels = RegimeSwitchingBarSource(["X"], n_bars=5000).regime_labels()
        changes = sum(a != b for a, b in itertools.pairwise(labels))
        assert changes < 250

    def test_the_labels_are_aligned_with_the_bars(self) -> None:
        source = RegimeSwitchingBarSource(["X"], n_bars=100)
        ts, _ = source.regime_labels()
        np.testing.assert_array_equal(ts, source.load()["X"].ts_ns)

    def test_crisis_days_are_more_volatile_and_busier_than_bull_days(self) -> None:
        source = RegimeSwitchingBarSource(["X"], n_bars=5000, seed=5)
        series = source.load()["X"]
        regime = np.array(source.regime_labels()[1][1:])
        returns = log_returns(series)
        volume = series.volume[1:]
        counts = Counter(regime.tolist())
        assert counts["crisis"] > 20
        assert returns[regime == "crisis"].std() > 2 * returns[regime == "bull"].std()
        assert volume[regime == "crisis"].mean() > 1.5 * volume[regime == "bull"].mean()

    def test_the_transition_matrix_is_stochastic(self) -> None:
        np.testing.assert_allclose(TRANSITIONS.sum(axis=1), 1.0)
        shares = stationary_distribution()
        np.testing.assert_allclose(shares @ TRANSITIONS, shares)
        assert np.all(shares > 0)


class TestConfiguration:
    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"symbols": []}, "at least one"),
            ({"symbols": "AAA"}, "string"),
            ({"symbols": ["AAA", ""]}, "non-empty"),
            ({"symbols": ["AAA", "AAA"]}, "repeated: AAA"),
            ({"n_bars": 1}, "n_bars"),
            ({"seed": -1}, "seed"),
            ({"initial_price": 0.0}, "initial_price"),
            ({"tick_size": -0.01}, "tick_size"),
            ({"initial_price": 0.001}, "at least one tick"),
            ({"n_bars": 100_000}, "2262"),
        ],
    )
    def test_bad_arguments_are_refused_at_construction(
        self, kwargs: dict[str, object], message: str
    ) -> None:
        arguments: dict[str, object] = {"symbols": ["AAA"], **kwargs}
        with pytest.raises(InvalidConfiguration, match=message):
            RegimeSwitchingBarSource(**arguments)  # type: ignore[arg-type]
