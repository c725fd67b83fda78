"""How a feature is described and registered (by EMP itself or by plugins)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from emp.domain.bars import BarSeries


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureSpec:
    """A causal feature: ``compute(series)[t]`` may use bars ``0..t`` only.

    ``lookback`` is the number of bars needed before the value is defined (earlier values
    are NaN). ``family`` is one of the sensory dimensions: why, what, how, when, anomaly.
    """

    name: str
    compute: Callable[[BarSeries], np.ndarray]
    family: str = "what"
    lookback: int = 0
    description: str = ""
