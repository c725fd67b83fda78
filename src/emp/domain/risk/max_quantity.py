"""Cap the quantity of a single order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from emp.domain.risk.rule import BreachAction, RiskCheckInput, check_action, check_positive


@dataclass(frozen=True, slots=True)
class MaxOrderQuantity:
    """An order may not be for more than ``max_quantity`` units."""

    reads_book: ClassVar[bool] = False  # RiskRule: reads no exposure book

    max_quantity: float
    name: str = "max_order_quantity"
    action: BreachAction = BreachAction.REJECT

    def __post_init__(self) -> None:
        check_positive("max_order_quantity", self.max_quantity)
        object.__setattr__(self, "action", check_action(self.action))

    def check(self, data: RiskCheckInput) -> str | None:
        return self.check_projected(data, None)

    def check_projected(self, data: RiskCheckInput, p: object) -> str | None:
        quantity = data.intent.quantity
        if quantity <= self.max_quantity:
            return None
        return (
            f"{self.name}: {data.intent.symbol} order quantity {quantity:g} "
            f"exceeds limit {self.max_quantity:g}"
        )

    def capacity(self, data: RiskCheckInput) -> float:
        return self.max_quantity
