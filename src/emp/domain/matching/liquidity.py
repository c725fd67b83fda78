"""Liquidity sources: market updates generated under a seed, or replayed from bars.

Both produce :class:`BookSnapshot` and :class:`TradePrint` updates for a
:class:`~emp.domain.matching.engine.MatchingEngine` (or a
:class:`~emp.domain.matching.exchange.SimulatedExchange`), so fills depend on displayed
depth and on other participants' trades, as on a real venue.
"""

from __future__ import annotations

import math

import numpy as np

from emp.domain.bars import Bar
from emp.domain.errors import InvalidConfiguration
from emp.domain.instruments import Instrument
from emp.domain.matching.market_data import BookSnapshot, Level, MarketUpdate, TradePrint
from emp.domain.orders import OrderSide


def ladder(
    instrument: Instrument,
    *,
    ts_ns: int,
    best_bid: float,
    levels: int,
    size: float | list[float],
    spread_ticks: int = 1,
) -> BookSnapshot:
    """A snapshot with ``levels`` levels a tick apart on each side below/above ``best_bid``.

    ``size`` is one size for every level or one per level (best first, both sides).
    """
    if levels < 1 or spread_ticks < 1:
        raise InvalidConfiguration(
            f"levels and spread_ticks must be >= 1, were {levels} and {spread_ticks}"
        )
    sizes = [size] * levels if isinstance(size, int | float) else list(size)
    if len(sizes) != levels:
        raise InvalidConfiguration(f"expected {levels} sizes, was {len(sizes)}")
    tick = instrument.tick_size
    bid_ticks = round(best_bid / tick)
    ask_ticks = bid_ticks + spread_ticks
    bids: tuple[Level, ...] = tuple(
        (round((bid_ticks - i) * tick, 12), float(sizes[i]))
        for i in range(levels)
        if bid_ticks - i > 0
    )
    asks: tuple[Level, ...] = tuple(
        (round((ask_ticks + i) * tick, 12), float(sizes[i])) for i in range(levels)
    )
    return BookSnapshot(symbol=instrument.symbol, ts_ns=ts_ns, bids=bids, asks=asks)


class SyntheticLiquidity:
    """A seeded random-walk market: each :meth:`step` moves the mid and re-quotes depth.

    Args:
        instrument: the instrument quoted.
        rng: the generator every random draw comes from.
        start_price: the initial best bid.
        levels: price levels quoted per side.
        mean_size: mean displayed size per level (sizes are drawn around it, in lots).
        spread_ticks: best ask minus best bid, in ticks.
        trade_probability: chance per step of a trade print at the touch.
    """

    def __init__(
        self,
        instrument: Instrument,
        rng: np.random.Generator,
        *,
        start_price: float,
        levels: int = 5,
        mean_size: float = 100.0,
        spread_ticks: int = 1,
        trade_probability: float = 0.3,
    ) -> None:
        if not (math.isfinite(start_price) and start_price > 0):
            raise InvalidConfiguration(f"start_price must be > 0, was {start_price!r}")
        if not 0 <= trade_probability <= 1:
            raise InvalidConfiguration(
                f"trade_probability must be in [0, 1], was {trade_probability!r}"
            )
        self._instrument = instrument
        self._rng = rng
        self._bid_ticks = round(start_price / instrument.tick_size)
        self._levels = levels
        self._mean_lots = max(1.0, mean_size / instrument.lot_size)
        self._spread = spread_ticks
        self._trade_probability = trade_probability

    def step(self, ts_ns: int) -> list[MarketUpdate]:
        """The next updates: maybe a trade print at the touch, then a fresh snapshot."""
        instrument = self._instrument
        updates: list[MarketUpdate] = []
        move = int(self._rng.integers(-1, 2))
        if self._rng.random() < self._trade_probability:
            aggressor = OrderSide.BUY if self._rng.random() < 0.5 else OrderSide.SELL
            touch = self._bid_ticks
            if aggressor is OrderSide.BUY:
                touch += self._spread
            lots = 1 + int(self._rng.poisson(self._mean_lots / 4))
            updates.append(
                TradePrint(
                    symbol=instrument.symbol,
                    ts_ns=ts_ns,
                    price=round(touch * instrument.tick_size, 12),
                    quantity=round(lots * instrument.lot_size, 12),
                    aggressor=aggressor,
                )
            )
        self._bid_ticks = max(self._levels + 1, self._bid_ticks + move)
        lots = 1 + self._rng.poisson(self._mean_lots, size=self._levels)
        sizes = [round(int(n) * instrument.lot_size, 12) for n in lots]
        updates.append(
            ladder(
                instrument,
                ts_ns=ts_ns,
                best_bid=self._bid_ticks * instrument.tick_size,
                levels=self._levels,
                size=sizes,
                spread_ticks=self._spread,
            )
        )
        return updates


def bar_updates(
    bar: Bar,
    instrument: Instrument,
    *,
    levels: int = 5,
    size_per_level: float | None = None,
    spread_ticks: int = 1,
) -> list[MarketUpdate]:
    """Replay one bar as market data: a book at the open, trades through the range, a book
    at the close.

    The book around the open has ``levels`` levels of ``size_per_level`` (default: a
    tenth of the bar's volume, at least one lot). Half the volume then trades down to the
    low and half up to the high — the low first on an up bar, the high first on a down
    bar — so resting orders inside the range fill in queue order. Timestamps are the
    bar's open time: the whole bar happens "at" its open.
    """
    ts = bar.ts_ns
    lot = instrument.lot_size
    size = size_per_level if size_per_level is not None else max(lot, bar.volume / 10)
    size = max(lot, math.floor(size / lot) * lot)
    half = math.floor(bar.volume / 2 / lot) * lot

    def book_at(price: float) -> BookSnapshot:
        bid_ticks = max(1, round(price / instrument.tick_size) - spread_ticks // 2)
        best_bid = bid_ticks * instrument.tick_size
        return ladder(
            instrument,
            ts_ns=ts,
            best_bid=best_bid,
            levels=levels,
            size=size,
            spread_ticks=spread_ticks,
        )

    def sweep(price: float, aggressor: OrderSide) -> list[MarketUpdate]:
        if half <= 0:
            return []
        return [
            TradePrint(
                symbol=bar.symbol,
                ts_ns=ts,
                price=instrument.round_price(price),
                quantity=half,
                aggressor=aggressor,
            )
        ]

    down = sweep(bar.low, OrderSide.SELL)
    up = sweep(bar.high, OrderSide.BUY)
    path = down + up if bar.close >= bar.open else up + down
    return [book_at(bar.open), *path, book_at(bar.close)]
