"""Order-book imbalance: EMP's built-in strategy for book data (``emp backtest --book``).

On each :class:`~emp.domain.matching.BookSnapshot` (:meth:`Strategy.on_book`), with
``B`` and ``A`` the displayed sizes of the best ``levels`` bid and ask levels::

    imbalance = (B − A) / (B + A)        in [−1, 1]

* ``imbalance > threshold`` → be long ``units``;
* ``imbalance < −threshold`` → be short ``units`` (flat instead when ``long_only``);
* otherwise → keep the position.

An order is a MARKET IOC order for the difference between the target and the position
(it walks the venue's displayed book; what the book cannot fill is canceled). A decision
is taken on every ``every``-th snapshot of a symbol whose both sides are shown, and not
within ``cooldown_us`` microseconds of the symbol's previous order (so that an order
still on its way through the venue's latency is not sent twice). Trade prints and bars
are ignored. Each symbol is traded on its own.

Parameters (``--param key=value``):
    levels (int, 5): book levels per side summed into ``B`` and ``A`` (>= 1).
    threshold (float, 0.2): the imbalance that flips the target, in [0, 1).
    units (float, 100.0): the size of the long or short target, instrument units (> 0).
    every (int, 1): decide on every n-th two-sided snapshot of a symbol (>= 1).
    cooldown_us (float, 0.0): least time between two orders of a symbol, microseconds.
    long_only (bool, False): never go short (a sell signal goes flat).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from emp.domain.bars import Bar
from emp.domain.errors import InvalidConfiguration
from emp.domain.matching.market_data import BookSnapshot, MarketUpdate
from emp.domain.orders import OrderSide, OrderType, TimeInForce
from emp.domain.strategy import OrderIntent, Strategy, StrategyContext, StrategySpec


def imbalance(snapshot: BookSnapshot, levels: int) -> float | None:
    """``(B − A) / (B + A)`` over the best ``levels`` of each side; ``None`` when either
    side is empty."""
    if not snapshot.bids or not snapshot.asks:
        return None
    bid = math.fsum(size for _, size in snapshot.bids[:levels])
    ask = math.fsum(size for _, size in snapshot.asks[:levels])
    total = bid + ask
    return (bid - ask) / total if total > 0 else None


class BookImbalance(Strategy):
    """Long when bids outweigh asks, short (or flat) when asks do (see the module doc)."""

    name = "book_imbalance"

    def __init__(
        self,
        *,
        levels: int = 5,
        threshold: float = 0.2,
        units: float = 100.0,
        every: int = 1,
        cooldown_us: float = 0.0,
        long_only: bool = False,
    ) -> None:
        if levels < 1 or every < 1:
            raise InvalidConfiguration(
                f"levels and every must be >= 1, were {levels!r} and {every!r}"
            )
        if not 0 <= threshold < 1:
            raise InvalidConfiguration(f"threshold must be in [0, 1), was {threshold!r}")
        if not (math.isfinite(units) and units > 0):
            raise InvalidConfiguration(f"units must be a finite number > 0, was {units!r}")
        if not (math.isfinite(cooldown_us) and cooldown_us >= 0):
            raise InvalidConfiguration(f"cooldown_us must be >= 0, was {cooldown_us!r}")
        self.levels = levels
        self.threshold = threshold
        self.units = units
        self.every = every
        self.cooldown_ns = round(cooldown_us * 1_000)
        self.long_only = long_only
        self._seen: dict[str, int] = {}
        self._last_order_ns: dict[str, int] = {}

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Sequence[OrderIntent]:
        return ()

    def on_book(self, update: MarketUpdate, ctx: StrategyContext) -> Sequence[OrderIntent]:
        if not isinstance(update, BookSnapshot):
            return ()
        value = imbalance(update, self.levels)
        if value is None:
            return ()
        symbol = update.symbol
        seen = self._seen.get(symbol, 0) + 1
        self._seen[symbol] = seen
        if seen % self.every:
            return ()
        last = self._last_order_ns.get(symbol)
        if last is not None and update.ts_ns - last < self.cooldown_ns:
            return ()
        position = ctx.position(symbol)
        if value > self.threshold:
            target = self.units
        elif value < -self.threshold:
            target = 0.0 if self.long_only else -self.units
        else:
            return ()
        quantity = ctx.instrument(symbol).round_down_quantity(abs(target - position))
        if quantity <= 0:
            return ()
        self._last_order_ns[symbol] = update.ts_ns
        side = OrderSide.BUY if target > position else OrderSide.SELL
        return (
            OrderIntent(
                symbol=symbol,
                side=side,
                quantity=quantity,
                order_type=OrderType.MARKET,
                time_in_force=TimeInForce.IOC,
                tag=f"imbalance {value:+.3f}",
            ),
        )


def _build(params: Mapping[str, Any]) -> Strategy:
    return BookImbalance(
        levels=params["levels"],
        threshold=params["threshold"],
        units=params["units"],
        every=params["every"],
        cooldown_us=params["cooldown_us"],
        long_only=params["long_only"],
    )


BOOK_IMBALANCE_SPEC = StrategySpec(
    name="book_imbalance",
    factory=_build,
    description="Order-book imbalance on book data: long when bids outweigh asks over the "
    "best levels, short (or flat) when asks do; market IOC orders walk the book.",
    parameters={
        "levels": 5,
        "threshold": 0.2,
        "units": 100.0,
        "every": 1,
        "cooldown_us": 0.0,
        "long_only": False,
    },
)
