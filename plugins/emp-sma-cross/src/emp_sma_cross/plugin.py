"""The plugin module named by the `emp.plugins` entry point."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from emp.app.hookspecs import hookimpl
from emp.domain.bars import BarSeries
from emp.domain.features import FeatureSpec
from emp.domain.strategy import Strategy, StrategySpec
from emp_sma_cross.strategy import SmaCross

DEFAULTS: dict[str, Any] = {"fast": 20, "slow": 50, "allocation": 0.95, "allow_short": False}


def _build(params: Mapping[str, Any]) -> Strategy:
    return SmaCross(
        fast=params["fast"],
        slow=params["slow"],
        allocation=params["allocation"],
        allow_short=params["allow_short"],
    )


def sma_spread(series: BarSeries, fast: int = 20, slow: int = 50) -> np.ndarray:
    """(SMA_fast − SMA_slow) / SMA_slow of closes; NaN until ``slow`` bars exist. Causal."""
    close = series.close
    out = np.full(close.shape[0], np.nan)
    if close.shape[0] < slow:
        return out
    cumsum = np.concatenate(([0.0], np.cumsum(close)))
    sma_slow = (cumsum[slow:] - cumsum[:-slow]) / slow
    sma_fast = (cumsum[slow:] - cumsum[slow - fast : -fast]) / fast
    out[slow - 1 :] = (sma_fast - sma_slow) / sma_slow
    return out


@hookimpl
def emp_register_strategies() -> list[StrategySpec]:
    return [
        StrategySpec(
            name="sma_trend",
            factory=_build,
            description="Long when SMA(fast) > SMA(slow), else flat (or short); next-open fills.",
            parameters=DEFAULTS,
        )
    ]


@hookimpl
def emp_register_features() -> list[FeatureSpec]:
    return [
        FeatureSpec(
            name="sma_spread_20_50",
            compute=sma_spread,
            family="what",
            lookback=50,
            description="(SMA20 − SMA50) / SMA50 of closes",
        )
    ]
