"""Train/test and walk-forward splits of a bar timeline, as first-class values.

A split never looks at prices, only at the timeline (``ts_ns``, strictly increasing), and
every window is a half-open time range ``[start_ns, end_ns)`` so it can be handed to a bar
store (``read_bars(symbols, start_ns, end_ns)``) or cut out of in-memory bars alike. Test
windows always come after their training window; ``gap_bars`` leaves an embargo between
them (bars in neither), so features computed on the last training bars cannot leak into
the first test bars.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from emp.domain.bars import BarSeries
from emp.domain.errors import InvalidConfiguration


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """The bars with ``start_ns <= ts < end_ns``; ``bars`` of them on the split's timeline."""

    start_ns: int
    end_ns: int
    bars: int

    def __post_init__(self) -> None:
        if self.end_ns <= self.start_ns or self.bars < 1:
            raise InvalidConfiguration(
                f"a window needs start < end and at least one bar, was [{self.start_ns}, "
                f"{self.end_ns}) with {self.bars} bars"
            )

    def contains(self, ts_ns: int) -> bool:
        return self.start_ns <= ts_ns < self.end_ns

    def select(self, bars: Mapping[str, BarSeries]) -> dict[str, BarSeries]:
        """The part of each series inside the window (symbols with none are left out)."""
        out: dict[str, BarSeries] = {}
        for symbol, series in bars.items():
            lo, hi = np.searchsorted(series.ts_ns, [self.start_ns, self.end_ns])
            if hi > lo:
                out[symbol] = BarSeries(
                    symbol,
                    series.ts_ns[lo:hi],
                    series.open[lo:hi],
                    series.high[lo:hi],
                    series.low[lo:hi],
                    series.close[lo:hi],
                    series.volume[lo:hi],
                )
        return out


@dataclass(frozen=True, slots=True)
class Split:
    """One fold: fit on ``train``, evaluate on ``test`` (strictly later)."""

    index: int
    train: TimeWindow
    test: TimeWindow


def _timeline(ts_ns: np.ndarray) -> np.ndarray:
    ts = np.asarray(ts_ns, dtype=np.int64)
    if ts.ndim != 1 or ts.shape[0] < 2:
        raise InvalidConfiguration("a split needs a timeline of at least two bars")
    if np.any(ts[1:] <= ts[:-1]):
        raise InvalidConfiguration("a split needs strictly increasing timestamps")
    return ts


def _window(ts: np.ndarray, lo: int, hi: int) -> TimeWindow:
    """Bars ``lo .. hi-1`` of ``ts`` as a time window (ends just after bar ``hi - 1``)."""
    end = int(ts[hi]) if hi < ts.shape[0] else int(ts[-1]) + 1
    return TimeWindow(int(ts[lo]), end, hi - lo)


def _positive(name: str, value: int, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidConfiguration(f"{name} must be an integer >= {minimum}, was {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainTestSplit:
    """The first bars train, the last ``test_fraction`` of them test.

    Attributes:
        test_fraction: the share of bars (after the gap) that test, in (0, 1).
        gap_bars: bars left out between train and test (>= 0).
    """

    test_fraction: float = 0.3
    gap_bars: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.test_fraction < 1:
            raise InvalidConfiguration(f"test_fraction must be in (0, 1), was {self.test_fraction}")
        _positive("gap_bars", self.gap_bars, minimum=0)

    def split(self, ts_ns: np.ndarray) -> Split:
        ts = _timeline(ts_ns)
        n = ts.shape[0]
        test_bars = round(n * self.test_fraction)
        train_bars = n - test_bars - self.gap_bars
        if test_bars < 1 or train_bars < 1:
            raise InvalidConfiguration(
                f"{n} bars cannot hold a train and a test window with a gap of {self.gap_bars}"
            )
        return Split(0, _window(ts, 0, train_bars), _window(ts, n - test_bars, n))


@dataclass(frozen=True, slots=True, kw_only=True)
class WalkForward:
    """Rolling (or anchored) train windows, each followed by a test window.

    Attributes:
        train_bars: bars in each training window (the first one, when anchored).
        test_bars: bars in each test window.
        step_bars: how far each fold moves on; default ``test_bars`` (test windows tile).
        gap_bars: bars left out between a training window and its test window.
        anchored: training windows all start at the first bar (expanding) instead of
            rolling forward.
    """

    train_bars: int
    test_bars: int
    step_bars: int | None = None
    gap_bars: int = 0
    anchored: bool = False

    def __post_init__(self) -> None:
        _positive("train_bars", self.train_bars)
        _positive("test_bars", self.test_bars)
        if self.step_bars is not None:
            _positive("step_bars", self.step_bars)
        _positive("gap_bars", self.gap_bars, minimum=0)

    def splits(self, ts_ns: np.ndarray) -> list[Split]:
        """Every fold that fits entirely on the timeline, oldest first."""
        ts = _timeline(ts_ns)
        n = ts.shape[0]
        step = self.step_bars or self.test_bars
        folds: list[Split] = []
        train_start = 0
        while True:
            train_end = train_start + self.train_bars
            test_start = train_end + self.gap_bars
            test_end = test_start + self.test_bars
            if test_end > n:
                break
            first = 0 if self.anchored else train_start
            folds.append(
                Split(len(folds), _window(ts, first, train_end), _window(ts, test_start, test_end))
            )
            train_start += step
        if not folds:
            raise InvalidConfiguration(
                f"{n} bars are too few for one fold of {self.train_bars} train, "
                f"{self.gap_bars} gap and {self.test_bars} test bars"
            )
        return folds


def stitch_equity(curves: Sequence[np.ndarray], initial_cash: float) -> np.ndarray:
    """Chain out-of-sample equity curves into one, compounding from ``initial_cash``.

    Each curve is one fold's equity, run from its own starting cash ``c`` (its first value
    is the equity after the first bar, so ``c`` is the value *before* it: pass curves run
    from ``initial_cash``). Fold ``k`` is rescaled to start from where fold ``k − 1``
    ended: ``stitched = end_{k-1} × curve_k / initial_cash``, so the stitched curve's
    per-bar returns are the folds' own and its growth is the product of theirs.
    """
    if not math.isfinite(initial_cash) or initial_cash <= 0:
        raise InvalidConfiguration(f"initial cash must be > 0, was {initial_cash!r}")
    pieces: list[np.ndarray] = []
    level = float(initial_cash)
    for curve in curves:
        curve = np.asarray(curve, dtype=np.float64)
        if curve.ndim != 1 or curve.shape[0] == 0:
            raise InvalidConfiguration("every fold's equity curve needs at least one bar")
        piece = curve * (level / initial_cash)
        pieces.append(piece)
        level = float(piece[-1])
    if not pieces:
        return np.zeros(0)
    return np.concatenate(pieces)
