"""Cap the absolute position per symbol, counting working orders in the worst case."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from emp.domain.errors import InvalidConfiguration
from emp.domain.risk.context import Projection, projection_of
from emp.domain.risk.rule import BreachAction, RiskCheckInput, check_action, check_positive


def _multiplier(data: RiskCheckInput) -> float:
    context = data.context
    return 1.0 if context is None else context.position_multiplier


def position_capacity(data: RiskCheckInput, limit: float) -> float:
    """The largest quantity keeping |worst case| within ``max(limit, |position|)``."""
    bound = max(limit, abs(data.position))
    return max(0.0, bound - data.intent.side.sign * data.working_in_direction)


@dataclass(frozen=True, slots=True)
class MaxPosition:
    """|position + working orders on the order's side + the order| may not exceed the limit.

    The limit is ``max_quantity`` (or ``limits[symbol]`` when given) times the current
    volatility tier's position multiplier. Orders that only reduce |position| always pass.
    """

    reads_book: ClassVar[bool] = False  # RiskRule: reads no exposure book

    max_quantity: float
    name: str = "max_position"
    action: BreachAction = BreachAction.REJECT
    limits: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not math.isfinite(self.max_quantity) or self.max_quantity <= 0:
            raise InvalidConfiguration(f"max_position must be > 0, was {self.max_quantity!r}")
        for symbol, limit in self.limits.items():
            check_positive(f"max_position for {symbol}", limit)
        object.__setattr__(self, "action", check_action(self.action))

    def limit_for(self, data: RiskCheckInput) -> float:
        base = (
            self.limits.get(data.intent.symbol, self.max_quantity)
            if self.limits
            else self.max_quantity
        )
        return base * _multiplier(data)

    def check(self, data: RiskCheckInput) -> str | None:
        return self.check_projected(data, projection_of(data))

    def check_projected(self, data: RiskCheckInput, p: Projection) -> str | None:
        projected = p.worst
        size = projected if projected >= 0 else -projected
        # Orders that only reduce the absolute position always pass.
        position = data.position
        if size <= (position if position >= 0 else -position):
            return None
        context = data.context
        base = (
            self.limits.get(data.intent.symbol, self.max_quantity)
            if self.limits
            else self.max_quantity
        )
        limit = base if context is None else base * context.position_multiplier
        if size <= limit:
            return None
        return (
            f"{self.name}: {data.intent.symbol} position would reach {projected:g}, "
            f"limit is {limit:g}"
        )

    def capacity(self, data: RiskCheckInput) -> float:
        return position_capacity(data, self.limit_for(data))


@dataclass(frozen=True, slots=True)
class MaxPositionNotional:
    """|worst-case position| × reference price may not exceed ``max_notional`` (per symbol),
    scaled by the volatility tier's position multiplier; reducing orders always pass."""

    reads_book: ClassVar[bool] = False  # RiskRule: reads no exposure book

    max_notional: float
    name: str = "max_position_notional"
    action: BreachAction = BreachAction.REJECT

    def __post_init__(self) -> None:
        check_positive("max_position_notional", self.max_notional)
        object.__setattr__(self, "action", check_action(self.action))

    def check(self, data: RiskCheckInput) -> str | None:
        return self.check_projected(data, projection_of(data))

    def check_projected(self, data: RiskCheckInput, p: Projection) -> str | None:
        projected = p.worst if p.worst >= 0 else -p.worst
        notional = projected * data.reference_price
        context = data.context
        limit = (
            self.max_notional
            if context is None
            else self.max_notional * context.position_multiplier
        )
        position = data.position
        if notional <= limit or projected <= (position if position >= 0 else -position):
            return None
        return (
            f"{self.name}: {data.intent.symbol} position notional would reach "
            f"{notional:,.2f}, limit is {limit:,.2f}"
        )

    def capacity(self, data: RiskCheckInput) -> float:
        limit = self.max_notional * _multiplier(data) / data.reference_price
        return position_capacity(data, limit)
