"""The shape of a pre-trade risk rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from emp.domain.strategy import OrderIntent


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskCheckInput:
    """What a rule may look at for one intent.

    ``open_buy_quantity``/``open_sell_quantity`` are the leaves of the strategy's working
    orders in the same symbol, so rules can bound the worst case, not just the present.
    """

    intent: OrderIntent
    position: float
    open_buy_quantity: float
    open_sell_quantity: float
    reference_price: float
    equity: float

    @property
    def worst_case_position(self) -> float:
        signed = self.intent.side.sign * self.intent.quantity
        if signed > 0:
            return self.position + self.open_buy_quantity + signed
        return self.position - self.open_sell_quantity + signed


@runtime_checkable
class RiskRule(Protocol):
    """A pre-trade rule: returns ``None`` to pass or a reason, in words, to refuse."""

    name: str

    def check(self, data: RiskCheckInput) -> str | None: ...
