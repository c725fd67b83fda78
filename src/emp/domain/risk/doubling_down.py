"""No doubling down: while the account is in drawdown, a losing position may be added to
at most ``max_adds`` times."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from emp.domain.errors import InvalidConfiguration
from emp.domain.orders import OrderSide
from emp.domain.risk.rule import QTY_EPS, RiskCheckInput

_BUY = OrderSide.BUY


def _losing(data: RiskCheckInput) -> bool:
    position = data.position
    if abs(position) <= QTY_EPS or data.average_price <= 0:
        return False
    return (data.reference_price - data.average_price) * position < 0


def _adds_to_loser(data: RiskCheckInput) -> bool:
    return _losing(data) and (data.position > 0) == (data.intent.side.sign > 0)


@dataclass(slots=True)
class NoDoublingDown:
    """Refuse the ``max_adds + 1``-th add to a losing position while drawdown > ``min_drawdown``.

    A position is losing when ``(reference - average_price) * position < 0`` (needs
    ``RiskCheckInput.average_price``); the drawdown is the context's peak-to-trough one.
    Adds are counted per symbol on approval; the count restarts when an order is approved
    on that symbol while it is flat or not losing.
    """

    reads_book: ClassVar[bool] = False  # RiskRule: reads no exposure book

    max_adds: int
    min_drawdown: float = 0.0
    name: str = "no_doubling_down"
    _adds: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        count = self.max_adds
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InvalidConfiguration(f"max_adds must be an integer >= 0, was {count!r}")
        if not 0 <= self.min_drawdown < 1:
            raise InvalidConfiguration(f"min_drawdown must be in [0, 1), was {self.min_drawdown!r}")

    def adds(self, symbol: str) -> int:
        return self._adds.get(symbol, 0)

    def check(self, data: RiskCheckInput) -> str | None:
        return self.check_projected(data, None)

    def check_projected(self, data: RiskCheckInput, p: object) -> str | None:
        context = data.context
        drawdown = 0.0 if context is None else context.drawdown
        if drawdown <= self.min_drawdown or not _adds_to_loser(data):
            return None
        count = self._adds.get(data.intent.symbol, 0)
        if count < self.max_adds:
            return None
        return (
            f"{self.name}: {data.intent.symbol} position {data.position:g} is losing "
            f"(average {data.average_price:g}, now {data.reference_price:g}) in a "
            f"{drawdown:.2%} drawdown; already added {count} time(s), limit is {self.max_adds}"
        )

    def on_approved(self, data: RiskCheckInput) -> None:
        symbol = data.intent.symbol
        position, average = data.position, data.average_price
        # _losing and _adds_to_loser, written out: this runs for every approved order
        losing = (
            average > 0.0
            and not -QTY_EPS <= position <= QTY_EPS
            and (data.reference_price - average) * position < 0
        )
        if losing:
            if (position > 0) == (data.intent.side is _BUY):
                self._adds[symbol] = self._adds.get(symbol, 0) + 1
        elif self._adds:
            self._adds.pop(symbol, None)
