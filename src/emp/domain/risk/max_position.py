"""Cap the absolute position per symbol, counting working orders in the worst case."""

from __future__ import annotations

import math
from dataclasses import dataclass

from emp.domain.errors import InvalidConfiguration
from emp.domain.risk.rule import RiskCheckInput


@dataclass(frozen=True, slots=True)
class MaxPosition:
    max_quantity: float
    name: str = "max_position"

    def __post_init__(self) -> None:
        if not math.isfinite(self.max_quantity) or self.max_quantity <= 0:
            raise InvalidConfiguration(f"max_position must be > 0, was {self.max_quantity!r}")

    def check(self, data: RiskCheckInput) -> str | None:
        projected = data.worst_case_position
        # Orders that only reduce the absolute position always pass.
        if abs(projected) <= abs(data.position) or abs(projected) <= self.max_quantity:
            return None
        return (
            f"max_position: {data.intent.symbol} position would reach {projected:g}, "
            f"limit is {self.max_quantity:g}"
        )
