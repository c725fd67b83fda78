"""SignalModelPort: a learned model that turns features into signals (the SSD model later).

The domain never imports torch: it sees numpy arrays through this port.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from emp.domain.errors import EmpError


class SignalModelError(EmpError):
    """The model cannot produce a signal (bad input shape, missing checkpoint, ...)."""


@runtime_checkable
class SignalModelPort(Protocol):
    def predict(self, features: np.ndarray) -> np.ndarray:
        """Signals for a (time, features) array, causal: row t uses rows <= t only."""
        ...

    def reset(self) -> None:
        """Forget streaming state (start of a new series)."""
        ...
