"""Series a backtest report plots and tabulates, computed from its equity curve and bars.

Pure numpy, causal where it matters (regime detection at bar t sees closes up to t only):

- rolling Sharpe: the Sharpe ratio (see :mod:`emp.domain.performance`) of the last
  ``window`` per-bar returns, at every bar (NaN until ``window`` returns exist);
- monthly returns: equity at the last bar of a month / equity at the last bar of the
  previous month − 1 (the first month is measured from the first bar);
- regime breakdown: per regime label, its bars, time share (bars / all bars) and PnL (the
  sum of ``E_t − E_{t−1}`` over the bars ``t`` carrying that label);
- detected regimes: :class:`~emp.domain.regime.RealisedVolTrendClassifier`'s rule, applied
  vectorised at every bar;
- PnL attribution into cross / post / hold / fees (:func:`pnl_attribution`);
- policy regret against perfect-hindsight oracles (:func:`policy_regret`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emp.domain.regime import HIGH_VOLATILITY, RANGE, TREND_DOWN, TREND_UP, WARMUP


def _returns(equity: np.ndarray) -> np.ndarray:
    equity = np.asarray(equity, dtype=np.float64)
    return equity[1:] / equity[:-1] - 1.0 if equity.shape[0] > 1 else np.zeros(0)


def rolling_sharpe(equity: np.ndarray, window: int, periods_per_year: float) -> np.ndarray:
    """One value per bar: the annualised Sharpe of the ``window`` returns ending there."""
    if window < 2:
        raise ValueError(f"rolling window must be >= 2, was {window}")
    equity = np.asarray(equity, dtype=np.float64)
    out = np.full(equity.shape[0], np.nan)
    returns = _returns(equity)
    if returns.shape[0] < window:
        return out
    # O(n) running sums of returns centred on their overall mean (keeps the variance exact
    # enough for any window, and memory flat whatever the window)
    centred = returns - returns.mean()
    first = np.concatenate(([0.0], np.cumsum(centred)))
    second = np.concatenate(([0.0], np.cumsum(centred * centred)))
    total = first[window:] - first[:-window]
    squares = second[window:] - second[:-window]
    mean = total / window
    variance = np.maximum((squares - total * mean) / (window - 1), 0.0)
    std = np.sqrt(variance)
    mean += returns.mean()
    dispersed = std > 1e-12 * np.maximum(1.0, np.abs(mean))
    sharpe = np.divide(mean, std, out=np.zeros_like(mean), where=dispersed)
    out[window:] = sharpe * math.sqrt(periods_per_year)
    return out


@dataclass(frozen=True, slots=True)
class MonthlyReturns:
    """Calendar-month returns as a years × 12 table (NaN where a month has no bar)."""

    years: tuple[int, ...]
    table: np.ndarray  # shape (len(years), 12)

    def as_dict(self) -> dict[str, list[float | None]]:
        return {
            str(year): [None if math.isnan(v) else float(v) for v in row]
            for year, row in zip(self.years, self.table, strict=True)
        }


def monthly_returns(ts_ns: np.ndarray, equity: np.ndarray) -> MonthlyReturns:
    ts = np.asarray(ts_ns, dtype=np.int64)
    equity = np.asarray(equity, dtype=np.float64)
    if ts.shape[0] == 0:
        return MonthlyReturns((), np.zeros((0, 12)))
    months = ts.astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64)  # since 1970
    last_of_month = np.flatnonzero(np.append(months[1:] != months[:-1], True))
    ends = equity[last_of_month]
    starts = np.concatenate(([equity[0]], ends[:-1]))
    values = ends / starts - 1.0
    month_ids = months[last_of_month]
    first_year = int(month_ids[0] // 12)
    last_year = int(month_ids[-1] // 12)
    table = np.full((last_year - first_year + 1, 12), np.nan)
    table[month_ids // 12 - first_year, month_ids % 12] = values
    years = tuple(1970 + y for y in range(first_year, last_year + 1))
    return MonthlyReturns(years, table)


def regime_breakdown(equity: np.ndarray, labels: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per label (sorted): ``bars``, ``time_share`` and ``pnl`` (see the module doc)."""
    equity = np.asarray(equity, dtype=np.float64)
    if len(labels) != equity.shape[0]:
        raise ValueError(
            f"expected one regime label per bar ({equity.shape[0]}), was {len(labels)}"
        )
    names = np.asarray(labels, dtype=object)
    pnl = np.concatenate(([0.0], np.diff(equity)))
    total = max(1, equity.shape[0])
    out: dict[str, dict[str, float]] = {}
    for name in sorted(set(labels)):
        mask = names == name
        bars = int(np.count_nonzero(mask))
        out[name] = {
            "bars": bars,
            "time_share": bars / total,
            "pnl": math.fsum(pnl[mask].tolist()),
        }
    return out


def detect_regimes(
    closes: np.ndarray,
    *,
    window: int = 50,
    high_volatility: float = 0.35,
    trend_threshold: float = 1.0,
    periods_per_year: float = 252.0,
) -> list[str]:
    """The realised-volatility/trend regime at every bar, from closes up to that bar."""
    prices = np.asarray(closes, dtype=np.float64)
    n = prices.shape[0]
    labels = np.full(n, WARMUP, dtype=object)
    if n < window + 1 or window < 2:
        return labels.tolist()
    logs = np.log(prices)
    returns = np.diff(logs)
    sigma = np.empty(n - window)
    block = max(1, 2_000_000 // window)  # bound the sliding-window memory
    for start in range(0, n - window, block):
        stop = min(start + block, n - window)
        windows = np.lib.stride_tricks.sliding_window_view(
            returns[start : stop + window - 1], window
        )
        sigma[start:stop] = windows.std(axis=1, ddof=1)
    drift = logs[window:] - logs[:-window]
    with np.errstate(divide="ignore", invalid="ignore"):
        score = drift / (sigma * math.sqrt(window))
    flat = np.where(drift > 0, np.inf, np.where(drift < 0, -np.inf, 0.0))
    score = np.where(sigma == 0.0, flat, score)
    out = np.full(n - window, RANGE, dtype=object)
    out[score >= trend_threshold] = TREND_UP
    out[score <= -trend_threshold] = TREND_DOWN
    out[sigma * math.sqrt(periods_per_year) >= high_volatility] = HIGH_VOLATILITY
    labels[window:] = out
    return labels.tolist()


def pnl_attribution(
    fills: Sequence[tuple[float, float, bool]],
    impact: float,
    total_pnl: float,
    fees: float,
    mids: Sequence[float | None] | None = None,
) -> dict[str, float]:
    """Split a run's PnL into cross, post, hold and fees.

    ``fills`` are ``(signed quantity, price, aggressive)``. Each fill's edge is
    ``signed quantity × (mid − price)``, counted as ``cross`` for an aggressive fill and
    ``post`` for a passive one. The mid: ``mids[i]`` when known (a book-driven venue
    reports the displayed book's mid when the fill happened); otherwise, at bar
    resolution, ``price / (1 ± impact)`` for an aggressive fill (``impact`` is the fraction
    a MARKET fill pays away from the mid: slippage + half spread; a cost ≤ 0) and the
    fill's own price for a passive one (edge 0). ``hold`` is what the inventory earned at
    mids: ``total − cross − post + fees``.
    """
    cross = post = 0.0
    for i, (quantity, price, aggressive) in enumerate(fills):
        mid = mids[i] if mids is not None else None
        if mid is None:
            if not aggressive:
                continue
            mid = price / (1.0 + impact) if quantity > 0 else price / (1.0 - impact)
        if aggressive:
            cross += quantity * (mid - price)
        else:
            post += quantity * (mid - price)
    return {
        "cross": cross,
        "post": post,
        "hold": total_pnl - cross - post + fees,
        "fees": -fees,
        "total": total_pnl,
    }


def policy_regret(
    closes: np.ndarray, initial_equity: float, final_equity: float
) -> dict[str, float]:
    """The run against a perfect-hindsight oracle on the same closes.

    The oracles are frictionless and fully invested close to close: long-only holds the
    symbol over every bar that rises (growth ``Π (1 + max(r_t, 0))``), long-short is on the
    right side of every bar (``Π (1 + |r_t|)``). Regret is the oracle's final equity minus
    the run's, and the difference of log growth rates.
    """
    prices = np.asarray(closes, dtype=np.float64)
    returns = prices[1:] / prices[:-1] - 1.0 if prices.shape[0] > 1 else np.zeros(0)
    long_only = float(np.sum(np.log1p(np.maximum(returns, 0.0))))
    long_short = float(np.sum(np.log1p(np.abs(returns))))
    achieved = math.log(final_equity / initial_equity) if final_equity > 0 else -math.inf
    out: dict[str, float] = {}
    for name, log_growth in (("long_only", long_only), ("long_short", long_short)):
        oracle = initial_equity * math.exp(log_growth) if log_growth < 700 else math.inf
        out[f"oracle_{name}_final_equity"] = oracle
        out[f"regret_{name}"] = oracle - final_equity
        out[f"log_regret_{name}"] = log_growth - achieved
    return out
