"""Tradable instruments and the price/quantity grids they impose."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from emp.domain.errors import InvalidInstrument, InvalidOrder, UnknownInstrument

# Tolerance used when deciding whether a float lies on a grid: prices such as 101.15 are not
# exactly representable, so "on tick" means within 1e-9 steps (plus a few ulps of the
# ratio, for huge step counts) of a multiple — never a fraction of a step that grows.
_GRID_TOLERANCE = 1e-9


_ULPS = 16 * sys.float_info.epsilon


def _on_grid(value: float, step: float) -> bool:
    ratio = value / step
    off = ratio - round(ratio)
    if off == 0.0:  # the common case: a whole number of steps
        return True
    return abs(off) <= _GRID_TOLERANCE + _ULPS * abs(ratio)


@dataclass(frozen=True, slots=True, kw_only=True)
class Instrument:
    """A tradable instrument.

    Attributes:
        symbol: the venue symbol (FIX tag 55).
        tick_size: the minimum price increment; every limit price must be a multiple of it.
        lot_size: the minimum quantity increment; every order quantity must be a multiple.
        currency: ISO currency of prices.
    """

    symbol: str
    tick_size: float = 0.01
    lot_size: float = 1.0
    currency: str = "USD"

    def __post_init__(self) -> None:
        if not self.symbol or not self.symbol.strip():
            raise InvalidInstrument("instrument symbol must be a non-empty string")
        if not (math.isfinite(self.tick_size) and self.tick_size > 0):
            raise InvalidInstrument(f"{self.symbol}: tick_size must be > 0, was {self.tick_size!r}")
        if not (math.isfinite(self.lot_size) and self.lot_size > 0):
            raise InvalidInstrument(f"{self.symbol}: lot_size must be > 0, was {self.lot_size!r}")

    def is_on_tick(self, price: float) -> bool:
        return math.isfinite(price) and _on_grid(price, self.tick_size)

    def is_lot_multiple(self, quantity: float) -> bool:
        return math.isfinite(quantity) and _on_grid(quantity, self.lot_size)

    def round_price(self, price: float) -> float:
        """The nearest on-tick price (used by generators, never to silently fix orders)."""
        ticks = round(price / self.tick_size)
        return round(ticks * self.tick_size, 12)

    def round_down_quantity(self, quantity: float) -> float:
        """The largest lot multiple not above ``quantity`` (for sizing)."""
        lots = math.floor(quantity / self.lot_size + _GRID_TOLERANCE)
        return round(lots * self.lot_size, 12)

    def check_order(self, quantity: float, price: float | None) -> None:
        """Raise :class:`InvalidOrder` unless quantity and price fit this instrument."""
        if not math.isfinite(quantity) or quantity <= 0:
            raise InvalidOrder(f"{self.symbol}: order quantity must be > 0, was {quantity!r}")
        if not self.is_lot_multiple(quantity):
            raise InvalidOrder(
                f"{self.symbol}: order quantity must be a multiple of lot size "
                f"{self.lot_size}, was {quantity!r}"
            )
        if price is not None:
            if not math.isfinite(price) or price <= 0:
                raise InvalidOrder(f"{self.symbol}: limit price must be > 0, was {price!r}")
            if not self.is_on_tick(price):
                raise InvalidOrder(
                    f"{self.symbol}: limit price must be a multiple of tick size "
                    f"{self.tick_size}, was {price!r}"
                )


class InstrumentRegistry(Mapping[str, Instrument]):
    """An immutable symbol → instrument lookup that names unknown symbols clearly."""

    __slots__ = ("_by_symbol",)

    def __init__(self, instruments: Iterable[Instrument]) -> None:
        by_symbol: dict[str, Instrument] = {}
        for instrument in instruments:
            if instrument.symbol in by_symbol:
                raise InvalidInstrument(f"instrument {instrument.symbol!r} registered twice")
            by_symbol[instrument.symbol] = instrument
        self._by_symbol = by_symbol

    def __getitem__(self, symbol: str) -> Instrument:
        try:
            return self._by_symbol[symbol]
        except KeyError:
            known = ", ".join(sorted(self._by_symbol)) or "none"
            raise UnknownInstrument(
                f"unknown symbol {symbol!r}; known instruments: {known}"
            ) from None

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._by_symbol

    def get(self, symbol: str, default: Instrument | None = None) -> Instrument | None:  # type: ignore[override]
        return self._by_symbol.get(symbol, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_symbol)

    def __len__(self) -> int:
        return len(self._by_symbol)
