"""The VaR side of the exposure book: values, P&L history and ``Σ v``, kept cheaply.

An approved order changes one symbol's value by ``δ``. Applying that to the P&L vector
(``T`` numbers) and to ``Σ v`` (``n`` numbers) on every order would cost two numpy calls per
order, so changes are queued and applied in one batch when an exact figure is needed (or
every ``BATCH`` changes). Between exact evaluations two rigorous bounds make most checks
O(1):

* historical: every period's P&L moved by at most ``Σ |δ_k| × max_t |r_{t,j_k}|``, so any
  order statistic, hence the historical VaR, moved by at most that (``drift_pnl``);
* parametric: ``σ(v)`` is a seminorm, so ``|σ(v + Δ) - σ(v)| <= Σ |δ_k| σ_{j_k}``
  (``drift_sigma``).

A cap rule passes an order at once when ``last exact value + drift + |δ| × bound_j`` is within
its limit, and computes exactly (flushing the queue) only near the limit.
"""

from __future__ import annotations

import math

import numpy as np

from emp.domain.risk.market_risk import MarketRiskModel

BATCH = 4096


class VarBook:
    """Values per model symbol (USD, all working orders filled), their P&L and ``Σ v``."""

    __slots__ = (
        "_cache",
        "_pending_delta",
        "_pending_index",
        "_pnl",
        "_sigma_v",
        "_value_list",
        "_values",
        "_variance",
        "drift_pnl",
        "drift_sigma",
        "market",
    )

    def __init__(self, market: MarketRiskModel, values: np.ndarray, *, track_variance: bool):
        self.market = market
        self._values = values
        self._value_list: list[float] = values.tolist()
        self._pnl = market.returns @ values
        self._sigma_v: np.ndarray | None = None
        self._variance = 0.0
        self._pending_index: list[int] = []
        self._pending_delta: list[float] = []
        self.drift_pnl = 0.0
        self.drift_sigma = 0.0
        self._cache: dict[tuple[str, float], tuple[float, float]] = {}
        if track_variance:
            self.sigma_v()

    def value(self, j: int) -> float:
        """Symbol ``j``'s value now (queued changes included)."""
        return self._value_list[j]

    def apply(self, j: int, value: float) -> None:
        """Set symbol ``j``'s value (queued for the vectors, counted in the drifts)."""
        delta = value - self._value_list[j]
        if delta == 0.0:
            return
        self._value_list[j] = value
        self._pending_index.append(j)
        self._pending_delta.append(delta)
        self.drift_pnl += abs(delta) * self.market.max_abs_returns[j]
        self.drift_sigma += abs(delta) * self.market.volatilities[j]
        if len(self._pending_index) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._pending_index:
            return
        index = np.array(self._pending_index, dtype=np.intp)
        delta = np.array(self._pending_delta)
        self._pending_index = []
        self._pending_delta = []
        self._pnl = self._pnl + self.market.returns[:, index] @ delta
        if self._sigma_v is not None:
            cov = self.market.covariance
            self._variance += 2.0 * float(delta @ self._sigma_v[index]) + float(
                delta @ cov[np.ix_(index, index)] @ delta
            )
            self._sigma_v = self._sigma_v + cov[:, index] @ delta
        np.add.at(self._values, index, delta)

    # ----------------------------------------------------------- exact figures
    @property
    def pnl(self) -> np.ndarray:
        self._flush()
        return self._pnl

    def sigma_v(self) -> np.ndarray:
        self._flush()
        if self._sigma_v is None:
            self._sigma_v = self.market.covariance @ self._values
            self._variance = float(self._values @ self._sigma_v)
        return self._sigma_v

    def variance(self) -> float:
        self.sigma_v()
        return self._variance

    # ------------------------------------------------------------------ bounds
    def remember(self, key: tuple[str, float], exact: float) -> None:
        """Record an exact one-period figure (historical VaR, or sigma) of the book now."""
        drift = self.drift_pnl if key[0] == "historical" else self.drift_sigma
        self._cache[key] = (exact, drift)

    def bound(self, key: tuple[str, float]) -> float:
        """An upper bound of the figure ``key`` now (``inf`` until one is remembered)."""
        cached = self._cache.get(key)
        if cached is None:
            return math.inf
        exact, at = cached
        drift = self.drift_pnl if key[0] == "historical" else self.drift_sigma
        return exact + (drift - at)
