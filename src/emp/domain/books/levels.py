"""One side of a price-level book: integer keys (smaller is better) → size.

A side stores its levels by *key*: the price in ticks for asks and minus that for bids,
so on both sides the best level has the smallest key and one implementation serves both.

Two stores share one interface:

* :class:`GridLevels`, the fast path: a numpy float64 array of sizes over a fixed window
  of ``capacity`` consecutive keys (0.0 marks an empty level), with the best key tracked
  incrementally. An update is one array store; the BBO is one attribute read. The array
  is a row of its :class:`~emp.domain.books.l2.L2Book`'s grid, so a compiled kernel can
  update the same storage (see :mod:`emp.domain.books.fast_path`).
* :class:`SparseLevels`, the fallback for books spread wider than the window: a dict of
  sizes plus a sorted list of keys maintained with :mod:`bisect`.

Stores never check sizes or crossing; :class:`~emp.domain.books.l2.L2Book` does.
"""

from __future__ import annotations

from bisect import bisect_left, insort

import numpy as np

__all__ = ["GridLevels", "OutsideGrid", "SparseLevels"]


class OutsideGrid(Exception):
    """Internal signal: a key falls outside a grid's window."""


_SCAN = 16  # steps of a Python scan before a vectorised one takes over


class GridLevels:
    """Levels on a fixed window of keys ``[origin, origin + capacity)``.

    ``sizes`` is the storage: a float64 array of ``capacity`` zeros (a fresh one when not
    given; a given one must be all zeros).
    """

    __slots__ = ("best", "capacity", "count", "origin", "sizes")

    def __init__(self, origin: int, capacity: int, sizes: np.ndarray | None = None) -> None:
        self.origin = origin
        self.capacity = capacity
        self.sizes: np.ndarray = np.zeros(capacity) if sizes is None else sizes
        self.count = 0
        self.best: int | None = None

    def get(self, key: int) -> float:
        i = key - self.origin
        if 0 <= i < self.capacity:
            return self.sizes.item(i)
        return 0.0

    def add(self, key: int, size: float) -> None:
        """Store a new level; the caller guarantees it is absent. May raise OutsideGrid."""
        i = key - self.origin
        if not 0 <= i < self.capacity:
            if self.count:
                raise OutsideGrid
            self.origin = key - self.capacity // 2  # an empty grid centres on its first level
            i = key - self.origin
        self.sizes[i] = size
        self.count += 1
        best = self.best
        if best is None or key < best:
            self.best = key

    def set(self, key: int, size: float) -> None:
        """Overwrite an existing level's size."""
        self.sizes[key - self.origin] = size

    def remove(self, key: int) -> None:
        """Drop an existing level."""
        sizes = self.sizes
        i = key - self.origin
        sizes[i] = 0.0
        self.count -= 1
        if key == self.best:
            if self.count == 0:
                self.best = None
                return
            self.best = self._next_present(i + 1) + self.origin

    def _next_present(self, i: int) -> int:
        """Index of the first non-empty slot at or after ``i`` (one must exist)."""
        sizes = self.sizes
        stop = min(i + _SCAN, self.capacity)
        while i < stop:
            if sizes.item(i):
                return i
            i += 1
        return i + int(np.flatnonzero(sizes[i:])[0])

    def ranked(self, limit: int | None = None) -> list[int]:
        """Present keys, best first, at most ``limit`` of them."""
        if self.best is None:
            return []
        want = self.count if limit is None else min(limit, self.count)
        origin = self.origin
        start = self.best - origin
        if want > _SCAN:
            return (np.flatnonzero(self.sizes[start:])[:want] + (start + origin)).tolist()
        out: list[int] = []
        i = start
        while len(out) < want:
            i = self._next_present(i)
            out.append(i + origin)
            i += 1
        return out

    def position(self, key: int) -> int:
        """1-based rank of ``key`` among present keys (where it is or would be)."""
        if self.best is None or key <= self.best:
            return 1
        origin = self.origin
        end = min(key - origin, self.capacity)
        return 1 + int(np.count_nonzero(self.sizes[self.best - origin : end]))

    def worst(self) -> int | None:
        if self.best is None:
            return None
        return int(np.flatnonzero(self.sizes)[-1]) + self.origin


class SparseLevels:
    """Levels anywhere: a dict of sizes and a sorted list of keys."""

    __slots__ = ("_keys", "sizes")

    def __init__(self, items: dict[int, float] | None = None) -> None:
        self.sizes: dict[int, float] = dict(items or {})
        self._keys: list[int] = sorted(self.sizes)

    @property
    def count(self) -> int:
        return len(self._keys)

    @property
    def best(self) -> int | None:
        return self._keys[0] if self._keys else None

    def get(self, key: int) -> float:
        return self.sizes.get(key, 0.0)

    def add(self, key: int, size: float) -> None:
        self.sizes[key] = size
        insort(self._keys, key)

    def set(self, key: int, size: float) -> None:
        self.sizes[key] = size

    def remove(self, key: int) -> None:
        del self.sizes[key]
        keys = self._keys
        del keys[bisect_left(keys, key)]

    def ranked(self, limit: int | None = None) -> list[int]:
        return self._keys[:] if limit is None else self._keys[:limit]

    def position(self, key: int) -> int:
        return bisect_left(self._keys, key) + 1

    def worst(self) -> int | None:
        return self._keys[-1] if self._keys else None


def regrid(
    levels: GridLevels | SparseLevels, key: int, capacity: int, sizes: np.ndarray | None = None
) -> GridLevels | None:
    """A grid holding ``levels`` and room for ``key``, or None if they span too wide.

    ``sizes`` is the storage to reuse (overwritten; it may be ``levels``' own).
    """
    present = {k: levels.get(k) for k in levels.ranked()}
    low = min([key, *present])
    high = max([key, *present])
    if high - low >= capacity:
        return None
    origin = low - (capacity - (high - low)) // 2
    if sizes is not None:
        sizes[:] = 0.0
    grid = GridLevels(origin, capacity, sizes)
    for k, size in present.items():
        grid.add(k, size)
    return grid
