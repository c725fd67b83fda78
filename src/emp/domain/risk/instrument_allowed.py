"""Trade only the instruments a list allows (and never those it blocks)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from emp.domain.errors import InvalidConfiguration
from emp.domain.risk.rule import RiskCheckInput


class InstrumentAllowed:
    """Refuse intents on symbols outside ``allowed`` (``None``: any) or inside ``blocked``.

    Orders that reduce a position pass even on a symbol no longer allowed, so a symbol can
    be removed from the list without trapping a position in it.
    """

    reads_book: ClassVar[bool] = False  # RiskRule: reads no exposure book

    __slots__ = ("_allowed", "_blocked", "name")

    def __init__(
        self,
        allowed: Iterable[str] | None = None,
        *,
        blocked: Iterable[str] = (),
        name: str = "instrument_allowed",
    ) -> None:
        self._allowed = None if allowed is None else frozenset(allowed)
        self._blocked = frozenset(blocked)
        if self._allowed is not None and not self._allowed:
            raise InvalidConfiguration("allowed instruments must not be empty (None allows all)")
        self.name = name

    @property
    def allowed(self) -> frozenset[str] | None:
        return self._allowed

    def check(self, data: RiskCheckInput) -> str | None:
        return self.check_projected(data, None)

    def check_projected(self, data: RiskCheckInput, p: object) -> str | None:
        symbol = data.intent.symbol
        if symbol in self._blocked and not data.is_reducing:
            return f"{self.name}: {symbol} is blocked"
        if self._allowed is not None and symbol not in self._allowed and not data.is_reducing:
            return f"{self.name}: {symbol} is not an allowed instrument"
        return None
