"""Volatility-tiered limits: realised volatility picks a tier, the tier scales the
position caps (MaxPosition, MaxPositionNotional) and the leverage cap (MaxLeverage)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from emp.domain.errors import InvalidConfiguration


@dataclass(frozen=True, slots=True, kw_only=True)
class VolatilityTier:
    """From ``min_volatility`` (annualised, inclusive) up to the next tier's."""

    name: str
    min_volatility: float
    position_multiplier: float = 1.0
    leverage_multiplier: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.min_volatility) and self.min_volatility >= 0):
            raise InvalidConfiguration(
                f"tier {self.name!r}: min_volatility must be >= 0, was {self.min_volatility!r}"
            )
        for label, value in (
            ("position_multiplier", self.position_multiplier),
            ("leverage_multiplier", self.leverage_multiplier),
        ):
            if not (math.isfinite(value) and value > 0):
                raise InvalidConfiguration(
                    f"tier {self.name!r}: {label} must be > 0, was {value!r}"
                )


class VolatilityTiers:
    """An ordered table of tiers; the lowest must start at volatility 0.

    ``VolatilityTiers.from_table([(0.0, 1.0, 1.0), (0.25, 0.5, 0.5), (0.5, 0.25, 0.25)])``
    builds tiers ``tier0``, ``tier1``, ``tier2`` from ``(min_vol, position, leverage)`` rows.
    """

    __slots__ = ("_tiers",)

    def __init__(self, tiers: Iterable[VolatilityTier]) -> None:
        ordered = sorted(tiers, key=lambda t: t.min_volatility)
        if not ordered:
            raise InvalidConfiguration("a volatility tier table needs at least one tier")
        if ordered[0].min_volatility != 0:
            raise InvalidConfiguration(
                f"the lowest volatility tier must start at 0, was {ordered[0].min_volatility!r}"
            )
        bounds = [t.min_volatility for t in ordered]
        if len(set(bounds)) != len(bounds):
            raise InvalidConfiguration("two volatility tiers start at the same volatility")
        names = [t.name for t in ordered]
        if len(set(names)) != len(names):
            raise InvalidConfiguration("two volatility tiers share a name")
        self._tiers = tuple(ordered)

    @classmethod
    def from_table(cls, rows: Iterable[tuple[float, float, float]]) -> VolatilityTiers:
        return cls(
            VolatilityTier(
                name=f"tier{i}",
                min_volatility=float(vol),
                position_multiplier=float(pos),
                leverage_multiplier=float(lev),
            )
            for i, (vol, pos, lev) in enumerate(sorted(rows))
        )

    @property
    def tiers(self) -> tuple[VolatilityTier, ...]:
        return self._tiers

    @property
    def lowest(self) -> VolatilityTier:
        return self._tiers[0]

    def tier_for(self, volatility: float) -> VolatilityTier:
        """The tier whose range holds ``volatility``; NaN (not known yet) is the lowest."""
        chosen = self._tiers[0]
        if math.isnan(volatility):
            return chosen
        for tier in self._tiers:
            if volatility >= tier.min_volatility:
                chosen = tier
        return chosen
