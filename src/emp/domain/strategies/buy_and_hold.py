"""Buy-and-hold: the baseline every strategy report should be read against."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from emp.domain.bars import Bar
from emp.domain.errors import InvalidConfiguration
from emp.domain.orders import OrderSide
from emp.domain.strategy import OrderIntent, Strategy, StrategyContext, StrategySpec


class BuyAndHold(Strategy):
    """Invests ``allocation`` of equity, split equally across symbols, on each first bar."""

    name = "buy_and_hold"

    def __init__(self, allocation: float = 0.95) -> None:
        if not 0 < allocation <= 1:
            raise InvalidConfiguration(f"allocation must be in (0, 1], was {allocation!r}")
        self._allocation = allocation
        self._entered: set[str] = set()

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Sequence[OrderIntent]:
        if bar.symbol in self._entered:
            return ()
        self._entered.add(bar.symbol)
        budget = ctx.equity * self._allocation / max(1, len(ctx.symbols))
        quantity = ctx.instrument(bar.symbol).round_down_quantity(budget / bar.close)
        if quantity <= 0:
            return ()
        return (OrderIntent(symbol=bar.symbol, side=OrderSide.BUY, quantity=quantity),)


def _build(params: Mapping[str, Any]) -> Strategy:
    return BuyAndHold(allocation=params["allocation"])


BUY_AND_HOLD_SPEC = StrategySpec(
    name="buy_and_hold",
    factory=_build,
    description="Buy on the first bar of each symbol and hold (baseline).",
    parameters={"allocation": 0.95},
)
