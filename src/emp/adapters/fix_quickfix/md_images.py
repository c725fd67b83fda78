"""What the served venue publishes, read from its matching engine: level and order images.

* :func:`engine_image` — the displayed book as price levels (a domain ``BookImage``).
* :class:`OrderIds` / :func:`engine_orders` — the displayed book order by order (an
  ``OrderImage``: MDEntryID → (entry type, price, size)), in time priority per level.
  An own resting order is named by the venue's OrderID (37); each block of displayed size
  from market data (an anonymous queue entry) gets a stable id ``M<n>`` for as long as it
  stays in the book, so a size change is a CHANGE of that id and a new block a NEW.
* :func:`price_levels` — MDPriceLevel (1023) for a list of level updates, as the
  receiving book will see each one when it is applied in order.

Everything here runs on the venue's worker thread (the only one touching the engine).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from emp.domain.books import BookImage
from emp.domain.books.l3 import OrderImage
from emp.domain.instruments import Instrument
from emp.domain.market_data import EntryType, UpdateAction
from emp.domain.matching import MatchingEngine
from emp.domain.matching.venue_order import lots_to_quantity, ticks_to_price
from emp.domain.orders import OrderSide

_SIDES = ((OrderSide.BUY, EntryType.BID), (OrderSide.SELL, EntryType.OFFER))


def engine_image(engine: MatchingEngine, instrument: Instrument) -> BookImage:
    """The engine's displayed book of ``instrument`` as price levels, best first."""
    book = engine.book(instrument.symbol)
    return tuple(
        tuple(
            (ticks_to_price(t, instrument), lots_to_quantity(lots, instrument))
            for t, lots in book.depth(side)
        )
        for side, _ in _SIDES
    )  # type: ignore[return-value]


class OrderIds:
    """Stable MDEntryIDs for the anonymous queue entries of one book.

    The entries are held (not just their ``id()``) so an id is never reused by a new
    object while the old one is remembered.
    """

    def __init__(self) -> None:
        self._known: dict[int, tuple[object, str]] = {}
        self._count = 0

    def name(self, entry: object, seen: dict[int, tuple[object, str]]) -> str:
        key = id(entry)
        known = self._known.get(key)
        if known is not None and known[0] is entry:
            name = known[1]
        else:
            self._count += 1
            name = f"M{self._count}"
        seen[key] = (entry, name)
        return name

    def keep_only(self, seen: dict[int, tuple[object, str]]) -> None:
        self._known = seen


def engine_orders(engine: MatchingEngine, instrument: Instrument, ids: OrderIds) -> OrderImage:
    """The engine's displayed book of ``instrument`` order by order (see the module
    docstring): bids best first then offers, each level in queue order."""
    book = engine.book(instrument.symbol)
    image: OrderImage = {}
    seen: dict[int, tuple[object, str]] = {}
    for side, entry_type in _SIDES:
        book_side = book.side(side)
        for ticks in book_side.best_first():
            price = ticks_to_price(ticks, instrument)
            for entry in book_side.levels[ticks].queue:
                if entry.lots <= 0:
                    continue
                order = entry.order
                name = order.order_id if order is not None else ids.name(entry, seen)
                image[name] = (entry_type, price, lots_to_quantity(entry.lots, instrument))
    ids.keep_only(seen)
    return image


def price_levels(before: BookImage, rows: Sequence[tuple]) -> list[int]:
    """MDPriceLevel of each (action, side, price, ...) row applied in order to ``before``:
    a DELETE's rank before it goes, a CHANGE's where it stands, a NEW's once inserted."""
    keys: tuple[list[float], list[float]] = (
        sorted(-price for price, _ in before[EntryType.BID]),
        sorted(price for price, _ in before[EntryType.OFFER]),
    )
    levels: list[int] = []
    for action, side, price, *_ in rows:
        side_keys = keys[side]
        key = -price if side == EntryType.BID else price
        at = bisect.bisect_left(side_keys, key)
        if action == UpdateAction.NEW:
            side_keys.insert(at, key)
        elif action == UpdateAction.DELETE:
            del side_keys[at]
        levels.append(at + 1)
    return levels
