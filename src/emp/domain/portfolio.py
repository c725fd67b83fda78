"""Positions and the portfolio: cash, realized/unrealized PnL, exposure.

Accounting is average-cost: buying into a long (or selling into a short) moves the average
entry price; reducing realizes PnL against it; crossing through zero realizes the closed
part and opens the remainder at the fill price. Fees are paid from cash and tracked apart
from trading PnL, so at any time::

    equity = initial_cash + realized_pnl + unrealized_pnl - fees_paid
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from emp.domain.errors import InvalidConfiguration
from emp.domain.fills import Fill

_QTY_EPS = 1e-9


@dataclass(slots=True)
class Position:
    symbol: str
    quantity: float = 0.0
    average_price: float = 0.0
    realized_pnl: float = 0.0

    @property
    def is_flat(self) -> bool:
        return abs(self.quantity) <= _QTY_EPS

    def unrealized_pnl(self, mark: float) -> float:
        return (mark - self.average_price) * self.quantity if not self.is_flat else 0.0

    def apply(self, signed_qty: float, price: float) -> float:
        """Apply a signed quantity at ``price``; return the PnL it realized."""
        realized = 0.0
        if self.is_flat or (self.quantity > 0) == (signed_qty > 0):
            new_qty = self.quantity + signed_qty
            self.average_price = (self.average_price * self.quantity + price * signed_qty) / new_qty
            self.quantity = new_qty
        else:
            closing = min(abs(signed_qty), abs(self.quantity))
            direction = 1.0 if self.quantity > 0 else -1.0
            realized = (price - self.average_price) * closing * direction
            self.quantity += signed_qty
            if abs(self.quantity) <= _QTY_EPS:
                self.quantity = 0.0
                self.average_price = 0.0
            elif (self.quantity > 0) != (direction > 0):
                # crossed through zero: the remainder is a new position at the fill price
                self.average_price = price
        self.realized_pnl += realized
        return realized


class Portfolio:
    """Cash plus positions, marked to the last known prices."""

    def __init__(self, initial_cash: float) -> None:
        if not math.isfinite(initial_cash) or initial_cash <= 0:
            raise InvalidConfiguration(f"initial cash must be > 0, was {initial_cash!r}")
        self.initial_cash = float(initial_cash)
        self.cash = float(initial_cash)
        self.fees_paid = 0.0
        self._positions: dict[str, Position] = {}
        self._marks: dict[str, float] = {}

    # ----------------------------------------------------------------- updates
    def apply_fill(self, fill: Fill) -> float:
        """Book a fill: move cash, update the position, pay the fee. Returns realized PnL."""
        position = self._positions.setdefault(fill.symbol, Position(fill.symbol))
        self.cash -= fill.signed_quantity * fill.price + fill.fee
        self.fees_paid += fill.fee
        self._marks.setdefault(fill.symbol, fill.price)
        return position.apply(fill.signed_quantity, fill.price)

    def mark(self, symbol: str, price: float) -> None:
        self._marks[symbol] = float(price)

    def mark_many(self, prices: Mapping[str, float]) -> None:
        for symbol, price in prices.items():
            self._marks[symbol] = float(price)

    # ----------------------------------------------------------------- queries
    def position(self, symbol: str) -> Position:
        return self._positions.get(symbol) or Position(symbol)

    def quantity(self, symbol: str) -> float:
        position = self._positions.get(symbol)
        return position.quantity if position else 0.0

    @property
    def positions(self) -> Mapping[str, Position]:
        return {s: p for s, p in self._positions.items() if not p.is_flat}

    def mark_price(self, symbol: str) -> float | None:
        return self._marks.get(symbol)

    def market_value(self, symbol: str) -> float:
        position = self._positions.get(symbol)
        if position is None or position.is_flat:
            return 0.0
        return position.quantity * self._marks.get(symbol, position.average_price)

    @property
    def realized_pnl(self) -> float:
        return sum(p.realized_pnl for p in self._positions.values())

    @property
    def unrealized_pnl(self) -> float:
        return sum(
            p.unrealized_pnl(self._marks.get(s, p.average_price))
            for s, p in self._positions.items()
        )

    @property
    def gross_exposure(self) -> float:
        return sum(abs(self.market_value(s)) for s in self._positions)

    @property
    def net_exposure(self) -> float:
        return sum(self.market_value(s) for s in self._positions)

    @property
    def equity(self) -> float:
        return self.cash + self.net_exposure
