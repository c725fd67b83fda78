"""Market regimes: a pluggable classifier protocol and the default realised-vol/trend one.

Pure: a classifier looks at an array of closes (oldest first) and returns a label; the
risk layer uses the label to enable, disable or scale strategies (see
:mod:`emp.domain.risk.regime_gate`).
"""

from __future__ import annotations

import itertools
import math
from typing import Protocol, runtime_checkable

import numpy as np

from emp.domain.errors import InvalidConfiguration

WARMUP = "warmup"
HIGH_VOLATILITY = "high_vol"
TREND_UP = "trend_up"
TREND_DOWN = "trend_down"
RANGE = "range"


@runtime_checkable
class RegimeClassifier(Protocol):
    """Maps a price history to one of ``labels``."""

    labels: tuple[str, ...]

    def classify(self, closes: np.ndarray) -> str: ...


def realised_volatility(closes: np.ndarray, *, periods_per_year: float = 252.0) -> float:
    """Annualised standard deviation of log returns of ``closes`` (NaN with < 3 prices)."""
    prices = np.asarray(closes, dtype=np.float64)
    if prices.shape[0] < 3:
        return math.nan
    returns = np.diff(np.log(prices))
    return float(np.std(returns, ddof=1) * math.sqrt(periods_per_year))


class RealisedVolTrendClassifier:
    """The default classifier, on the last ``window`` returns:

    * ``warmup`` until ``window + 1`` closes are known;
    * ``high_vol`` when annualised realised volatility >= ``high_volatility``;
    * ``trend_up``/``trend_down`` when the window's log return, in units of its own
      volatility (``log(last/first) / (sigma * sqrt(window))``), is beyond
      ``±trend_threshold``;
    * ``range`` otherwise.
    """

    labels: tuple[str, ...] = (WARMUP, HIGH_VOLATILITY, TREND_UP, TREND_DOWN, RANGE)

    def __init__(
        self,
        *,
        window: int = 50,
        high_volatility: float = 0.35,
        trend_threshold: float = 1.0,
        periods_per_year: float = 252.0,
    ) -> None:
        if isinstance(window, bool) or not isinstance(window, int) or window < 2:
            raise InvalidConfiguration(f"regime window must be an integer >= 2, was {window!r}")
        for name, value in (
            ("high_volatility", high_volatility),
            ("trend_threshold", trend_threshold),
            ("periods_per_year", periods_per_year),
        ):
            if not (math.isfinite(value) and value > 0):
                raise InvalidConfiguration(f"{name} must be > 0, was {value!r}")
        self.window = window
        self.high_volatility = high_volatility
        self.trend_threshold = trend_threshold
        self.periods_per_year = periods_per_year

    def classify(self, closes: np.ndarray) -> str:
        prices = np.asarray(closes, dtype=np.float64)
        if prices.shape[0] < self.window + 1:
            return WARMUP
        recent = prices[-(self.window + 1) :]
        returns = np.diff(np.log(recent))
        sigma = float(np.std(returns, ddof=1))
        return self.label(sigma, math.log(float(recent[-1]) / float(recent[0])))

    def label(self, sigma: float, drift: float) -> str:
        """The label of a full window whose log returns have standard deviation ``sigma``
        (per period, ddof 1) and sum ``drift`` (``log(last / first)``)."""
        if sigma * math.sqrt(self.periods_per_year) >= self.high_volatility:
            return HIGH_VOLATILITY
        if sigma == 0.0:
            score = math.copysign(math.inf, drift) if drift != 0 else 0.0
        else:
            score = drift / (sigma * math.sqrt(self.window))
        if score >= self.trend_threshold:
            return TREND_UP
        if score <= -self.trend_threshold:
            return TREND_DOWN
        return RANGE


class RollingLogReturns:
    """The log returns of a window of closes that slides (or grows) one close at a time,
    with rolling sums of the last ``w`` returns for every ``w`` in ``windows``.

    :meth:`update` takes the whole window each time (as a caller naturally holds it) and
    recognises, by exact comparison with the previous one, that one close was appended
    (and the oldest maybe dropped): then it costs O(len(windows)); any other change
    recomputes from the closes. The sums are recomputed exactly every ``RESYNC`` appends.
    """

    RESYNC = 256

    def __init__(self, windows: tuple[int, ...]) -> None:
        if not windows or min(windows) < 1:
            raise InvalidConfiguration(f"expected windows >= 1, was {windows!r}")
        self._windows = tuple(sorted(set(windows)))
        self._closes: list[float] = []
        self._returns: list[float] = []
        self._sums: dict[int, list[float]] = {w: [0.0, 0.0] for w in self._windows}
        self._appends = 0
        self.valid = False

    @property
    def closes(self) -> list[float]:
        return self._closes

    def update(self, closes: np.ndarray) -> None:
        """Take the window of closes now (oldest first)."""
        new = np.asarray(closes, dtype=np.float64).tolist()
        prev = self._closes
        if new == prev:
            return
        n, m = len(new), len(prev)
        slid = m >= 2 and n == m and new[:-1] == prev[1:]
        grew = m >= 1 and n == m + 1 and new[:-1] == prev
        self._closes = new
        if (slid or grew) and self.valid and new[-1] > 0.0 and math.isfinite(new[-1]):
            self._append(math.log(new[-1] / new[-2]), drop=slid)
        else:
            self._reset()

    def _append(self, r: float, *, drop: bool) -> None:
        returns = self._returns
        if drop:  # the oldest return left the window of closes: it leaves every window
            old = returns.pop(0)
            length = len(returns)
            for w, sums in self._sums.items():
                if length < w:  # the popped return was inside window w
                    sums[0] -= old
                    sums[1] -= old * old
        returns.append(r)
        length = len(returns)
        for w, sums in self._sums.items():
            sums[0] += r
            sums[1] += r * r
            if length > w:
                leaving = returns[-w - 1]
                sums[0] -= leaving
                sums[1] -= leaving * leaving
        self._appends += 1
        if self._appends % self.RESYNC == 0:
            self._resum()

    def _reset(self) -> None:
        closes = self._closes
        self.valid = all(c > 0.0 and math.isfinite(c) for c in closes)
        if not self.valid:
            self._returns = []
            return
        self._returns = [math.log(b / a) for a, b in itertools.pairwise(closes)]
        self._resum()

    def _resum(self) -> None:
        for w, sums in self._sums.items():
            tail = self._returns[-w:]
            sums[0] = math.fsum(tail)
            sums[1] = math.fsum(r * r for r in tail)

    def count(self, window: int) -> int:
        """How many returns window ``window`` holds (up to ``window``)."""
        return min(window, len(self._returns))

    def sigma(self, window: int) -> float:
        """The standard deviation (ddof 1) of the last ``window`` returns; NaN below 2."""
        n = self.count(window)
        if n < 2:
            return math.nan
        total, squares = self._sums[window]
        return math.sqrt(max((squares - total * total / n) / (n - 1), 0.0))

    def drift(self, window: int) -> float:
        """``log(last / first)`` over the last ``window + 1`` closes."""
        closes = self._closes
        return math.log(closes[-1] / closes[-(window + 1)])
