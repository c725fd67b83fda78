"""The simulated venue's cost and liquidity settings."""

from __future__ import annotations

import math
from dataclasses import dataclass

from emp.domain.errors import InvalidConfiguration


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatedVenueConfig:
    """How the simulated venue charges and how much of a bar one order may take.

    Attributes:
        commission_bps: commission in basis points of each fill's notional (>= 0).
        commission_per_share: commission per unit filled, in the instrument currency (>= 0).
        min_commission: the least commission charged per fill (>= 0); a fill pays
            ``max(min_commission, commission_bps * notional / 1e4 + commission_per_share * qty)``.
        slippage_bps: how far a MARKET order's fill price is moved from the bar's open
            against the trader, in basis points (buys higher, sells lower); in [0, 10000).
            Limit orders never slip: they fill at the open or at their limit.
        max_volume_participation: the largest fraction of a bar's volume one order may fill
            on that bar, in (0, 1], rounded down to the instrument's lot size; ``None`` puts
            no cap on fills (the bar's volume is then ignored).
    """

    commission_bps: float = 0.0
    commission_per_share: float = 0.0
    min_commission: float = 0.0
    slippage_bps: float = 0.0
    max_volume_participation: float | None = None

    def __post_init__(self) -> None:
        for name in ("commission_bps", "commission_per_share", "min_commission", "slippage_bps"):
            value = getattr(self, name)
            if not _is_number(value) or not math.isfinite(value) or value < 0:
                raise InvalidConfiguration(f"{name} must be a finite number >= 0, was {value!r}")
        if self.slippage_bps >= 10_000:
            raise InvalidConfiguration(
                f"slippage_bps must be below 10000 (100%), was {self.slippage_bps!r}"
            )
        cap = self.max_volume_participation
        if cap is not None and (not _is_number(cap) or not 0 < cap <= 1):
            raise InvalidConfiguration(
                f"max_volume_participation must be in (0, 1] or None, was {cap!r}"
            )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
