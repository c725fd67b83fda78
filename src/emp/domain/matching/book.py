"""A price-time priority limit order book for one instrument.

Each price level is a FIFO queue of entries: own orders (orders the venue accepted) and
anonymous displayed size from market data ("external" lots). Takers walk the opposite
side best price first and, within a level, oldest entry first. Where an own passive
order stands relative to displayed size is decided by a :class:`QueueModel`.

The book knows nothing of events: :meth:`OrderBook.take` returns the trades it made
and the engine turns them into fills.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass

from emp.domain.matching.records import QueueModel
from emp.domain.matching.venue_order import VenueOrder
from emp.domain.orders import OrderSide


class _Entry:
    """One queue slot: an own order's resting lots, or anonymous displayed lots."""

    __slots__ = ("lots", "order")

    def __init__(self, order: VenueOrder | None, lots: int) -> None:
        self.order = order
        self.lots = lots


@dataclass(frozen=True, slots=True)
class Trade:
    """A taker met one resting entry: ``maker`` is ``None`` for displayed (external) size."""

    maker: VenueOrder | None
    price_ticks: int
    lots: int


class PriceLevel:
    """The FIFO queue at one price, with running totals of own and external lots."""

    __slots__ = ("external_lots", "own_lots", "queue", "ticks")

    def __init__(self, ticks: int) -> None:
        self.ticks = ticks
        self.queue: deque[_Entry] = deque()
        self.external_lots = 0
        self.own_lots = 0

    @property
    def total_lots(self) -> int:
        return self.external_lots + self.own_lots

    def own_orders(self) -> list[VenueOrder]:
        return [entry.order for entry in self.queue if entry.order is not None]


class BookSide:
    """One side's levels by price; ``prices`` is kept sorted ascending."""

    __slots__ = ("levels", "prices", "side")

    def __init__(self, side: OrderSide) -> None:
        self.side = side
        self.levels: dict[int, PriceLevel] = {}
        self.prices: list[int] = []

    def best(self) -> int | None:
        if not self.prices:
            return None
        return self.prices[-1] if self.side is OrderSide.BUY else self.prices[0]

    def best_first(self) -> list[int]:
        return list(reversed(self.prices)) if self.side is OrderSide.BUY else list(self.prices)

    def level(self, ticks: int) -> PriceLevel:
        level = self.levels.get(ticks)
        if level is None:
            level = PriceLevel(ticks)
            self.levels[ticks] = level
            bisect.insort(self.prices, ticks)
        return level

    def drop_if_empty(self, level: PriceLevel) -> None:
        if not level.queue:
            del self.levels[level.ticks]
            del self.prices[bisect.bisect_left(self.prices, level.ticks)]

    def crosses(self, ticks: int, taker_limit: int | None) -> bool:
        """Whether a taker on the other side with ``taker_limit`` may trade at ``ticks``."""
        if taker_limit is None:
            return True
        if self.side is OrderSide.SELL:  # resting asks, taker buys
            return ticks <= taker_limit
        return ticks >= taker_limit


class OrderBook:
    """The book of one instrument. Quantities are lots, prices ticks."""

    def __init__(self, symbol: str, queue_model: QueueModel = QueueModel.RISK_AVERSE) -> None:
        self.symbol = symbol
        self.queue_model = queue_model
        self.bids = BookSide(OrderSide.BUY)
        self.asks = BookSide(OrderSide.SELL)
        self._entries: dict[int, _Entry] = {}  # id(order) -> its resting entry

    def side(self, side: OrderSide) -> BookSide:
        return self.bids if side is OrderSide.BUY else self.asks

    # ------------------------------------------------------------------ queries
    def best_bid(self) -> int | None:
        return self.bids.best()

    def best_ask(self) -> int | None:
        return self.asks.best()

    def is_crossed(self) -> bool:
        bid, ask = self.best_bid(), self.best_ask()
        return bid is not None and ask is not None and bid >= ask

    def depth(self, side: OrderSide) -> list[tuple[int, int]]:
        """(price ticks, total lots) per level, best first."""
        book_side = self.side(side)
        return [(t, book_side.levels[t].total_lots) for t in book_side.best_first()]

    def resting_orders(self) -> list[VenueOrder]:
        """Own orders on the book, bids best first then asks best first, each in queue order."""
        orders: list[VenueOrder] = []
        for book_side in (self.bids, self.asks):
            for ticks in book_side.best_first():
                orders.extend(book_side.levels[ticks].own_orders())
        return orders

    def is_resting(self, order: VenueOrder) -> bool:
        return id(order) in self._entries

    def available(self, taker_side: OrderSide, limit_ticks: int | None, needed: int) -> int:
        """Lots a taker could get at ``limit_ticks`` or better (stops counting at ``needed``)."""
        opposite = self.side(taker_side.opposite)
        total = 0
        for ticks in opposite.best_first():
            if not opposite.crosses(ticks, limit_ticks) or total >= needed:
                break
            total += opposite.levels[ticks].total_lots
        return total

    # ------------------------------------------------------------------ own orders
    def rest(self, order: VenueOrder) -> None:
        """Queue ``order``'s leaves at its price (behind displayed size unless FRONT)."""
        assert order.price_ticks is not None, "only limit orders rest"
        level = self.side(order.side).level(order.price_ticks)
        entry = _Entry(order, order.leaves_lots)
        if self.queue_model is QueueModel.FRONT:
            position = sum(1 for e in level.queue if e.order is not None)
            level.queue.insert(position, entry)
        else:
            level.queue.append(entry)
        level.own_lots += entry.lots
        self._entries[id(order)] = entry

    def remove(self, order: VenueOrder) -> None:
        entry = self._entries.pop(id(order), None)
        if entry is None:
            return
        assert order.price_ticks is not None
        book_side = self.side(order.side)
        level = book_side.levels[order.price_ticks]
        level.queue.remove(entry)
        level.own_lots -= entry.lots
        book_side.drop_if_empty(level)

    def reduce(self, order: VenueOrder, lots: int) -> None:
        """Shrink a resting order in place (keeps its queue position)."""
        entry = self._entries[id(order)]
        assert order.price_ticks is not None
        level = self.side(order.side).levels[order.price_ticks]
        level.own_lots -= entry.lots - lots
        entry.lots = lots

    # ------------------------------------------------------------------ matching
    def take(self, taker_side: OrderSide, limit_ticks: int | None, lots: int) -> list[Trade]:
        """Match up to ``lots`` against the opposite side, best price then oldest first."""
        opposite = self.side(taker_side.opposite)
        trades: list[Trade] = []
        while lots > 0:
            best = opposite.best()
            if best is None or not opposite.crosses(best, limit_ticks):
                break
            level = opposite.levels[best]
            while lots > 0 and level.queue:
                entry = level.queue[0]
                quantity = min(lots, entry.lots)
                entry.lots -= quantity
                lots -= quantity
                if entry.order is None:
                    level.external_lots -= quantity
                else:
                    level.own_lots -= quantity
                trades.append(Trade(entry.order, best, quantity))
                if entry.lots == 0:
                    level.queue.popleft()
                    if entry.order is not None:
                        del self._entries[id(entry.order)]
            opposite.drop_if_empty(level)
        return trades

    # ------------------------------------------------------------------ displayed size
    def external_lots(self, side: OrderSide, ticks: int) -> int:
        level = self.side(side).levels.get(ticks)
        return 0 if level is None else level.external_lots

    def add_external(self, side: OrderSide, ticks: int, lots: int) -> None:
        """New displayed size joins the back of its level's queue."""
        if lots <= 0:
            return
        level = self.side(side).level(ticks)
        level.queue.append(_Entry(None, lots))
        level.external_lots += lots

    def remove_external(self, side: OrderSide, ticks: int, lots: int) -> None:
        """Displayed size left the level (canceled by others): taken per the queue model."""
        book_side = self.side(side)
        level = book_side.levels.get(ticks)
        if level is None or lots <= 0:
            return
        lots = min(lots, level.external_lots)
        externals = [entry for entry in level.queue if entry.order is None]
        if self.queue_model is QueueModel.PROPORTIONAL:
            _take_proportionally(externals, lots)
        else:
            remaining = lots
            for entry in reversed(externals):
                cut = min(remaining, entry.lots)
                entry.lots -= cut
                remaining -= cut
                if remaining == 0:
                    break
        level.external_lots -= lots
        level.queue = deque(e for e in level.queue if e.order is not None or e.lots > 0)
        book_side.drop_if_empty(level)


def _take_proportionally(entries: list[_Entry], lots: int) -> None:
    """Cut ``lots`` from ``entries`` in proportion to their sizes (largest remainders last)."""
    total = sum(entry.lots for entry in entries)
    if total == 0:
        return
    cuts = [entry.lots * lots // total for entry in entries]
    left = lots - sum(cuts)
    # Hand the rounding remainder to the entries with the largest fractional parts,
    # the earliest first on ties: deterministic.
    order = sorted(range(len(entries)), key=lambda i: (-(entries[i].lots * lots % total), i))
    for i in order:
        if left == 0:
            break
        if cuts[i] < entries[i].lots:
            cuts[i] += 1
            left -= 1
    for entry, cut in zip(entries, cuts, strict=True):
        entry.lots -= cut
