"""Performance statistics of an equity curve. Pure numpy; every definition is written here.

Per-bar simple returns are ``r_t = E_t / E_{t-1} − 1`` for an equity curve ``E_0..E_{n-1}``;
``P`` is the number of bars per year (:func:`infer_periods_per_year`).

- total_return: final / initial equity − 1.
- cagr: the annualised return, (final / initial) ** (1 / years) − 1, years = (bars − 1) / P.
- volatility: the annualised volatility, standard deviation (ddof=1) of r_t × √P.
- sharpe: mean / standard deviation (ddof=1) of r_t × √P, risk-free rate 0; 0.0 when
  returns have no dispersion.
- sortino: mean of r_t / downside deviation × √P, where downside deviation =
  √(mean over all bars of min(r_t, 0)²) (target 0); ``None`` when no bar lost.
- max_drawdown: the most negative equity / running-peak − 1 (a number ≤ 0).
- calmar: cagr / |max_drawdown|; ``None`` when there was no drawdown.
- max_drawdown_bars: the longest stretch, in bars, from an equity peak until equity is
  back at that peak (or the last bar, if it never is).
- max_drawdown_days: the same stretch in calendar days (timestamps of peak and recovery).
- exposure: mean over bars of gross exposure / equity.
- time_in_market: the fraction of bars with a non-zero gross exposure.
- turnover: total traded notional (sum of |quantity × price| over fills) / mean equity,
  per year (÷ years; the whole-run figure when the run is shorter than one bar).
- trades, win_rate: closed round trips, and the fraction of them with PnL > 0 net of fees
  (``None`` when no trade closed).
- profit_factor: the sum of winning trades' PnL / |the sum of losing trades' PnL|
  (``None`` when no trade lost).
- fees: every commission paid.
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


#: Curves spaced closer than this (median) are event-time curves (book data), not bars.
EVENT_TIME_STEP_NS = 1_000_000_000


def sampled_each(
    ts_ns: np.ndarray, columns: Sequence[np.ndarray], step_ns: int = EVENT_TIME_STEP_NS
) -> tuple[np.ndarray, list[np.ndarray]]:
    """``columns`` on a clock: at ``ts_ns[0], ts_ns[0] + step_ns, …`` up to ``ts_ns[-1]``, the
    last value at or before each tick (an event-time equity curve read once a second)."""
    grid = np.arange(int(ts_ns[0]), int(ts_ns[-1]) + 1, int(step_ns), dtype=np.int64)
    if grid[-1] != ts_ns[-1]:
        grid = np.append(grid, ts_ns[-1])  # the curve's last value always counts
    at = np.searchsorted(ts_ns, grid, side="right") - 1
    return grid, [np.asarray(c)[at] for c in columns]


def is_event_time(ts_ns: np.ndarray) -> bool:
    """The median spacing is below :data:`EVENT_TIME_STEP_NS` (book updates, not bars)."""
    return ts_ns.shape[0] > 1 and float(np.median(np.diff(ts_ns))) < EVENT_TIME_STEP_NS


def drawdown_series(equity: np.ndarray) -> np.ndarray:
    peak = np.maximum.accumulate(equity)
    return equity / peak - 1.0


def longest_drawdown(equity: np.ndarray) -> tuple[int, int]:
    """``(peak index, recovery index)`` of the longest peak-to-recovery stretch.

    Recovery is the first later bar at or above the peak, or the last bar if equity never
    gets back. ``(0, 0)`` for a curve that never falls below its running peak.
    """
    equity = np.asarray(equity, dtype=np.float64)
    n = equity.shape[0]
    if n < 2:
        return 0, 0
    peak = np.maximum.accumulate(equity)
    at_peak = np.flatnonzero(equity >= peak)  # bars that are (new) highs; bar 0 always is
    ends = np.append(at_peak[1:], n - 1)
    lengths = ends - at_peak
    # a stretch is under water if a bar lies strictly inside it, or it ends below its peak
    under_water = (lengths >= 2) | (equity[ends] < equity[at_peak])
    durations = np.where(under_water, lengths, 0)
    best = int(np.argmax(durations))
    if durations[best] == 0:
        return 0, 0
    return int(at_peak[best]), int(ends[best])


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
    sortino: float | None = None
    calmar: float | None = None
    max_drawdown_bars: int = 0
    max_drawdown_days: float | None = None
    time_in_market: float = 0.0
    turnover: float = 0.0
    profit_factor: float | None = None

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def _ratios(returns: np.ndarray, periods_per_year: float) -> tuple[float, float, float | None]:
    """Annualised volatility, Sharpe and Sortino of per-bar returns."""
    if returns.shape[0] < 2:
        return 0.0, 0.0, None
    std = float(np.std(returns, ddof=1))
    mean = float(np.mean(returns))
    volatility = std * math.sqrt(periods_per_year)
    # float noise on constant returns is not dispersion
    dispersed = std > 1e-12 * max(1.0, abs(mean))
    sharpe = mean / std * math.sqrt(periods_per_year) if dispersed else 0.0
    losses = np.minimum(returns, 0.0)
    downside = math.sqrt(float(np.mean(losses * losses)))
    sortino = mean / downside * math.sqrt(periods_per_year) if downside > 0 else None
    return volatility, sharpe, sortino


def _profit_factor(trades: Sequence[ClosedTrade]) -> float | None:
    gains = math.fsum(t.pnl for t in trades if t.pnl > 0)
    losses = math.fsum(-t.pnl for t in trades if t.pnl < 0)
    return gains / losses if losses > 0 else None


def summarize(
    equity: np.ndarray,
    gross_exposure: np.ndarray,
    trades: Sequence[ClosedTrade],
    fees: float,
    periods_per_year: float = TRADING_DAYS_PER_YEAR,
    *,
    traded_notional: float = 0.0,
    ts_ns: np.ndarray | None = None,
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
    volatility, sharpe, sortino = _ratios(returns, periods_per_year)
    gross = np.asarray(gross_exposure, dtype=np.float64)
    exposure_ratio = np.divide(gross, equity, out=np.zeros_like(equity), where=equity > 0)
    max_drawdown = float(np.min(drawdown_series(equity)))
    peak_at, recovered_at = longest_drawdown(equity)
    drawdown_days = None
    if ts_ns is not None and len(ts_ns) == n:
        drawdown_days = (int(ts_ns[recovered_at]) - int(ts_ns[peak_at])) / _NS_PER_DAY
    mean_equity = float(np.mean(equity))
    turnover = traded_notional / mean_equity if mean_equity > 0 else 0.0
    if years >= 1.0 / periods_per_year:
        turnover /= years
    closed = len(trades)
    wins = sum(1 for t in trades if t.is_win)
    return PerformanceSummary(
        initial_equity=initial,
        final_equity=final,
        total_return=total_return,
        cagr=cagr,
        volatility=volatility,
        sharpe=sharpe,
        max_drawdown=max_drawdown,
        exposure=float(np.mean(exposure_ratio)),
        trades=closed,
        win_rate=(wins / closed) if closed else None,
        fees=float(fees),
        bars=n,
        sortino=sortino,
        calmar=cagr / -max_drawdown if max_drawdown < 0 else None,
        max_drawdown_bars=recovered_at - peak_at,
        max_drawdown_days=drawdown_days,
        time_in_market=float(np.mean(gross > 0)) if gross.shape == equity.shape else 0.0,
        turnover=turnover,
        profit_factor=_profit_factor(trades),
    )
