"""Round-trip trades: from flat to flat (or through zero), with PnL net of fees.

PnL is kept in the instrument's currency. A multi-currency run also gives each trade
its value in the account's base currency, **converted at the FX rate in force when the
trade closes** (``pnl_base = pnl × exit_fx_rate``): the realized amount is a balance in
the instrument's currency from then on, and what that balance gains or loses as the rate
moves later is currency translation of the account, not PnL of the trade. A one-currency
run has ``exit_fx_rate = 1`` and ``pnl_base == pnl``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from emp.domain.fills import Fill
from emp.domain.orders import OrderSide
from emp.domain.slots import slot_setters

_QTY_EPS = 1e-9


@dataclass(frozen=True, slots=True, kw_only=True)
class ClosedTrade:
    """One round trip.

    ``entry_price`` and ``exit_price`` are the volume-weighted prices of the fills that
    opened (or added to) and reduced the position; ``fees`` is every fee paid inside the
    round trip (a fill that crosses through zero splits its fee pro rata between the trade
    it closes and the one it opens). ``pnl`` is realized trading PnL minus ``fees``. The
    three are descriptive and not compared by ``==``, as is ``exit_fx_rate``: base-currency
    units per unit of the instrument's currency when the trade closed (1 in one-currency
    runs; see the module doc).
    """

    symbol: str
    direction: int  # +1 long, -1 short
    entry_ns: int
    exit_ns: int
    max_quantity: float
    pnl: float  # realized trading PnL minus every fee paid inside the round trip
    # Descriptive extras, left out of equality (two trades are equal when their identity,
    # size and PnL are; NaN prices would otherwise make a trade unequal to itself).
    entry_price: float = field(default=math.nan, compare=False)
    exit_price: float = field(default=math.nan, compare=False)
    fees: float = field(default=0.0, compare=False)
    exit_fx_rate: float = field(default=1.0, compare=False)

    @property
    def pnl_base(self) -> float:
        """``pnl`` in the account's base currency, at the FX rate of the exit."""
        return self.pnl * self.exit_fx_rate

    @property
    def is_win(self) -> bool:
        return self.pnl > 0

    @property
    def side(self) -> str:
        return "long" if self.direction > 0 else "short"


_CLOSED_FIELDS = (
    "symbol",
    "direction",
    "entry_ns",
    "exit_ns",
    "max_quantity",
    "pnl",
    "entry_price",
    "exit_price",
    "fees",
    "exit_fx_rate",
)
_CLOSED_BUILDER: list[Callable[..., ClosedTrade]] = []  # made at the first trade


def _closed_trade(*values: object) -> ClosedTrade:
    """``ClosedTrade(symbol=..., ..., exit_fx_rate=...)`` with the values in field order.

    One per round trip, written through the slots (:mod:`emp.domain.slots`; no checks to
    skip), or through the constructor should the layout move.
    """
    if not _CLOSED_BUILDER:
        _CLOSED_BUILDER.append(_closed_builder())
    return _CLOSED_BUILDER[0](*values)


def _closed_builder() -> Callable[..., ClosedTrade]:
    setters = slot_setters(ClosedTrade, _CLOSED_FIELDS)
    if setters is None:  # pragma: no cover - layout moved
        return lambda *values: ClosedTrade(**dict(zip(_CLOSED_FIELDS, values, strict=True)))  # type: ignore[arg-type]
    new = object.__new__
    s0, s1, s2, s3, s4, s5, s6, s7, s8, s9 = setters

    def build(
        symbol: str,
        direction: int,
        entry_ns: int,
        exit_ns: int,
        max_quantity: float,
        pnl: float,
        entry_price: float,
        exit_price: float,
        fees: float,
        exit_fx_rate: float,
    ) -> ClosedTrade:
        trade = new(ClosedTrade)
        s0(trade, symbol)
        s1(trade, direction)
        s2(trade, entry_ns)
        s3(trade, exit_ns)
        s4(trade, max_quantity)
        s5(trade, pnl)
        s6(trade, entry_price)
        s7(trade, exit_price)
        s8(trade, fees)
        s9(trade, exit_fx_rate)
        return trade

    return build


@dataclass(slots=True)
class _OpenTrade:
    direction: int
    entry_ns: int
    max_quantity: float
    pnl: float
    fees: float
    entry_quantity: float
    entry_price: float
    exit_quantity: float = 0.0
    exit_price: float = math.nan

    def add_entry(self, quantity: float, price: float) -> None:
        total = self.entry_quantity + quantity
        # a running mean: one fill (or fills at one price) give that price exactly
        self.entry_price += (price - self.entry_price) * (quantity / total)
        self.entry_quantity = total

    def add_exit(self, quantity: float, price: float) -> None:
        total = self.exit_quantity + quantity
        if self.exit_quantity == 0:
            self.exit_price = price
        else:
            self.exit_price += (price - self.exit_price) * (quantity / total)
        self.exit_quantity = total


def _opened(fill: Fill, quantity: float, fee: float, direction: int) -> _OpenTrade:
    # _OpenTrade(direction, entry_ns, max_quantity, pnl, fees, entry_quantity, entry_price)
    return _OpenTrade(direction, fill.ts_ns, quantity, -fee, fee, quantity, fill.price)


class TradeLog:
    """Folds fills into round trips. Call :meth:`record` after the portfolio booked a fill.

    ``rate_of`` (symbol → base-currency units per unit of its currency, read when a trade
    closes; e.g. ``Portfolio.rate_of``) sets each closed trade's ``exit_fx_rate``; without
    it the rate is 1.
    """

    def __init__(self, rate_of: Callable[[str], float] | None = None) -> None:
        self._rate_of = rate_of
        self._open: dict[str, _OpenTrade] = {}
        self.closed: list[ClosedTrade] = []

    def record(self, fill: Fill, realized_pnl: float, position_after: float) -> None:
        # fill.signed_quantity, written out (once per fill)
        signed = fill.quantity if fill.side is OrderSide.BUY else -fill.quantity
        position_before = position_after - signed
        trade = self._open.get(fill.symbol)
        if trade is None:
            if abs(position_after) <= _QTY_EPS:  # pragma: no cover - a fill always moves
                return
            direction = 1 if position_after > 0 else -1
            self._open[fill.symbol] = _opened(fill, abs(position_after), fill.fee, direction)
            return
        crossed = position_before * position_after < 0
        if crossed:
            # split the fee pro rata between the closing and the opening part
            closing = abs(position_before)
            closing_share = closing / fill.quantity
            closing_fee = fill.fee * closing_share
            trade.pnl += realized_pnl - closing_fee
            trade.fees += closing_fee
            trade.add_exit(closing, fill.price)
            self._close(fill.symbol, trade, fill.ts_ns)
            direction = 1 if position_after > 0 else -1
            opening_fee = fill.fee * (1.0 - closing_share)
            self._open[fill.symbol] = _opened(fill, abs(position_after), opening_fee, direction)
            return
        trade.pnl += realized_pnl - fill.fee
        trade.fees += fill.fee
        if abs(position_after) > abs(position_before):
            trade.add_entry(fill.quantity, fill.price)
        else:
            trade.add_exit(fill.quantity, fill.price)
        trade.max_quantity = max(trade.max_quantity, abs(position_after))
        if abs(position_after) <= _QTY_EPS:
            self._close(fill.symbol, trade, fill.ts_ns)

    def _close(self, symbol: str, trade: _OpenTrade, exit_ns: int) -> None:
        del self._open[symbol]
        self.closed.append(
            _closed_trade(
                symbol,
                trade.direction,
                trade.entry_ns,
                exit_ns,
                trade.max_quantity,
                trade.pnl,
                trade.entry_price,
                trade.exit_price,
                trade.fees,
                self._rate_of(symbol) if self._rate_of is not None else 1.0,
            )
        )

    @property
    def open_symbols(self) -> tuple[str, ...]:
        return tuple(self._open)
