"""L3Book: an order-level book (entries carry MDEntryID, 278) that aggregates to an L2Book.

Each order is keyed by its entry id and queued at its price level in arrival order (time
priority). The aggregated :attr:`L3Book.levels` is an ordinary :class:`L2Book` whose level
sizes are the exactly rounded sum (:func:`math.fsum`) of the orders queued there, so every
L2 query (BBO, depth, microprice, imbalance) works on an L3 book too.

Updates: NEW adds an order (its id must be unknown), CHANGE sets an order's size and, when
the price moves, re-queues it at the back of the new level; DELETE removes it. The side of
an order never changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from emp.domain.books.errors import BookInconsistent
from emp.domain.books.l2 import L2Book
from emp.domain.books.levels import OutsideGrid
from emp.domain.instruments import Instrument
from emp.domain.market_data import EntryType, UpdateAction

OrderImage = dict[str, tuple[int, float, float]]


class L3Book:
    """Orders of one instrument by entry id, with their L2 aggregate in :attr:`levels`."""

    __slots__ = ("_orders", "_queues", "levels", "symbol")

    def __init__(self, instrument: Instrument, *, grid_capacity: int = 4096) -> None:
        self.levels = L2Book(instrument, grid_capacity=grid_capacity)
        self.symbol = instrument.symbol
        self._orders: dict[str, tuple[int, int, float]] = {}
        self._queues: tuple[dict[int, dict[str, float]], dict[int, dict[str, float]]] = ({}, {})

    @property
    def instrument(self) -> Instrument:
        return self.levels.instrument

    def clear(self) -> None:
        self.levels.clear()
        self._orders.clear()
        self._queues = ({}, {})

    def __len__(self) -> int:
        return len(self._orders)

    def apply_entries(
        self,
        actions: Sequence[int],
        types: Sequence[int],
        prices: Sequence[float],
        sizes: Sequence[float],
        entry_ids: Sequence[str],
    ) -> None:
        """Apply one message's entries in order, then check the aggregate is not crossed."""
        orders = self._orders
        for i, action in enumerate(actions):
            t = types[i]
            if t > 1:
                continue
            order_id = entry_ids[i]
            if not order_id:
                raise BookInconsistent(
                    f"{self.symbol}: an order-level book needs MDEntryID (278) on every "
                    "bid and offer entry, was missing"
                )
            if action == UpdateAction.NEW:
                if order_id in orders:
                    raise BookInconsistent(
                        f"{self.symbol}: NEW order {order_id!r}, expected an unknown id, "
                        "was already in the book"
                    )
                self._insert(order_id, t, prices[i], sizes[i])
            elif action in (UpdateAction.CHANGE, UpdateAction.DELETE):
                known = orders.get(order_id)
                if known is None:
                    raise BookInconsistent(
                        f"{self.symbol}: {UpdateAction(action).name} order {order_id!r}, "
                        "expected a known id, was unknown"
                    )
                if known[0] != t:
                    raise BookInconsistent(
                        f"{self.symbol}: order {order_id!r} is a {EntryType(known[0]).name}, "
                        f"an update named it a {EntryType(t).name}"
                    )
                if action == UpdateAction.DELETE:
                    self._remove(order_id)
                elif self.levels.tick_of(prices[i]) == (
                    -known[1] if t == EntryType.BID else known[1]
                ):
                    self._resize(order_id, sizes[i])
                else:
                    self._remove(order_id)
                    self._insert(order_id, t, prices[i], sizes[i])
            else:
                raise BookInconsistent(
                    f"{self.symbol}: expected NEW, CHANGE or DELETE in an order-level book, "
                    f"was action {action!r}"
                )
        self.levels.check_uncrossed()

    # ------------------------------------------------------------------------ helpers
    def _insert(self, order_id: str, t: int, price: float, size: float) -> None:
        if not size > 0:
            raise BookInconsistent(
                f"{self.symbol}: order {order_id!r} size must be > 0, was {size!r}"
            )
        tick = self.levels.tick_of(price)
        key = -tick if t == EntryType.BID else tick
        self._orders[order_id] = (t, key, size)
        queue = self._queues[t].setdefault(key, {})
        queue[order_id] = size
        self._publish(t, key, queue)

    def _resize(self, order_id: str, size: float) -> None:
        if not size > 0:
            raise BookInconsistent(
                f"{self.symbol}: order {order_id!r} size must be > 0, was {size!r}"
            )
        t, key, _ = self._orders[order_id]
        self._orders[order_id] = (t, key, size)
        queue = self._queues[t][key]
        queue[order_id] = size
        self._publish(t, key, queue)

    def _remove(self, order_id: str) -> None:
        t, key, _ = self._orders.pop(order_id)
        queue = self._queues[t][key]
        del queue[order_id]
        if not queue:
            del self._queues[t][key]
        self._publish(t, key, queue)

    def _publish(self, t: int, key: int, queue: dict[str, float]) -> None:
        """Make the aggregate level at ``key`` equal the sum of its queue."""
        store = self.levels._sides[t]
        had = store.get(key)
        if not queue:
            if had:
                store.remove(key)
            return
        total = math.fsum(queue.values())
        if had:
            store.set(key, total)
            return
        try:
            store.add(key, total)
        except OutsideGrid:
            self.levels._widen(t, key).add(key, total)

    # ------------------------------------------------------------------------- reads
    def queue(self, side: int, price: float) -> list[tuple[str, float]]:
        """The orders at ``price`` on ``side`` in time priority: (entry id, size)."""
        tick = self.levels.tick_of(price)
        key = -tick if side == EntryType.BID else tick
        return list(self._queues[side].get(key, {}).items())

    def image(self) -> OrderImage:
        """Every order: entry id → (entry type, price, size)."""
        price_of = self.levels.price_of
        return {
            oid: (t, price_of(-key if t == EntryType.BID else key), size)
            for oid, (t, key, size) in self._orders.items()
        }

    def check_invariants(self) -> None:
        self.levels.check_invariants()
        for side in (EntryType.BID, EntryType.OFFER):
            for key, queue in self._queues[side].items():
                if not queue or self.levels._sides[side].get(key) != math.fsum(queue.values()):
                    raise BookInconsistent(f"{self.symbol}: aggregate out of step with orders")
