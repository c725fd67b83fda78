"""Series, causal features and next-bar targets for the signal models (numpy only).

``regime_ar_returns`` is a test bed with something to learn: a regime-switching AR(1)
process (trending, mean-reverting, calm regimes) on top of a slowly moving latent drift
(the long-memory component). Real or generated bars go through ``bar_features``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from emp.adapters.torch_ssd.config import InvalidModelConfig
from emp.ports.signal_model import SignalModelError

#: (AR coefficient, noise scale) of the trending, mean-reverting and calm regimes.
AR_REGIMES: tuple[tuple[float, float], ...] = ((0.45, 1.0), (-0.45, 1.3), (0.05, 0.6))
#: Probability of staying in the current regime from one bar to the next.
AR_STAY = 0.99
#: Persistence and long-run scale (in units of the bar noise) of the latent drift.
DRIFT_PERSISTENCE = 0.995
DRIFT_SCALE = 0.35
#: Size of one unit of the process as a log return.
RETURN_UNIT = 0.01


def regime_ar_returns(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` log returns and the hidden regime of each bar, from ``seed`` alone.

    r_t = μ_t + φ_s (r_{t-1} - μ_{t-1}) + σ_s ε_t, with s the Markov regime and
    μ_t = ρ μ_{t-1} + sqrt(1 - ρ²) · scale · η_t a slow latent drift (ρ = 0.995).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise InvalidModelConfig(f"n must be an integer >= 2, was {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidModelConfig(f"seed must be an integer >= 0, was {seed!r}")
    rng = np.random.default_rng(seed)
    k = len(AR_REGIMES)
    switch = rng.random(n) > AR_STAY
    jumps = rng.integers(1, k, size=n)
    noise = rng.standard_normal(n)
    drift_noise = rng.standard_normal(n)
    regimes = np.empty(n, dtype=np.int64)
    returns = np.empty(n)
    drift_step = math.sqrt(1.0 - DRIFT_PERSISTENCE**2) * DRIFT_SCALE
    regime = int(rng.integers(0, k))
    mu = DRIFT_SCALE * float(rng.standard_normal())
    previous_mu, previous_r = mu, mu
    for t in range(n):
        if switch[t]:
            regime = (regime + int(jumps[t])) % k
        phi, sigma = AR_REGIMES[regime]
        mu = DRIFT_PERSISTENCE * mu + drift_step * drift_noise[t]
        r = mu + phi * (previous_r - previous_mu) + sigma * noise[t]
        regimes[t], returns[t] = regime, r
        previous_mu, previous_r = mu, r
    return returns * RETURN_UNIT, regimes


def return_features(returns: np.ndarray) -> np.ndarray:
    """(T, 2) causal features of a return series: the return and its absolute value."""
    r = _finite_1d("returns", returns)
    return np.stack([r, np.abs(r)], axis=1)


def bar_features(
    close: np.ndarray, high: np.ndarray, low: np.ndarray, volume: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Causal features of bars and the log returns they are aligned with.

    Returns (features (T-1, 3), returns (T-1,)): row t describes bar t+1 with its
    close-to-close log return, its log high/low range and its log volume change.
    """
    close, high, low, volume = (
        _finite_1d(name, a)
        for name, a in (("close", close), ("high", high), ("low", low), ("volume", volume))
    )
    if not len(close) == len(high) == len(low) == len(volume) >= 3:
        raise SignalModelError(
            "expected close, high, low and volume of one equal length >= 3, was "
            f"{len(close)}, {len(high)}, {len(low)}, {len(volume)}"
        )
    returns = np.diff(np.log(close))
    span = np.log(high[1:] / low[1:])
    volume_change = np.diff(np.log(np.maximum(volume, 1.0)))
    return np.stack([returns, span, volume_change], axis=1), returns


def next_bar_targets(features: np.ndarray, returns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (features at t, return of bar t+1): drops the last feature row, first return."""
    if features.ndim != 2 or features.shape[0] != returns.shape[0] or returns.shape[0] < 2:
        raise SignalModelError(
            f"expected features (T, F) and returns (T,) with one T >= 2, was "
            f"{features.shape} and {returns.shape}"
        )
    return features[:-1], returns[1:]


def data_hash(features: np.ndarray, targets: np.ndarray) -> str:
    """sha256 over the shapes and float64 bytes of the features and targets."""
    digest = hashlib.sha256()
    for array in (features, targets):
        a = np.ascontiguousarray(array, dtype=np.float64)
        digest.update(repr(a.shape).encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Normalization:
    """Per-feature mean and scale, and the target scale, fitted on training rows only."""

    feature_mean: np.ndarray
    feature_scale: np.ndarray
    target_scale: float

    @classmethod
    def fit(cls, features: np.ndarray, targets: np.ndarray) -> Normalization:
        if features.shape[0] < 2:
            raise SignalModelError(
                f"expected at least 2 training rows to fit a normalization, was {features.shape[0]}"
            )
        scale = features.std(axis=0)
        target_scale = float(targets.std())
        return cls(
            feature_mean=features.mean(axis=0),
            feature_scale=np.where(scale > 1e-12, scale, 1.0),
            target_scale=target_scale if target_scale > 1e-12 else 1.0,
        )

    def features(self, features: np.ndarray) -> np.ndarray:
        return (features - self.feature_mean) / self.feature_scale

    def to_dict(self) -> dict[str, object]:
        return {
            "feature_mean": [float(v) for v in self.feature_mean],
            "feature_scale": [float(v) for v in self.feature_scale],
            "target_scale": self.target_scale,
        }

    @classmethod
    def from_dict(cls, values: dict) -> Normalization:
        return cls(
            feature_mean=np.asarray(values["feature_mean"], dtype=np.float64),
            feature_scale=np.asarray(values["feature_scale"], dtype=np.float64),
            target_scale=float(values["target_scale"]),
        )


def _finite_1d(name: str, values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise SignalModelError(f"expected {name} as a 1-d array, was shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise SignalModelError(f"expected finite {name}, found NaN or infinity")
    return array
