"""Cap the number of working orders of the account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from emp.domain.errors import InvalidConfiguration
from emp.domain.risk.rule import RiskCheckInput


@dataclass(frozen=True, slots=True)
class MaxOpenOrders:
    """Refuse a new order when ``open_order_count`` working orders already exist.

    Reads ``RiskCheckInput.open_order_count`` (the account's working orders, all symbols).
    """

    reads_book: ClassVar[bool] = False  # RiskRule: reads no exposure book

    max_open_orders: int
    name: str = "max_open_orders"

    def __post_init__(self) -> None:
        if isinstance(self.max_open_orders, bool) or not isinstance(self.max_open_orders, int):
            raise InvalidConfiguration(
                f"max_open_orders must be an integer, was {self.max_open_orders!r}"
            )
        if self.max_open_orders < 1:
            raise InvalidConfiguration(
                f"max_open_orders must be >= 1, was {self.max_open_orders!r}"
            )

    def check(self, data: RiskCheckInput) -> str | None:
        return self.check_projected(data, None)

    def check_projected(self, data: RiskCheckInput, p: object) -> str | None:
        if data.open_order_count < self.max_open_orders:
            return None
        return (
            f"{self.name}: {data.open_order_count} orders already working, "
            f"limit is {self.max_open_orders}"
        )
