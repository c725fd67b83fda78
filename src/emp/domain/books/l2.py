"""L2Book: the price-level book of one instrument, built from MD entries.

Prices live as integer ticks of the instrument's tick size (an off-tick price is refused),
so levels compare exactly. Each side starts on a fixed grid of ``grid_capacity`` ticks
(the fast path) centred on its first level; a level outside the window re-centres the
grid when everything still fits, and otherwise moves that side to the sparse store for
good (until :meth:`L2Book.clear`).

Invariants, checked on every update or at the end of each message:

* every size is > 0 (a NEW or CHANGE with size <= 0 is refused);
* a NEW names a price that is not yet a level, a CHANGE or DELETE one that is;
* when an entry carries MDPriceLevel (1023) it must be the level's rank on its side;
* the book is neither locked nor crossed (best bid < best ask) unless the venue declared
  such a state (:meth:`L2Book.declare_crossing`, e.g. during an auction);
* levels are sorted best first on each side (by construction; :meth:`check_invariants`
  re-verifies it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from emp.domain.books.errors import BookInconsistent
from emp.domain.books.levels import GridLevels, OutsideGrid, SparseLevels, regrid
from emp.domain.instruments import Instrument
from emp.domain.market_data import ABSENT, EntryType, UpdateAction

_TICK_TOLERANCE = 1e-6
#: ``best`` of an empty grid side in :meth:`L2Book.grid_meta`.
NO_BEST = 2**62
_NAN = math.nan
_SIDE_NAMES = ("bid", "offer")


@dataclass(frozen=True, slots=True)
class BookLevel:
    """One price level: its price and total size."""

    price: float
    size: float


BookImage = tuple[tuple[tuple[float, float], ...], tuple[tuple[float, float], ...]]


class L2Book:
    """A full-depth price-level book (see the module docstring for its invariants).

    Args:
        instrument: gives the symbol and the tick size prices are keyed by.
        grid_capacity: ticks covered by the fast-path grid of each side.
        max_depth: for depth-limited feeds, levels beyond this rank are dropped after a
            NEW pushes them out; ``None`` keeps every level.
        crossing_declared: start in a declared locked/crossed state.
    """

    __slots__ = (
        "_capacity",
        "_crossing_declared",
        "_decimals",
        "_grid",
        "_inv_tick",
        "_max_depth",
        "_prices",
        "_sides",
        "instrument",
        "symbol",
        "tick_size",
    )

    def __init__(
        self,
        instrument: Instrument,
        *,
        grid_capacity: int = 4096,
        max_depth: int | None = None,
        crossing_declared: bool = False,
    ) -> None:
        if grid_capacity < 2:
            raise ValueError(f"grid_capacity must be >= 2, was {grid_capacity}")
        if max_depth is not None and max_depth < 1:
            raise ValueError(f"max_depth must be >= 1 or None, was {max_depth}")
        self.instrument = instrument
        self.symbol = instrument.symbol
        self.tick_size = instrument.tick_size
        self._inv_tick = 1.0 / instrument.tick_size
        exponent = Decimal(repr(instrument.tick_size)).normalize().as_tuple().exponent
        self._decimals = max(0, -int(exponent)) + 1
        self._capacity = grid_capacity
        self._max_depth = max_depth
        self._crossing_declared = crossing_declared
        self._prices: dict[int, float] = {}
        self._grid = np.zeros((2, grid_capacity))
        self._sides: list[GridLevels | SparseLevels] = [SparseLevels(), SparseLevels()]
        self.clear()

    # ------------------------------------------------------------------------ prices
    def tick_of(self, price: float) -> int:
        """The price in ticks; raises :class:`BookInconsistent` when off the tick grid."""
        x = price * self._inv_tick
        if not math.isfinite(x):
            raise BookInconsistent(f"{self.symbol}: expected a finite price, was {price!r}")
        k = round(x)
        if abs(x - k) > _TICK_TOLERANCE:
            raise BookInconsistent(
                f"{self.symbol}: expected a multiple of tick size {self.tick_size}, was {price!r}"
            )
        return k

    def price_of(self, tick: int) -> float:
        price = self._prices.get(tick)
        if price is None:
            price = round(tick * self.tick_size, self._decimals)
            if len(self._prices) > 65_536:
                self._prices.clear()
            self._prices[tick] = price
        return price

    # ------------------------------------------------------------------------ writes
    def clear(self) -> None:
        """Empty both sides (a snapshot starts from here); sides return to the grid."""
        grid = self._grid
        grid[:] = 0.0
        self._sides[:] = [
            GridLevels(0, self._capacity, grid[0]),
            GridLevels(0, self._capacity, grid[1]),
        ]

    def declare_crossing(self, declared: bool) -> None:
        """Enter (True) or leave (False) a venue-declared locked/crossed state."""
        self._crossing_declared = declared
        if not declared:
            self.check_uncrossed()

    @property
    def crossing_declared(self) -> bool:
        return self._crossing_declared

    @property
    def max_depth(self) -> int | None:
        return self._max_depth

    def apply(self, action: int, side: int, price: float, size: float, level: int = ABSENT) -> None:
        """Apply one entry, then check the book is not crossed."""
        self.apply_entries([action], [side], [price], [size], [level])

    def apply_entries(
        self,
        actions: Sequence[int],
        types: Sequence[int],
        prices: Sequence[float],
        sizes: Sequence[float],
        levels: Sequence[int] | None = None,
    ) -> None:
        """Apply the entries of one message in order; trade entries are skipped.

        The crossing check runs once at the end, so a message may pass through a
        transiently crossed state (a new bid above the old offer, then the offer's delete).
        """
        inv = self._inv_tick
        sides = self._sides
        for i, action in enumerate(actions):
            t = types[i]
            if t > 1:
                continue
            level = levels[i] if levels is not None else ABSENT
            if action > 2:
                self._delete_ranks(t, action, level)
                continue
            x = prices[i] * inv
            k = round(x) if x == x and abs(x) != math.inf else self.tick_of(prices[i])
            if x - k > _TICK_TOLERANCE or k - x > _TICK_TOLERANCE:
                self.tick_of(prices[i])
            key = -k if t == 0 else k
            store = sides[t]
            if action == 1:
                size = sizes[i]
                if not size > 0:
                    raise self._bad_size(t, prices[i], size)
                if not store.get(key):
                    raise self._missing(t, prices[i], "CHANGE")
                if level:
                    self._check_rank(store, key, level, t)
                store.set(key, size)
            elif action == 0:
                size = sizes[i]
                if not size > 0:
                    raise self._bad_size(t, prices[i], size)
                if store.get(key):
                    raise BookInconsistent(
                        f"{self.symbol}: NEW {_SIDE_NAMES[t]} at {prices[i]!r}, "
                        "expected no level there, was an existing level"
                    )
                try:
                    store.add(key, size)
                except OutsideGrid:
                    self._widen(t, key).add(key, size)
                if level:
                    self._check_rank(sides[t], key, level, t)
                if self._max_depth is not None and sides[t].count > self._max_depth:
                    self._trim(t)
            elif action == 2:
                if not store.get(key):
                    raise self._missing(t, prices[i], "DELETE")
                if level:
                    self._check_rank(store, key, level, t)
                store.remove(key)
            else:
                raise BookInconsistent(f"{self.symbol}: unknown update action {action!r}")
        self.check_uncrossed()

    def _widen(self, t: int, key: int) -> GridLevels | SparseLevels:
        store = self._sides[t]
        grid = (
            regrid(store, key, self._capacity, self._grid[t])
            if isinstance(store, GridLevels)
            else None
        )
        if grid is None:
            grid = SparseLevels({k: store.get(k) for k in store.ranked()})
            self._grid[t] = 0.0
        self._sides[t] = grid
        return grid

    def _delete_ranks(self, t: int, action: int, level: int) -> None:
        if level < 1:
            raise BookInconsistent(
                f"{self.symbol}: {UpdateAction(action).name} needs MDPriceLevel >= 1, was {level}"
            )
        store = self._sides[t]
        keys = store.ranked()
        doomed = keys[:level] if action == UpdateAction.DELETE_THRU else keys[level - 1 :]
        for key in doomed:
            store.remove(key)

    def _trim(self, t: int) -> None:
        store = self._sides[t]
        while self._max_depth is not None and store.count > self._max_depth:
            worst = store.worst()
            assert worst is not None
            store.remove(worst)

    def _check_rank(self, store: GridLevels | SparseLevels, key: int, level: int, t: int) -> None:
        rank = store.position(key)
        if rank != level:
            price = self.price_of(-key if t == 0 else key)
            raise BookInconsistent(
                f"{self.symbol}: {_SIDE_NAMES[t]} at {price!r} is level "
                f"{rank}, expected MDPriceLevel {level}"
            )

    def _bad_size(self, t: int, price: float, size: float) -> BookInconsistent:
        return BookInconsistent(
            f"{self.symbol}: {_SIDE_NAMES[t]} size at {price!r} must be > 0, was {size!r}"
        )

    def _missing(self, t: int, price: float, what: str) -> BookInconsistent:
        return BookInconsistent(
            f"{self.symbol}: {what} {_SIDE_NAMES[t]} at {price!r}, "
            "expected an existing level, was none"
        )

    def check_uncrossed(self) -> None:
        """Raise :class:`BookInconsistent` if locked or crossed outside a declared state."""
        bid, ask = self._sides[0].best, self._sides[1].best
        if bid is not None and ask is not None and -bid >= ask and not self._crossing_declared:
            state = "locked" if -bid == ask else "crossed"
            raise BookInconsistent(
                f"{self.symbol}: book is {state} (bid {self.price_of(-bid)!r} >= offer "
                f"{self.price_of(ask)!r}) outside a declared locked/crossed state"
            )

    # ------------------------------------------------------------------------- reads
    def bbo(self) -> tuple[float, float, float, float]:
        """(bid price, bid size, ask price, ask size); NaN for an empty side."""
        bids, asks = self._sides
        b, a = bids.best, asks.best
        if b is None:
            bid_px = bid_sz = _NAN
        else:
            bid_px, bid_sz = self.price_of(-b), bids.get(b)
        if a is None:
            ask_px = ask_sz = _NAN
        else:
            ask_px, ask_sz = self.price_of(a), asks.get(a)
        return bid_px, bid_sz, ask_px, ask_sz

    def best_bid(self) -> BookLevel | None:
        top = self.depth(EntryType.BID, 1)
        return top[0] if top else None

    def best_ask(self) -> BookLevel | None:
        top = self.depth(EntryType.OFFER, 1)
        return top[0] if top else None

    def depth(self, side: int, n: int | None = None) -> list[BookLevel]:
        """The best ``n`` levels of a side (all when ``n`` is None), best first."""
        store = self._sides[side]
        sign = -1 if side == EntryType.BID else 1
        return [BookLevel(self.price_of(sign * k), store.get(k)) for k in store.ranked(n)]

    def level_count(self, side: int) -> int:
        return self._sides[side].count

    def image(self) -> BookImage:
        """Every level of both sides as ((price, size), ...) pairs, best first."""
        return (
            tuple((lv.price, lv.size) for lv in self.depth(EntryType.BID)),
            tuple((lv.price, lv.size) for lv in self.depth(EntryType.OFFER)),
        )

    def spread(self) -> float:
        bid_px, _, ask_px, _ = self.bbo()
        return ask_px - bid_px

    def mid(self) -> float:
        bid_px, _, ask_px, _ = self.bbo()
        return (bid_px + ask_px) / 2.0

    def microprice(self) -> float:
        """Size-weighted mid: leans towards the side with less size at the top."""
        bid_px, bid_sz, ask_px, ask_sz = self.bbo()
        return (bid_px * ask_sz + ask_px * bid_sz) / (bid_sz + ask_sz)

    def imbalance(self, n: int = 1) -> float:
        """(bid size - ask size) / (bid size + ask size) over the best ``n`` levels."""
        bid = sum(lv.size for lv in self.depth(EntryType.BID, n))
        ask = sum(lv.size for lv in self.depth(EntryType.OFFER, n))
        total = bid + ask
        return (bid - ask) / total if total > 0 else _NAN

    # -------------------------------------------------------------- array representation
    @property
    def grid(self) -> np.ndarray:
        """The fast-path storage: a ``(2, grid_capacity)`` float64 array, bids then offers.

        Row ``side`` holds the size at key ``origin + i`` in column ``i`` (key: ticks for
        offers, minus ticks for bids; 0.0 marks an empty level). Meaningful for a side
        only while :meth:`uses_grid` is true; :meth:`grid_meta` gives the rest.
        """
        return self._grid

    def grid_meta(self) -> tuple[int, int, int, int, int, int] | None:
        """(origin, count, best key) of bids then offers, ``best`` = ``NO_BEST`` if empty.

        ``None`` when a side is on the sparse fallback (the array does not hold it).
        """
        bids, asks = self._sides
        if not isinstance(bids, GridLevels) or not isinstance(asks, GridLevels):
            return None
        return (
            bids.origin, bids.count, NO_BEST if bids.best is None else bids.best,
            asks.origin, asks.count, NO_BEST if asks.best is None else asks.best,
        )  # fmt: skip

    def set_grid_meta(self, meta: Sequence[int]) -> None:
        """Adopt (origin, count, best) per side after the array was written directly.

        The writer (a compiled kernel) must have kept every invariant of the module
        docstring; :meth:`check_invariants` re-verifies them from the array.
        """
        for side, store in enumerate(self._sides):
            if not isinstance(store, GridLevels):
                raise BookInconsistent(f"{self.symbol}: side {side} is not on the grid")
            origin, count, best = (int(v) for v in meta[3 * side : 3 * side + 3])
            store.origin, store.count = origin, count
            store.best = None if best == NO_BEST else best

    def uses_grid(self, side: int) -> bool:
        """Whether ``side`` is on the fast-path grid (False: the sparse fallback)."""
        return isinstance(self._sides[side], GridLevels)

    def check_invariants(self) -> None:
        """Re-verify every invariant from scratch (for tests and after a recovery)."""
        for side in (EntryType.BID, EntryType.OFFER):
            store = self._sides[side]
            if isinstance(store, GridLevels):
                present = np.flatnonzero(store.sizes)
                best = None if not len(present) else int(present[0]) + store.origin
                if store.count != len(present) or store.best != best:
                    raise BookInconsistent(
                        f"{self.symbol}: {_SIDE_NAMES[side]} grid out of step: count "
                        f"{store.count}, best {store.best}, expected {len(present)}, {best}"
                    )
            levels = self.depth(side)
            prices = [lv.price for lv in levels]
            ordered = sorted(prices, reverse=side == EntryType.BID)
            if prices != ordered or len(set(prices)) != len(prices):
                raise BookInconsistent(f"{self.symbol}: {_SIDE_NAMES[side]} levels unsorted")
            for lv in levels:
                if not lv.size > 0:
                    raise BookInconsistent(
                        f"{self.symbol}: {_SIDE_NAMES[side]} size at {lv.price!r} must be "
                        f"> 0, was {lv.size!r}"
                    )
            if self._sides[side].count != len(levels):
                raise BookInconsistent(f"{self.symbol}: level count out of step")
            if self._max_depth is not None and len(levels) > self._max_depth:
                raise BookInconsistent(f"{self.symbol}: deeper than max_depth")
        self.check_uncrossed()
