"""Train/test and walk-forward splits: windows in time order, no overlap, no leakage."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emp.domain.bars import BarSeries
from emp.domain.errors import InvalidConfiguration
from emp.domain.splits import TimeWindow, TrainTestSplit, WalkForward, stitch_equity

DAY = 86_400 * 10**9


def timeline(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64) * DAY


def bars_in(window: TimeWindow, ts: np.ndarray) -> list[int]:
    return [i for i, t in enumerate(ts.tolist()) if window.contains(t)]


class TestTrainTest:
    def test_the_last_fraction_tests_and_the_rest_trains(self):
        ts = timeline(10)
        split = TrainTestSplit(test_fraction=0.3).split(ts)
        assert bars_in(split.train, ts) == list(range(7))
        assert bars_in(split.test, ts) == [7, 8, 9]
        assert (split.train.bars, split.test.bars) == (7, 3)

    def test_a_gap_leaves_bars_in_neither_window(self):
        ts = timeline(10)
        split = TrainTestSplit(test_fraction=0.3, gap_bars=2).split(ts)
        assert bars_in(split.train, ts) == list(range(5))
        assert bars_in(split.test, ts) == [7, 8, 9]

    def test_the_test_window_reaches_past_the_last_bar(self):
        ts = timeline(4)
        split = TrainTestSplit(test_fraction=0.5).split(ts)
        assert split.test.end_ns == ts[-1] + 1

    @pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
    def test_a_fraction_outside_zero_one_is_refused(self, fraction):
        with pytest.raises(InvalidConfiguration, match="test_fraction"):
            TrainTestSplit(test_fraction=fraction)

    def test_too_few_bars_are_refused(self):
        with pytest.raises(InvalidConfiguration, match="cannot hold"):
            TrainTestSplit(test_fraction=0.5, gap_bars=5).split(timeline(4))


class TestWalkForward:
    def test_rolling_folds_tile_the_test_windows(self):
        ts = timeline(12)
        folds = WalkForward(train_bars=4, test_bars=2).splits(ts)
        assert [(bars_in(f.train, ts), bars_in(f.test, ts)) for f in folds] == [
            ([0, 1, 2, 3], [4, 5]),
            ([2, 3, 4, 5], [6, 7]),
            ([4, 5, 6, 7], [8, 9]),
            ([6, 7, 8, 9], [10, 11]),
        ]
        assert [f.index for f in folds] == [0, 1, 2, 3]

    def test_anchored_folds_grow_from_the_first_bar(self):
        ts = timeline(10)
        folds = WalkForward(train_bars=4, test_bars=3, anchored=True).splits(ts)
        assert [bars_in(f.train, ts) for f in folds] == [[0, 1, 2, 3], [0, 1, 2, 3, 4, 5, 6]]

    def test_step_and_gap(self):
        ts = timeline(12)
        folds = WalkForward(train_bars=3, test_bars=2, step_bars=4, gap_bars=1).splits(ts)
        assert [(bars_in(f.train, ts), bars_in(f.test, ts)) for f in folds] == [
            ([0, 1, 2], [4, 5]),
            ([4, 5, 6], [8, 9]),
        ]

    def test_no_room_for_one_fold_is_refused(self):
        with pytest.raises(InvalidConfiguration, match="too few"):
            WalkForward(train_bars=8, test_bars=4).splits(timeline(10))

    @pytest.mark.parametrize("field", ["train_bars", "test_bars", "step_bars"])
    def test_sizes_must_be_positive_integers(self, field):
        kwargs = {"train_bars": 3, "test_bars": 2, field: 0}
        with pytest.raises(InvalidConfiguration, match=field):
            WalkForward(**kwargs)

    @given(
        n=st.integers(5, 300),
        train=st.integers(1, 60),
        test=st.integers(1, 30),
        gap=st.integers(0, 5),
        anchored=st.booleans(),
    )
    def test_every_test_window_lies_after_its_train_window_and_inside_the_timeline(
        self, n, train, test, gap, anchored
    ):
        ts = timeline(n)
        if train + gap + test > n:
            with pytest.raises(InvalidConfiguration):
                WalkForward(train_bars=train, test_bars=test, gap_bars=gap).splits(ts)
            return
        folds = WalkForward(train_bars=train, test_bars=test, gap_bars=gap, anchored=anchored)
        for fold in folds.splits(ts):
            train_bars, test_bars = bars_in(fold.train, ts), bars_in(fold.test, ts)
            assert len(test_bars) == fold.test.bars == test
            assert len(train_bars) == fold.train.bars
            assert test_bars[0] - train_bars[-1] == gap + 1
        tests = [bars_in(f.test, ts) for f in folds.splits(ts)]
        assert all(a[-1] < b[0] for a, b in itertools.pairwise(tests))


class TestSelect:
    def test_a_window_cuts_every_series_and_drops_symbols_without_bars(self):
        ts = timeline(6)
        series = BarSeries.from_arrays("A", ts, *(np.arange(1.0, 7.0),) * 4, np.ones(6))
        late = BarSeries.from_arrays("B", ts[:2], *(np.ones(2),) * 4, np.ones(2))
        window = TimeWindow(int(ts[3]), int(ts[5]), 2)
        selected = window.select({"A": series, "B": late})
        assert list(selected) == ["A"]
        assert selected["A"].close.tolist() == [4.0, 5.0]

    def test_an_empty_window_is_refused(self):
        with pytest.raises(InvalidConfiguration, match="start < end"):
            TimeWindow(5, 5, 1)


class TestStitchedEquity:
    def test_each_fold_compounds_from_where_the_previous_ended(self):
        stitched = stitch_equity([np.array([100.0, 110.0]), np.array([100.0, 90.0, 120.0])], 100.0)
        # fold 2 starts at 110: 110 × (100, 90, 120) / 100
        np.testing.assert_allclose(stitched, [100.0, 110.0, 110.0, 99.0, 132.0])

    def test_a_fold_whose_first_bar_moved_keeps_that_move(self):
        stitched = stitch_equity([np.array([95.0, 100.0]), np.array([102.0])], 100.0)
        np.testing.assert_allclose(stitched, [95.0, 100.0, 102.0])

    def test_no_folds_stitch_to_an_empty_curve(self):
        assert stitch_equity([], 100.0).shape == (0,)

    @pytest.mark.parametrize("cash", [0.0, -5.0, float("nan")])
    def test_the_starting_cash_must_be_positive(self, cash):
        with pytest.raises(InvalidConfiguration, match="initial cash"):
            stitch_equity([np.array([1.0])], cash)

    def test_an_empty_fold_is_refused(self):
        with pytest.raises(InvalidConfiguration, match="at least one bar"):
            stitch_equity([np.array([1.0]), np.zeros(0)], 1.0)
