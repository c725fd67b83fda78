"""Return histories in, betas, covariances and VaR out. The domain holds no data store:
the caller passes the histories as numpy arrays whenever they change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from emp.domain.errors import InvalidConfiguration


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ReturnHistory:
    """Per-period simple returns, oldest row first.

    Attributes:
        symbols: the column names of ``returns``.
        returns: shape ``(T, len(symbols))``; NaN (no price that period) counts as 0.
        benchmark: shape ``(T,)``, the USD benchmark's returns over the same periods; betas
            are measured against it. ``None``: no betas (every symbol then counts as beta 1).
    """

    symbols: tuple[str, ...]
    returns: np.ndarray
    benchmark: np.ndarray | None = None

    def __post_init__(self) -> None:
        returns = np.asarray(self.returns)
        if returns.ndim != 2 or returns.shape[1] != len(self.symbols):
            raise InvalidConfiguration(
                f"returns must have shape (T, {len(self.symbols)}), was {returns.shape}"
            )
        if len(set(self.symbols)) != len(self.symbols):
            raise InvalidConfiguration("return history names a symbol twice")
        if self.benchmark is not None:
            bench = np.asarray(self.benchmark)
            if bench.shape != (returns.shape[0],):
                raise InvalidConfiguration(
                    f"benchmark must have shape ({returns.shape[0]},), was {bench.shape}"
                )


class MarketRiskModel:
    """The last ``window`` periods of a :class:`ReturnHistory`, ready for VaR and beta.

    The covariance matrix is computed on first use only (parametric VaR needs it, the
    historical method does not).
    """

    def __init__(self, history: ReturnHistory, *, window: int = 250) -> None:
        if not isinstance(window, int) or window < 2:
            raise InvalidConfiguration(f"VaR window must be an integer >= 2, was {window!r}")
        data = np.nan_to_num(np.asarray(history.returns, dtype=np.float64)[-window:])
        self.symbols: tuple[str, ...] = tuple(history.symbols)
        self.index: dict[str, int] = {s: i for i, s in enumerate(self.symbols)}
        #: (T, n), column-contiguous so one symbol's history is one cheap slice.
        self.returns: np.ndarray = np.asfortranarray(data)
        self.window = window
        self.observations = int(data.shape[0])
        self._covariance: np.ndarray | None = None
        #: Per symbol: the largest |return| of the window, and the standard deviation
        #: (ddof 1, as the covariance): the per-unit-value bounds of the VaR book's drifts.
        self.max_abs_returns: list[float] = np.abs(data).max(axis=0, initial=0.0).tolist()
        self.volatilities: list[float] = (
            data.std(axis=0, ddof=1).tolist() if self.observations >= 2 else [0.0] * data.shape[1]
        )
        self.betas: dict[str, float] = {}
        if history.benchmark is not None and self.observations >= 2:
            bench = np.nan_to_num(np.asarray(history.benchmark, dtype=np.float64)[-window:])
            centred = bench - bench.mean()
            variance = float(centred @ centred)
            if variance > 0:
                cov = (data - data.mean(axis=0)).T @ centred
                self.betas = {
                    s: float(b) for s, b in zip(self.symbols, cov / variance, strict=True)
                }

    @property
    def covariance(self) -> np.ndarray:
        if self._covariance is None:
            if self.observations < 2:
                self._covariance = np.zeros((len(self.symbols), len(self.symbols)))
            else:
                self._covariance = np.atleast_2d(np.cov(self.returns, rowvar=False))
        return self._covariance

    def beta(self, symbol: str, default: float = 1.0) -> float:
        return self.betas.get(symbol, default)


def z_score(confidence: float) -> float:
    """The one-sided normal quantile for ``confidence`` (0.99 → 2.326...)."""
    check_confidence(confidence)
    return NormalDist().inv_cdf(confidence)


def check_confidence(confidence: float) -> None:
    if not (isinstance(confidence, float | int) and 0.5 < confidence < 1.0):
        raise InvalidConfiguration(f"VaR confidence must be in (0.5, 1), was {confidence!r}")


def tail_index(observations: int, confidence: float) -> int:
    """The index, in ascending order, of the P&L that is the historical VaR: the
    ``ceil(T × (1 - confidence))``-th worst period (100 periods at 99 %: the worst one)."""
    return max(0, math.ceil(observations * (1.0 - confidence) - 1e-9) - 1)


def historical_var(pnl: np.ndarray, confidence: float, horizon: int = 1) -> float:
    """The loss not exceeded with ``confidence`` over the periods of ``pnl`` (>= 0).

    Empirical quantile of the P&L a portfolio would have had over the window, scaled by
    ``sqrt(horizon)`` for multi-period horizons.
    """
    if pnl.shape[0] == 0:
        return 0.0
    k = tail_index(pnl.shape[0], confidence)
    loss = -float(np.partition(pnl, k)[k])
    return max(loss, 0.0) * math.sqrt(horizon)


def parametric_var(variance: float, confidence: float, horizon: int = 1) -> float:
    """Zero-mean normal VaR: ``z * sigma * sqrt(horizon)``."""
    return z_score(confidence) * math.sqrt(max(variance, 0.0) * horizon)
