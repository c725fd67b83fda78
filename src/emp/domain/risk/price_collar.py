"""Price collar: a limit price must lie within a fraction of the reference price."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from emp.domain.errors import InvalidConfiguration
from emp.domain.risk.rule import RiskCheckInput


@dataclass(frozen=True, slots=True)
class PriceCollar:
    """``|limit - reference| / reference <= max_deviation`` (0.05 = 5 %); market orders pass."""

    reads_book: ClassVar[bool] = False  # RiskRule: reads no exposure book

    max_deviation: float
    name: str = "price_collar"

    def __post_init__(self) -> None:
        if not (isinstance(self.max_deviation, int | float) and 0 < self.max_deviation < 1):
            raise InvalidConfiguration(
                f"price collar must be in (0, 1), was {self.max_deviation!r}"
            )

    def check(self, data: RiskCheckInput) -> str | None:
        return self.check_projected(data, None)

    def check_projected(self, data: RiskCheckInput, p: object) -> str | None:
        limit = data.intent.limit_price
        if limit is None:
            return None
        reference = data.reference_price
        deviation = abs(limit - reference) / reference
        if deviation <= self.max_deviation:
            return None
        return (
            f"{self.name}: {data.intent.symbol} limit {limit:g} is {deviation:.2%} from "
            f"reference {reference:g}, collar is {self.max_deviation:.2%}"
        )
