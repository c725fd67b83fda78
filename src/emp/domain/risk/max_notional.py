"""Cap the notional of a single order at its reference price."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from emp.domain.errors import InvalidConfiguration
from emp.domain.risk.rule import BreachAction, RiskCheckInput, check_action


@dataclass(frozen=True, slots=True)
class MaxOrderNotional:
    """An order's notional (quantity × limit price, else the reference price) is capped."""

    reads_book: ClassVar[bool] = False  # RiskRule: reads no exposure book

    max_notional: float
    name: str = "max_order_notional"
    action: BreachAction = BreachAction.REJECT

    def __post_init__(self) -> None:
        if not math.isfinite(self.max_notional) or self.max_notional <= 0:
            raise InvalidConfiguration(f"max_notional must be > 0, was {self.max_notional!r}")
        object.__setattr__(self, "action", check_action(self.action))

    def check(self, data: RiskCheckInput) -> str | None:
        return self.check_projected(data, None)

    def check_projected(self, data: RiskCheckInput, p: object) -> str | None:
        price = data.intent.limit_price or data.reference_price
        notional = data.intent.quantity * price
        if notional <= self.max_notional:
            return None
        return (
            f"{self.name}: {data.intent.symbol} order notional {notional:,.2f} "
            f"exceeds limit {self.max_notional:,.2f}"
        )

    def capacity(self, data: RiskCheckInput) -> float:
        return self.max_notional / data.price
