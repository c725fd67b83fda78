"""Cap the notional of a single order at its reference price."""

from __future__ import annotations

import math
from dataclasses import dataclass

from emp.domain.errors import InvalidConfiguration
from emp.domain.risk.rule import RiskCheckInput


@dataclass(frozen=True, slots=True)
class MaxOrderNotional:
    max_notional: float
    name: str = "max_order_notional"

    def __post_init__(self) -> None:
        if not math.isfinite(self.max_notional) or self.max_notional <= 0:
            raise InvalidConfiguration(f"max_notional must be > 0, was {self.max_notional!r}")

    def check(self, data: RiskCheckInput) -> str | None:
        price = data.intent.limit_price or data.reference_price
        notional = data.intent.quantity * price
        if notional <= self.max_notional:
            return None
        return (
            f"max_order_notional: {data.intent.symbol} order notional {notional:,.2f} "
            f"exceeds limit {self.max_notional:,.2f}"
        )
