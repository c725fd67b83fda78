"""Market regimes: a pluggable classifier protocol and the default realised-vol/trend one.

Pure: a classifier looks at an array of closes (oldest first) and returns a label; the
risk layer uses the label to enable, disable or scale strategies (see
:mod:`emp.domain.risk.regime_gate`).
"""

from __future__ import annotations

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
        if sigma * math.sqrt(self.periods_per_year) >= self.high_volatility:
            return HIGH_VOLATILITY
        drift = float(np.log(recent[-1] / recent[0]))
        if sigma == 0.0:
            score = math.copysign(math.inf, drift) if drift != 0 else 0.0
        else:
            score = drift / (sigma * math.sqrt(self.window))
        if score >= self.trend_threshold:
            return TREND_UP
        if score <= -self.trend_threshold:
            return TREND_DOWN
        return RANGE
