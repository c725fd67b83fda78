"""ScreeningKernelPort: a compiled backend for the screening path's built-in strategies."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from emp.domain.screening import ScreeningCosts, ScreenResult


@runtime_checkable
class ScreeningKernelPort(Protocol):
    """Runs ``sma_cross`` on one symbol exactly as :func:`emp.domain.screening.screen_sma_cross`.

    Same arguments, same meaning, same :class:`ScreenResult` — fills, prices, fees, final
    equity and (with ``curve``) the per-bar equity and gross exposure, bit for bit: the
    numpy function in the domain is the reference, and a parity test holds every kernel to
    it. Invalid arguments raise :class:`~emp.domain.errors.InvalidConfiguration`.
    """

    name: str

    def sma_cross(
        self,
        open_: np.ndarray,
        close: np.ndarray,
        *,
        fast: int,
        slow: int,
        mode: str = "long_only",
        units: float = 0.0,
        initial_cash: float = 1_000_000.0,
        lot_size: float = 1.0,
        costs: ScreeningCosts | None = None,
        curve: bool = True,
    ) -> ScreenResult: ...
