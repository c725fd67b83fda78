"""What the screening path charges: the simulated venue's cost model, restated in numpy."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emp.domain.errors import InvalidConfiguration

FILL_MODELS: tuple[str, ...] = ("next_open", "close")


@dataclass(frozen=True, slots=True, kw_only=True)
class ScreeningCosts:
    """Costs and fill timing, with the simulated venue's meaning (``SimulatedVenueConfig``).

    A MARKET fill's price is the reference price (the next bar's open, or the decision
    bar's close under ``fill_model="close"``) moved ``slippage_bps + spread_bps / 2``
    against the trader; its fee is ``max(min_commission, commission_bps × notional / 1e4 +
    commission_per_share × quantity + commission_fixed)``. No volume cap applies.
    """

    commission_bps: float = 0.0
    commission_per_share: float = 0.0
    commission_fixed: float = 0.0
    min_commission: float = 0.0
    slippage_bps: float = 0.0
    spread_bps: float = 0.0
    fill_model: str = "next_open"

    def __post_init__(self) -> None:
        for name in (
            "commission_bps",
            "commission_per_share",
            "commission_fixed",
            "min_commission",
            "slippage_bps",
            "spread_bps",
        ):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise InvalidConfiguration(f"{name} must be a finite number >= 0, was {value!r}")
        if self.fill_model not in FILL_MODELS:
            raise InvalidConfiguration(
                f"fill_model must be one of {', '.join(FILL_MODELS)}, was {self.fill_model!r}"
            )

    @property
    def impact(self) -> float:
        """The fraction a MARKET order pays away from the reference price."""
        return (self.slippage_bps + self.spread_bps / 2.0) / 10_000.0

    def fill_prices(self, reference: np.ndarray, signs: np.ndarray) -> np.ndarray:
        """MARKET fill prices for buys (``signs`` +1) and sells (-1) at ``reference``."""
        impact = self.impact
        return np.where(signs > 0, reference * (1.0 + impact), reference * (1.0 - impact))

    def fees(self, quantity: np.ndarray, price: np.ndarray) -> np.ndarray:
        """The fee of each fill, evaluated in the venue's order of operations."""
        variable = (
            self.commission_bps * quantity * price / 10_000.0 + self.commission_per_share * quantity
        )
        if self.commission_fixed:
            variable = variable + self.commission_fixed
        return np.maximum(self.min_commission, variable)

    def fee(self, quantity: float, price: float) -> float:
        variable = (
            self.commission_bps * quantity * price / 10_000.0 + self.commission_per_share * quantity
        )
        if self.commission_fixed:
            variable += self.commission_fixed
        return max(self.min_commission, variable)

    def fill_price(self, reference: float, sign: int) -> float:
        impact = self.impact
        return reference * (1.0 + impact) if sign > 0 else reference * (1.0 - impact)
