"""Market data the venue's liquidity comes from: book snapshots and trade prints.

A :class:`BookSnapshot` sets the displayed (other participants') size per price level; a
:class:`TradePrint` is other participants' aggressive flow, which trades against resting
orders — own passive orders included, in queue order — up to its price.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from emp.domain.instruments import Instrument
from emp.domain.matching.errors import InvalidMarketData
from emp.domain.orders import OrderSide

Level = tuple[float, float]  # (price, size)


@dataclass(frozen=True, slots=True, kw_only=True)
class BookSnapshot:
    """Displayed depth of one instrument at ``ts_ns``; levels best first, sizes > 0."""

    symbol: str
    ts_ns: int
    bids: tuple[Level, ...] = ()
    asks: tuple[Level, ...] = ()

    @property
    def mid(self) -> float | None:
        """``(best bid + best ask) / 2``; ``None`` when a side is empty."""
        if self.bids and self.asks:
            return (self.bids[0][0] + self.asks[0][0]) / 2.0
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class TradePrint:
    """Others traded ``quantity`` at up to ``price``, ``aggressor`` being the taking side."""

    symbol: str
    ts_ns: int
    price: float
    quantity: float
    aggressor: OrderSide


MarketUpdate = BookSnapshot | TradePrint


def levels_in_units(
    levels: tuple[Level, ...], instrument: Instrument, side: OrderSide
) -> dict[int, int]:
    """{price ticks: lots} of a snapshot side; sizes round down to whole lots.

    Raises :class:`InvalidMarketData` for an off-tick or non-positive price, a negative or
    non-finite size, a repeated price, or levels not best first.
    """
    out: dict[int, int] = {}
    previous: int | None = None
    for price, size in levels:
        ticks = check_price(price, instrument)
        if not math.isfinite(size) or size < 0:
            raise InvalidMarketData(
                f"{instrument.symbol}: level size must be a finite number >= 0, was {size!r}"
            )
        if ticks in out:
            raise InvalidMarketData(f"{instrument.symbol}: price {price!r} appears twice")
        if previous is not None and (
            (side is OrderSide.BUY and ticks > previous)
            or (side is OrderSide.SELL and ticks < previous)
        ):
            raise InvalidMarketData(
                f"{instrument.symbol}: {side.value} levels must be best first, "
                f"{price!r} follows a worse price"
            )
        previous = ticks
        lots = math.floor(size / instrument.lot_size + 1e-9)
        if lots > 0:
            out[ticks] = lots
    return out


def check_price(price: float, instrument: Instrument) -> int:
    if not (math.isfinite(price) and price > 0) or not instrument.is_on_tick(price):
        raise InvalidMarketData(
            f"{instrument.symbol}: market-data price must be > 0 and a multiple of tick size "
            f"{instrument.tick_size!r}, was {price!r}"
        )
    return round(price / instrument.tick_size)
