"""A recording's book updates parked on disk, so a run streams them instead of holding them.

``emp backtest --book`` needs a few facts about the whole recording before its run starts
(the symbols, the number of updates, the first and last update time, the reference
symbol's marks for the report) and then every update once, in order. :class:`BookSpool`
takes the updates once, writes them to a file in a temporary directory in chunks of
``chunk_size`` plain tuples (pickled: floats, strings and the level tuples round-trip
exactly), and keeps only those facts in memory: per symbol a count and its first and last
update, and every priced update's (symbol code, ts_ns, mark) in numpy chunks (20 bytes an
update). :meth:`BookSpool.read` gives the updates back as
:class:`~emp.domain.matching.BookSnapshot` / :class:`~emp.domain.matching.TradePrint`,
one chunk decoded at a time, optionally only those of some symbols. Leaving the ``with``
block (a run's end, or its failure) removes the directory.
"""

from __future__ import annotations

import pickle
import shutil
import tempfile
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np

from emp.app.engine_book import update_price
from emp.domain.errors import InvalidConfiguration
from emp.domain.matching import BookSnapshot, MarketUpdate, TradePrint
from emp.domain.orders import OrderSide

#: Updates per chunk written to (and read back from) the spool file.
CHUNK_UPDATES = 4096
_SPOOL_FILE = "updates.pickle"


class _SymbolStats:
    """One symbol's count and where (stream position, ts_ns) its first and last updates are."""

    __slots__ = ("count", "first_at", "first_ts", "last_at", "last_ts")

    def __init__(self, at: int, ts_ns: int) -> None:
        self.count = 0
        self.first_at, self.first_ts = at, ts_ns
        self.last_at, self.last_ts = at, ts_ns


class _Marks:
    """(symbol code, ts_ns, mark) of every priced update, in fixed-size numpy chunks."""

    def __init__(self, chunk_size: int) -> None:
        self._size = chunk_size
        self._full: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._new_block()

    def _new_block(self) -> None:
        self._codes = np.empty(self._size, dtype=np.int32)
        self._ts = np.empty(self._size, dtype=np.int64)
        self._prices = np.empty(self._size, dtype=np.float64)
        self._n = 0

    def add(self, code: int, ts_ns: int, price: float) -> None:
        n = self._n
        self._codes[n], self._ts[n], self._prices[n] = code, ts_ns, price
        self._n = n + 1
        if self._n == self._size:
            self._full.append((self._codes, self._ts, self._prices))
            self._new_block()

    def of(self, code: int) -> tuple[np.ndarray, np.ndarray]:
        blocks = [
            *self._full,
            (self._codes[: self._n], self._ts[: self._n], self._prices[: self._n]),
        ]
        ts = [t[c == code] for c, t, _ in blocks]
        prices = [p[c == code] for c, _, p in blocks]
        return np.concatenate(ts), np.concatenate(prices)


def _encode(update: MarketUpdate) -> tuple[Any, ...]:
    if isinstance(update, TradePrint):
        return (update.symbol, update.ts_ns, update.price, update.quantity, update.aggressor.value)
    return (update.symbol, update.ts_ns, update.bids, update.asks)


def _decode(row: tuple[Any, ...]) -> MarketUpdate:
    if len(row) == 4:
        return BookSnapshot(symbol=row[0], ts_ns=row[1], bids=row[2], asks=row[3])
    return TradePrint(
        symbol=row[0], ts_ns=row[1], price=row[2], quantity=row[3], aggressor=OrderSide(row[4])
    )


def _dump_chunk(chunk: list[tuple[Any, ...]], handle: IO[bytes]) -> None:
    """Append one chunk to the spool file."""
    pickle.dump(chunk, handle, protocol=pickle.HIGHEST_PROTOCOL)


def _load_chunks(handle: IO[bytes]) -> Iterator[list[tuple[Any, ...]]]:
    """The spool file's chunks, one at a time."""
    while True:
        try:
            yield pickle.load(handle)
        except EOFError:
            return


class BookSpool:
    """Book updates on disk in chunks, with the facts a run needs before it starts (module doc).

    ``directory``: where the spool's temporary directory is made (``None``: the system's
    temporary directory). Use it as a context manager; :meth:`write` once, then
    :meth:`read` as often as needed.
    """

    def __init__(self, *, directory: Path | None = None, chunk_size: int = CHUNK_UPDATES) -> None:
        if chunk_size < 1:
            raise InvalidConfiguration(f"expected a spool chunk size >= 1, was {chunk_size}")
        self._parent = directory
        self._chunk_size = chunk_size
        self._dir: Path | None = None
        self._stats: dict[str, _SymbolStats] = {}
        self._codes: dict[str, int] = {}
        self._marks = _Marks(chunk_size)
        self._written = False

    def __enter__(self) -> BookSpool:
        if self._parent is not None:
            self._parent.mkdir(parents=True, exist_ok=True)
        self._dir = Path(tempfile.mkdtemp(prefix="emp-book-spool-", dir=self._parent))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Remove the spool's directory and file (again: nothing)."""
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    @property
    def directory(self) -> Path:
        if self._dir is None:
            raise InvalidConfiguration("expected an open book spool (use it in a with block)")
        return self._dir

    @property
    def chunk_size(self) -> int:
        return self._chunk_size

    def write(self, updates: Iterable[MarketUpdate]) -> None:
        """Spool ``updates`` (once), ``chunk_size`` at a time, noting counts, times and marks."""
        if self._written:
            raise InvalidConfiguration("a book spool is written once")
        self._written = True
        chunk: list[tuple[Any, ...]] = []
        at = 0
        with (self.directory / _SPOOL_FILE).open("wb") as handle:
            for update in updates:
                symbol, ts_ns = update.symbol, update.ts_ns
                stats = self._stats.get(symbol)
                if stats is None:
                    stats = self._stats[symbol] = _SymbolStats(at, ts_ns)
                    self._codes[symbol] = len(self._codes)
                stats.count += 1
                stats.last_at, stats.last_ts = at, ts_ns
                price = update_price(update)
                if price is not None:
                    self._marks.add(self._codes[symbol], ts_ns, price)
                chunk.append(_encode(update))
                at += 1
                if len(chunk) == self._chunk_size:
                    _dump_chunk(chunk, handle)
                    chunk = []
            if chunk:
                _dump_chunk(chunk, handle)

    @property
    def symbols(self) -> list[str]:
        """The symbols with at least one update, sorted."""
        return sorted(self._stats)

    def count(self, symbols: Collection[str] | None = None) -> int:
        """How many updates (of ``symbols``; ``None``: of every symbol) were spooled."""
        return sum(s.count for s in self._chosen(symbols))

    def time_range(self, symbols: Collection[str] | None = None) -> tuple[int, int] | None:
        """ts_ns of the first and last spooled update (of ``symbols``); ``None``: none."""
        chosen = self._chosen(symbols)
        if not chosen:
            return None
        first = min(chosen, key=lambda s: s.first_at)
        last = max(chosen, key=lambda s: s.last_at)
        return first.first_ts, last.last_ts

    def marks(self, symbol: str) -> tuple[np.ndarray, np.ndarray]:
        """ts_ns (int64) and mark (float64) of ``symbol``'s priced updates, in stream order:
        a snapshot's mid (both sides shown), a trade's price."""
        code = self._codes.get(symbol)
        if code is None:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        return self._marks.of(code)

    def read(self, symbols: Collection[str] | None = None) -> Iterator[MarketUpdate]:
        """The spooled updates (of ``symbols``) in order, decoded one chunk at a time."""
        wanted = None if symbols is None else frozenset(symbols)
        with (self.directory / _SPOOL_FILE).open("rb") as handle:
            for chunk in _load_chunks(handle):
                for row in chunk:
                    if wanted is None or row[0] in wanted:
                        yield _decode(row)

    def _chosen(self, symbols: Collection[str] | None) -> list[_SymbolStats]:
        if symbols is None:
            return list(self._stats.values())
        return [self._stats[s] for s in symbols if s in self._stats]
