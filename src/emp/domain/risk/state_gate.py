"""The trading state as a rule: ACTIVE passes all, REDUCING only risk-reducing orders,
HALTED only flattening ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from emp.domain.risk.rule import RiskCheckInput
from emp.domain.risk.trading_state import TradingState

_ACTIVE = TradingState.ACTIVE


@dataclass(frozen=True, slots=True)
class TradingStateGate:
    """Reads the trading state from the check's context (ACTIVE without one).

    * REDUCING: the order must shrink |position| in the worst case (working orders on
      its side counted) without crossing zero;
    * HALTED: the order must take the position exactly to zero in the worst case.
    """

    reads_book: ClassVar[bool] = False  # RiskRule: reads no exposure book

    name: str = "trading_state"

    def check(self, data: RiskCheckInput) -> str | None:
        return self.check_projected(data, None)

    def check_projected(self, data: RiskCheckInput, p: object) -> str | None:
        context = data.context
        if context is None:
            return None
        state = context.trading_state
        if state is _ACTIVE:
            return None
        if state is TradingState.REDUCING:
            if data.is_reducing:
                return None
            return (
                f"{self.name}: trading is REDUCING; {data.intent.side.value} "
                f"{data.intent.quantity:g} {data.intent.symbol} does not reduce the position "
                f"{data.position:g}"
            )
        if data.is_flattening:
            return None
        return (
            f"{self.name}: trading is HALTED; {data.intent.side.value} "
            f"{data.intent.quantity:g} {data.intent.symbol} does not flatten the position "
            f"{data.position:g}"
        )
