"""The simulated venue's cost, liquidity and fill-timing settings."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from emp.domain.errors import InvalidConfiguration


class FillModel(StrEnum):
    """When a MARKET order trades, relative to the bar on which it was decided.

    ``NEXT_OPEN`` (the default): an order only trades on bars that open after it arrived,
    so a decision taken on bar t's close fills at bar t+1's open. ``CLOSE``: an order that
    arrives while a bar of its symbol is current trades at once at that bar's close (the
    price the decision was computed from: optimistic, and reports flag it).
    """

    NEXT_OPEN = "next_open"
    CLOSE = "close"


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatedVenueConfig:
    """How the simulated venue charges, when it fills and how much of a bar one order may take.

    Attributes:
        commission_bps: commission in basis points of each fill's notional (>= 0).
        commission_per_share: commission per unit filled, in the instrument currency (>= 0).
        commission_fixed: a flat commission per fill, in the instrument currency (>= 0).
        min_commission: the least commission charged per fill (>= 0); a fill pays
            ``max(min_commission, commission_bps * notional / 1e4 + commission_per_share *
            qty + commission_fixed)``.
        slippage_bps: how far a MARKET order's fill price is moved from the reference price
            (the bar's open, or its close under ``FillModel.CLOSE``) against the trader, in
            basis points (buys higher, sells lower); in [0, 10000).
            Limit orders never slip: they fill at the open or at their limit.
        spread_bps: the quoted bid-ask spread in basis points of the reference price, taken
            as the mid; a MARKET order crosses half of it (buys at the ask, sells at the
            bid), on top of ``slippage_bps``. ``slippage_bps + spread_bps / 2`` < 10000.
        max_volume_participation: the largest fraction of a bar's volume one order may fill
            on that bar, in (0, 1], rounded down to the instrument's lot size; ``None`` puts
            no cap on fills (the bar's volume is then ignored).
        fill_model: next-bar-open (default) or close-of-bar fills (see :class:`FillModel`).
    """

    commission_bps: float = 0.0
    commission_per_share: float = 0.0
    commission_fixed: float = 0.0
    min_commission: float = 0.0
    slippage_bps: float = 0.0
    spread_bps: float = 0.0
    max_volume_participation: float | None = None
    fill_model: FillModel = FillModel.NEXT_OPEN

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
            if not _is_number(value) or not math.isfinite(value) or value < 0:
                raise InvalidConfiguration(f"{name} must be a finite number >= 0, was {value!r}")
        if self.slippage_bps >= 10_000:
            raise InvalidConfiguration(
                f"slippage_bps must be below 10000 (100%), was {self.slippage_bps!r}"
            )
        if self.slippage_bps + self.spread_bps / 2 >= 10_000:
            raise InvalidConfiguration(
                "slippage_bps + spread_bps / 2 must be below 10000 (100%), was "
                f"{self.slippage_bps + self.spread_bps / 2!r}"
            )
        cap = self.max_volume_participation
        if cap is not None and (not _is_number(cap) or not 0 < cap <= 1):
            raise InvalidConfiguration(
                f"max_volume_participation must be in (0, 1] or None, was {cap!r}"
            )
        try:
            object.__setattr__(self, "fill_model", FillModel(self.fill_model))
        except ValueError:
            choices = ", ".join(m.value for m in FillModel)
            raise InvalidConfiguration(
                f"fill_model must be one of {choices}, was {self.fill_model!r}"
            ) from None

    @property
    def market_impact_bps(self) -> float:
        """What a MARKET order pays away from the reference price: slippage + half spread."""
        return self.slippage_bps + self.spread_bps / 2.0


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
