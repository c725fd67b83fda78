"""Positions and the portfolio: cash, realized/unrealized PnL, exposure.

Accounting is average-cost: buying into a long (or selling into a short) moves the average
entry price; reducing realizes PnL against it; crossing through zero realizes the closed
part and opens the remainder at the fill price. Fees and carrying costs (short borrow) are
paid from cash and tracked apart from trading PnL, so at any time, in a single-currency
account::

    equity = initial_cash + realized_pnl + unrealized_pnl - fees_paid - carry_paid

Multi-currency: ``currencies`` maps symbols to their instrument's currency. Trading a
symbol in a currency other than the base moves a cash balance in that currency (which may
go negative: a loan in it); equity and exposure convert balances and positions at the rates
set with :meth:`Portfolio.set_rate` (base units per unit of currency). Fees are added to
``fees_paid`` at the rate of the moment; positions' PnL stays in their own currency.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from emp.domain.errors import InvalidConfiguration
from emp.domain.fills import Fill
from emp.domain.orders import OrderSide

_QTY_EPS = 1e-9
_BUY = OrderSide.BUY


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
    """Cash plus positions, marked to the last known prices.

    Kept cheap for the per-bar path: the open (non-flat) positions are held apart, so
    marking a price is one dict write and :meth:`valuation` walks only what is open.
    """

    __slots__ = (
        "_balances",
        "_currency_of",
        "_marks",
        "_open",
        "_positions",
        "_quantities",
        "_rates",
        "base_currency",
        "carry_paid",
        "cash",
        "fees_paid",
        "initial_cash",
    )

    def __init__(
        self,
        initial_cash: float,
        *,
        base_currency: str = "USD",
        currencies: Mapping[str, str] | None = None,
    ) -> None:
        if not math.isfinite(initial_cash) or initial_cash <= 0:
            raise InvalidConfiguration(f"initial cash must be > 0, was {initial_cash!r}")
        self.initial_cash = float(initial_cash)
        self.cash = float(initial_cash)  # in the base currency
        self.fees_paid = 0.0
        self.carry_paid = 0.0
        self.base_currency = base_currency
        #: symbol → currency, for the symbols not in the base currency only
        self._currency_of = {s: c for s, c in (currencies or {}).items() if c != base_currency}
        self._balances: dict[str, float] = {}  # cash in other currencies
        self._rates: dict[str, float] = {}
        self._positions: dict[str, Position] = {}
        self._open: dict[str, Position] = {}
        self._quantities: dict[str, float] = {}  # of the open positions
        self._marks: dict[str, float] = {}

    # ----------------------------------------------------------------- updates
    def apply_fill(self, fill: Fill) -> float:
        """Book a fill: move cash, update the position, pay the fee. Returns realized PnL."""
        symbol = fill.symbol
        position = self._positions.get(symbol)
        if position is None:
            position = self._positions[symbol] = Position(symbol)
        # fill.signed_quantity, written out (once per fill)
        signed = fill.quantity if fill.side is _BUY else -fill.quantity
        currency = self._currency_of.get(symbol) if self._currency_of else None
        if currency is None:
            self.cash -= signed * fill.price + fill.fee
            self.fees_paid += fill.fee
        else:
            rate = self.rate(currency)
            balance = self._balances.get(currency, 0.0)
            self._balances[currency] = balance - (signed * fill.price + fill.fee)
            self.fees_paid += fill.fee * rate
        self._marks.setdefault(symbol, fill.price)
        realized = position.apply(signed, fill.price)
        if position.is_flat:
            self._open.pop(symbol, None)
            self._quantities.pop(symbol, None)
        else:
            self._open[symbol] = position
            self._quantities[symbol] = position.quantity
        return realized

    def pay_carry(self, amount: float) -> None:
        """Pay a carrying cost (short borrow) in the base currency out of cash."""
        self.cash -= amount
        self.carry_paid += amount

    def set_rate(self, currency: str, rate: float) -> None:
        """Base-currency units per unit of ``currency`` from now on."""
        if not (math.isfinite(rate) and rate > 0):
            raise InvalidConfiguration(f"an FX rate must be > 0, was {rate!r} for {currency}")
        self._rates[currency] = float(rate)

    def mark(self, symbol: str, price: float) -> None:
        self._marks[symbol] = float(price)

    def mark_many(self, prices: Mapping[str, float]) -> None:
        for symbol, price in prices.items():
            self._marks[symbol] = float(price)

    # ----------------------------------------------------------------- queries
    def position(self, symbol: str) -> Position:
        return self._positions.get(symbol) or Position(symbol)

    def quantity(self, symbol: str) -> float:
        return self._quantities.get(symbol, 0.0)

    @property
    def positions(self) -> Mapping[str, Position]:
        """The open (non-flat) positions, a fresh mapping."""
        return dict(self._open)

    def holds_only(self, symbol: str) -> bool:
        """No open position in any other symbol than ``symbol``."""
        open_ = self._quantities
        return not open_ or (len(open_) == 1 and symbol in open_)

    def open_quantities(self) -> dict[str, float]:
        """Signed quantity per open position (a fresh dict)."""
        return dict(self._quantities)

    def open_marks(self) -> dict[str, float]:
        """The mark of every open position (a fresh dict; a fill marks its symbol)."""
        marks = self._marks
        return {s: marks[s] for s in self._open}

    def mark_price(self, symbol: str) -> float | None:
        return self._marks.get(symbol)

    def market_value(self, symbol: str) -> float:
        position = self._open.get(symbol)
        if position is None:
            return 0.0
        return position.quantity * self._marks.get(symbol, position.average_price)

    def valuation(self) -> tuple[float, float]:
        """``(equity, gross exposure)`` in the base currency, one pass over open positions."""
        if self._currency_of:
            return self._valuation_converted()
        net = gross = 0.0
        marks = self._marks
        for symbol, position in self._open.items():
            value = position.quantity * marks.get(symbol, position.average_price)
            net += value
            gross += abs(value)
        return self.cash + net, gross

    def _valuation_converted(self) -> tuple[float, float]:
        net = gross = 0.0
        marks = self._marks
        for symbol, position in self._open.items():
            value = position.quantity * marks.get(symbol, position.average_price)
            value *= self.rate_of(symbol)
            net += value
            gross += abs(value)
        balances = sum(b * self.rate(c) for c, b in self._balances.items())
        return self.cash + balances + net, gross

    # ------------------------------------------------------------- currencies
    @property
    def is_multi_currency(self) -> bool:
        return bool(self._currency_of)

    def currency_of(self, symbol: str) -> str:
        return self._currency_of.get(symbol, self.base_currency)

    def rate(self, currency: str) -> float:
        """Base units per unit of ``currency`` (1 for the base currency)."""
        if currency == self.base_currency:
            return 1.0
        rate = self._rates.get(currency)
        if rate is None:
            raise InvalidConfiguration(
                f"no {currency} → {self.base_currency} rate known yet: give an FX series "
                f"that starts at or before the first {currency} bar"
            )
        return rate

    def rate_of(self, symbol: str) -> float:
        currency = self._currency_of.get(symbol)
        return 1.0 if currency is None else self.rate(currency)

    @property
    def rates(self) -> dict[str, float]:
        """The current rates of the currencies other than the base (a fresh dict)."""
        return dict(self._rates)

    @property
    def balances(self) -> Mapping[str, float]:
        """Cash per currency (the base currency included)."""
        return {self.base_currency: self.cash, **self._balances}

    def short_notional(self) -> float:
        """The base-currency notional of every short position, at the current marks."""
        total = 0.0
        for symbol, position in self._open.items():
            if position.quantity < 0:
                mark = self._marks.get(symbol, position.average_price)
                total -= position.quantity * mark * self.rate_of(symbol)
        return total

    @property
    def realized_pnl(self) -> float:
        return sum(p.realized_pnl for p in self._positions.values())

    @property
    def unrealized_pnl(self) -> float:
        return sum(
            p.unrealized_pnl(self._marks.get(s, p.average_price)) for s, p in self._open.items()
        )

    @property
    def gross_exposure(self) -> float:
        return self.valuation()[1]

    @property
    def net_exposure(self) -> float:
        """Signed market value of the open positions (base currency)."""
        if self._currency_of:
            return sum(self.market_value(s) * self.rate_of(s) for s in self._open)
        return sum(self.market_value(s) for s in self._open)

    @property
    def equity(self) -> float:
        return self.valuation()[0]
