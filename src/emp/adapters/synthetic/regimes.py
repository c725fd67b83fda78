"""The hidden market regimes of the synthetic generator and the Markov chain that visits them.

Drifts and volatilities are annual (252 trading days). The transition matrix is sticky: a
regime lasts on average ``1 / (1 - p_stay)`` days (about 67 days of bull market, 10 of
crisis), and a crisis is mostly entered from a bear market.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TRADING_DAYS = 252


@dataclass(frozen=True, slots=True)
class Regime:
    """One market regime: its name, annual drift and volatility, and volume multiplier."""

    name: str
    annual_drift: float
    annual_volatility: float
    volume_factor: float


REGIMES: tuple[Regime, ...] = (
    Regime("bull", annual_drift=0.18, annual_volatility=0.12, volume_factor=1.0),
    Regime("sideways", annual_drift=0.02, annual_volatility=0.10, volume_factor=0.9),
    Regime("bear", annual_drift=-0.20, annual_volatility=0.25, volume_factor=1.3),
    Regime("crisis", annual_drift=-0.60, annual_volatility=0.55, volume_factor=2.2),
)

#: ``TRANSITIONS[i, j]``: probability that tomorrow is regime ``j`` given today is ``i``.
TRANSITIONS = np.array(
    [
        [0.985, 0.010, 0.004, 0.001],
        [0.015, 0.975, 0.009, 0.001],
        [0.010, 0.015, 0.965, 0.010],
        [0.020, 0.020, 0.060, 0.900],
    ]
)

DAILY_DRIFT = np.array([r.annual_drift for r in REGIMES]) / TRADING_DAYS
DAILY_VOLATILITY = np.array([r.annual_volatility for r in REGIMES]) / np.sqrt(TRADING_DAYS)
VOLUME_FACTOR = np.array([r.volume_factor for r in REGIMES])
REGIME_NAMES: tuple[str, ...] = tuple(r.name for r in REGIMES)


def stationary_distribution(transitions: np.ndarray = TRANSITIONS) -> np.ndarray:
    """The long-run share of days in each regime (left eigenvector for eigenvalue 1)."""
    values, vectors = np.linalg.eig(transitions.T)
    vector = np.real(vectors[:, int(np.argmin(np.abs(values - 1.0)))])
    return vector / vector.sum()


def simulate_regimes(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` regime indices (int64): the first drawn from the stationary distribution."""
    uniforms = rng.random(n)
    cumulative = np.cumsum(TRANSITIONS, axis=1)
    last = len(REGIMES) - 1
    states = np.empty(n, dtype=np.int64)
    state = min(int(np.searchsorted(np.cumsum(stationary_distribution()), uniforms[0])), last)
    states[0] = state
    for t in range(1, n):
        state = min(int(np.searchsorted(cumulative[state], uniforms[t], side="right")), last)
        states[t] = state
    return states
