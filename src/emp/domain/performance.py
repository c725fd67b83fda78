"""Performance statistics of an equity curve. Pure numpy; every definition is written here.

- total_return: final / initial equity − 1.
- cagr: (final / initial) ** (1 / years) − 1, years = (bars − 1) / periods_per_year.
- volatility: standard deviation (ddof=1) of per-bar simple returns × √periods_per_year.
- sharpe: mean / standard deviation (ddof=1) of per-bar simple returns × √periods_per_year,
  risk-free rate 0; 0.0 when returns have no dispersion.
- max_drawdown: the most negative equity / running-peak − 1 (a number ≤ 0).
- exposure: mean over bars of gross exposure / equity.
- trades, win_rate: closed round trips, and the fraction of them with PnL > 0 net of fees
  (``None`` when no trade closed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from emp.domain.trades import ClosedTrade

_NS_PER_DAY = 86_400 * 1_000_000_000
TRADING_DAYS_PER_YEAR = 252


def infer_periods_per_year(ts_ns: np.ndarray) -> float:
    """252 for daily (or coarser) bars; scaled by bars per 6.5-hour session when intraday."""
    if ts_ns.shape[0] < 2:
        return float(TRADING_DAYS_PER_YEAR)
    step = float(np.median(np.diff(ts_ns)))
    if step >= 0.8 * _NS_PER_DAY:
        # daily bars: trading days; weekly/monthly: calendar periods per year
        return 365.25 * _NS_PER_DAY / step if step > 3 * _NS_PER_DAY else 252.0
    session_ns = 6.5 * 3600 * 1e9
    return TRADING_DAYS_PER_YEAR * max(1.0, session_ns / step)


def drawdown_series(equity: np.ndarray) -> np.ndarray:
    peak = np.maximum.accumulate(equity)
    return equity / peak - 1.0


@dataclass(frozen=True, slots=True)
class PerformanceSummary:
    initial_equity: float
    final_equity: float
    total_return: float
    cagr: float
    volatility: float
    sharpe: float
    max_drawdown: float
    exposure: float
    trades: int
    win_rate: float | None
    fees: float
    bars: int

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def summarize(
    equity: np.ndarray,
    gross_exposure: np.ndarray,
    trades: Sequence[ClosedTrade],
    fees: float,
    periods_per_year: float = TRADING_DAYS_PER_YEAR,
) -> PerformanceSummary:
    equity = np.asarray(equity, dtype=np.float64)
    if equity.ndim != 1 or equity.shape[0] == 0:
        raise ValueError("equity curve must be a non-empty 1-d array")
    n = equity.shape[0]
    initial, final = float(equity[0]), float(equity[-1])
    total_return = final / initial - 1.0
    years = (n - 1) / periods_per_year
    growth = final / initial
    if years <= 0:
        cagr = 0.0
    else:
        cagr = growth ** (1.0 / years) - 1.0 if growth > 0 else -1.0
    returns = equity[1:] / equity[:-1] - 1.0 if n > 1 else np.zeros(0)
    if returns.shape[0] > 1:
        std = float(np.std(returns, ddof=1))
        mean = float(np.mean(returns))
        volatility = std * math.sqrt(periods_per_year)
        # float noise on constant returns is not dispersion
        dispersed = std > 1e-12 * max(1.0, abs(mean))
        sharpe = mean / std * math.sqrt(periods_per_year) if dispersed else 0.0
    else:
        volatility, sharpe = 0.0, 0.0
    exposure_ratio = np.divide(
        np.asarray(gross_exposure, dtype=np.float64),
        equity,
        out=np.zeros_like(equity),
        where=equity > 0,
    )
    closed = len(trades)
    wins = sum(1 for t in trades if t.is_win)
    return PerformanceSummary(
        initial_equity=initial,
        final_equity=final,
        total_return=total_return,
        cagr=cagr,
        volatility=volatility,
        sharpe=sharpe,
        max_drawdown=float(np.min(drawdown_series(equity))),
        exposure=float(np.mean(exposure_ratio)),
        trades=closed,
        win_rate=(wins / closed) if closed else None,
        fees=float(fees),
        bars=n,
    )
