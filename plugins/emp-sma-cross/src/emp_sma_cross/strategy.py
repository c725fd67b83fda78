"""Moving-average crossover: long when the fast SMA is above the slow one, flat (or short)
otherwise. Decisions are taken on a bar's close; EMP fills them at the next bar's open."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from emp.domain.bars import Bar
from emp.domain.errors import InvalidConfiguration
from emp.domain.orders import OrderSide
from emp.domain.strategy import OrderIntent, Strategy, StrategyContext


class _RollingMean:
    __slots__ = ("_sum", "_values", "window")

    def __init__(self, window: int) -> None:
        self.window = window
        self._values: deque[float] = deque(maxlen=window)
        self._sum = 0.0

    def push(self, value: float) -> float | None:
        if len(self._values) == self.window:
            self._sum -= self._values[0]
        self._values.append(value)
        self._sum += value
        return self._sum / self.window if len(self._values) == self.window else None


class SmaCross(Strategy):
    name = "sma_trend"

    def __init__(
        self, fast: int = 20, slow: int = 50, allocation: float = 0.95, allow_short: bool = False
    ) -> None:
        if fast < 1 or slow < 2 or fast >= slow:
            raise InvalidConfiguration(
                f"sma_cross needs 1 <= fast < slow, was fast={fast}, slow={slow}"
            )
        if not 0 < allocation <= 1:
            raise InvalidConfiguration(f"allocation must be in (0, 1], was {allocation}")
        self._fast_window, self._slow_window = fast, slow
        self._allocation = allocation
        self._allow_short = allow_short
        self._fast: dict[str, _RollingMean] = {}
        self._slow: dict[str, _RollingMean] = {}

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Sequence[OrderIntent]:
        fast = self._fast.setdefault(bar.symbol, _RollingMean(self._fast_window)).push(bar.close)
        slow = self._slow.setdefault(bar.symbol, _RollingMean(self._slow_window)).push(bar.close)
        if fast is None or slow is None or fast == slow:
            return ()
        instrument = ctx.instrument(bar.symbol)
        budget = ctx.equity * self._allocation / max(1, len(ctx.symbols))
        size = instrument.round_down_quantity(budget / bar.close)
        if fast > slow:
            target = size
        else:
            target = -size if self._allow_short else 0.0
        current = ctx.position(bar.symbol)
        # Trade only when the side of the position must change, not to re-size daily.
        if (target > 0) == (current > 0) and (target < 0) == (current < 0):
            return ()
        delta = target - current
        if delta == 0:
            return ()
        side = OrderSide.BUY if delta > 0 else OrderSide.SELL
        return (OrderIntent(symbol=bar.symbol, side=side, quantity=abs(delta), tag="sma_trend"),)
