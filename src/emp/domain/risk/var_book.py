"""The VaR side of the exposure book: values, P&L history and its moments, kept cheaply.

The book's P&L vector ``P = R v`` (one number per period of the window, ``R`` the
returns, ``v`` the USD values) is all both methods need:

* historical VaR is an order statistic of ``P``;
* parametric VaR needs ``var(P) = v' Σ v`` (``Σ`` the sample covariance, ddof 1), and the
  change of one symbol's value by ``δ`` gives ``var(P) + 2δ cov(P, R_j) + δ² var(R_j)``,
  where ``cov(P, R_j) = (Σ v)_j``: O(window) from ``P`` and one column, never the ``n × n``
  covariance matrix.

An approved order changes one symbol's value by ``δ``. Changes are queued and applied to
``P`` in one batch when an exact figure is needed (or every ``BATCH`` changes); a new
period of returns (:meth:`VarBook.on_rows`) writes one ring slot of ``P``. Between exact
evaluations two rigorous bounds make most checks O(1):

* historical: every period's P&L moved by at most ``Σ |δ_k| × max_t |r_{t,j_k}|``, so any
  order statistic, hence the historical VaR, moved by at most that (``drift_pnl``);
* parametric: ``σ(v)`` is a seminorm, so ``|σ(v + Δ) - σ(v)| <= Σ |δ_k| σ_{j_k}``
  (``drift_sigma``).

A cap rule passes an order at once when ``last exact value + drift + |δ| × bound_j`` is within
its limit, and computes exactly (flushing the queue) only near the limit. Exact figures
are forgotten when the window moves.
"""

from __future__ import annotations

import math

import numpy as np

from emp.domain.risk.market_risk import MarketRiskModel

BATCH = 4096


class VarBook:
    """Values per model symbol (USD, all working orders filled) and their P&L per period."""

    __slots__ = (
        "_cache",
        "_centred",
        "_max_abs",
        "_pending_index",
        "_pnl",
        "_sigma_v",
        "_stale",
        "_value_list",
        "_values",
        "_vols",
        "drift_pnl",
        "drift_sigma",
        "market",
    )

    def __init__(
        self, market: MarketRiskModel, values: np.ndarray, *, track_variance: bool = False
    ) -> None:
        self.market = market
        self._values = np.array(values, dtype=np.float64)
        self._value_list: list[float] = self._values.tolist()
        self._pnl = np.zeros(market.window)
        self._pnl[: market.observations] = market.returns @ self._values
        self._centred: np.ndarray | None = None
        self._sigma_v: np.ndarray | None = None
        self._pending_index: list[int] = []
        self._stale = False
        self.drift_pnl = 0.0
        self.drift_sigma = 0.0
        self._cache: dict[str, tuple[float, float]] = {}
        self._max_abs: list[float] | None = None
        self._vols: list[float] = []

    def value(self, j: int) -> float:
        """Symbol ``j``'s value now (queued changes included)."""
        return self._value_list[j]

    def apply(self, j: int, value: float) -> None:
        """Set symbol ``j``'s value (queued for the vectors, counted in the drifts)."""
        values = self._value_list
        delta = value - values[j]
        if delta == 0.0:
            return
        values[j] = value
        if self._cache:  # drifts matter only relative to a remembered exact figure
            self.drift(j, delta)
        pending = self._pending_index
        pending.append(j)
        if len(pending) >= BATCH:
            self._flush()

    def drift(self, j: int, delta: float) -> None:
        """Count a change of ``delta`` in symbol ``j``'s value in the drift bounds."""
        if delta < 0.0:
            delta = -delta
        max_abs = self._max_abs
        if max_abs is None:
            max_abs = self._bounds()
        self.drift_pnl += delta * max_abs[j]
        self.drift_sigma += delta * self._vols[j]

    def _flush(self) -> None:
        """Apply the queued value changes to the values and the P&L vector."""
        if self._stale:
            self._stale = False
            self._pending_index = []
            self._values = np.array(self._value_list)
            self._pnl[: self.market.observations] = self.market.returns @ self._values
            self._centred = None
            self._sigma_v = None
            return
        if not self._pending_index:
            return
        index = np.unique(np.array(self._pending_index, dtype=np.intp))
        self._pending_index = []
        t = self.market.observations
        if index.shape[0] * 4 >= self._values.shape[0]:  # many symbols: one product
            self._values = np.array(self._value_list)
            self._pnl[:t] = self.market.returns @ self._values
        else:
            fresh = np.array([self._value_list[j] for j in index.tolist()])
            delta = fresh - self._values[index]
            self._pnl[:t] += self.market.returns[:, index] @ delta
            self._values[index] = fresh
        self._centred = None
        self._sigma_v = None

    def on_rows(self, slots: tuple[int, ...]) -> None:
        """The market model wrote new periods into ``slots``: their P&L, and no more
        remembered exact figures (the window moved)."""
        if not slots:
            return
        self._stale = True  # recomputed whole (one product) when next needed
        self._centred = None
        self._sigma_v = None
        self._cache.clear()
        self._max_abs = None  # fetched from the model when next needed

    # ----------------------------------------------------------- exact figures
    @property
    def pnl(self) -> np.ndarray:
        """The book's P&L in each period of the window (ring order, as the model's rows)."""
        self._flush()
        return self._pnl[: self.market.observations]

    def _centred_pnl(self) -> np.ndarray:
        self._flush()
        if self._centred is None:
            pnl = self._pnl[: self.market.observations]
            self._centred = pnl - pnl.mean() if pnl.shape[0] else pnl
        return self._centred

    def variance(self) -> float:
        """``v' Σ v``: the sample variance of the P&L (ddof 1; 0 with < 2 periods)."""
        t = self.market.observations
        if t < 2:
            return 0.0
        centred = self._centred_pnl()
        return float(centred @ centred) / (t - 1)

    def covariance_with(self, j: int) -> float:
        """``(Σ v)_j``: the covariance of the book's P&L with symbol ``j``'s returns."""
        t = self.market.observations
        if t < 2:
            return 0.0
        return float(self.market.returns[:, j] @ self._centred_pnl()) / (t - 1)

    def sigma_v(self) -> np.ndarray:
        """``Σ v`` for every symbol (O(window × n); the check path asks one symbol)."""
        t = self.market.observations
        if t < 2:
            return np.zeros(len(self.market.symbols))
        if self._sigma_v is None:
            self._sigma_v = (self.market.returns.T @ self._centred_pnl()) / (t - 1)
        return self._sigma_v

    # ------------------------------------------------------------------ bounds
    def _bounds(self) -> list[float]:
        """The model's per-symbol bounds (largest |return|, volatility), fetched once."""
        self._vols = self.market.volatilities
        self._max_abs = max_abs = self.market.max_abs_returns
        return max_abs

    def per_unit(self, j: int, historical: bool) -> float:
        """How much the one-period figure can move per USD of symbol ``j``."""
        max_abs = self._max_abs
        if max_abs is None:
            max_abs = self._bounds()
        return max_abs[j] if historical else self._vols[j]

    def remember(self, key: tuple[str, float] | str, exact: float) -> None:
        """Record an exact one-period figure (historical VaR, or sigma) of the book now.

        ``key`` is ``(method, confidence)`` or :func:`cache_key` of it."""
        key = cache_key(*key) if isinstance(key, tuple) else key
        drift = self.drift_pnl if key.startswith("historical") else self.drift_sigma
        self._cache[key] = (exact, drift)

    def bound(self, key: tuple[str, float] | str) -> float:
        """An upper bound of the figure ``key`` now (``inf`` until one is remembered)."""
        key = cache_key(*key) if isinstance(key, tuple) else key
        cached = self._cache.get(key)
        if cached is None:
            return math.inf
        exact, at = cached
        drift = self.drift_pnl if key.startswith("historical") else self.drift_sigma
        return exact + (drift - at)

    def knows(self, key: tuple[str, float] | str) -> bool:
        return (cache_key(*key) if isinstance(key, tuple) else key) in self._cache


def cache_key(method: str, confidence: float) -> str:
    """The key of a remembered figure: a string, whose hash Python keeps (a tuple's it
    recomputes on every lookup, and the check path looks up once per VaR rule)."""
    return f"{method}:{confidence!r}"
