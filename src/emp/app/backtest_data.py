"""Bars for a backtest: streamed from the bar store in time windows, hashed as they pass.

A backtest never asks the store for a whole history at once: :func:`store_chunks` reads
consecutive windows ``[start, start + step)`` sized to hold about ``chunk_bars`` bars of
each symbol, and the engine consumes them one after another. :class:`BarsHasher` digests
the bars as they stream by, with a result that does not depend on the chunk size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emp.domain.bars import BAR_COLUMNS, BarSeries
from emp.domain.errors import InvalidConfiguration
from emp.ports.bar_source import SymbolNotFound
from emp.ports.bar_store import BarStorePort

_HASHED_COLUMNS = ("ts_ns", *BAR_COLUMNS)


@dataclass(slots=True)
class BarsHasher:
    """sha256 over, per symbol in sorted order, the symbol and the sha256 of each column.

    Feed chunks in time order with :meth:`update`; the digest is the same however the
    bars were cut into chunks.
    """

    _columns: dict[str, dict[str, Any]] = field(default_factory=dict)  # sha256 objects
    rows: int = 0

    def update(self, chunk: Mapping[str, BarSeries]) -> None:
        for symbol, series in chunk.items():
            hashers = self._columns.get(symbol)
            if hashers is None:
                hashers = self._columns[symbol] = {c: hashlib.sha256() for c in _HASHED_COLUMNS}
            for column in _HASHED_COLUMNS:
                hashers[column].update(np.ascontiguousarray(getattr(series, column)).tobytes())
            self.rows += len(series)

    def hexdigest(self) -> str:
        digest = hashlib.sha256()
        for symbol in sorted(self._columns):
            digest.update(symbol.encode())
            digest.update(b"\x00")
            for column in _HASHED_COLUMNS:
                digest.update(self._columns[symbol][column].digest())
        return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class StoredRange:
    """Which bars a backtest reads: symbols, ``start_ns <= ts < end_ns``, and how many."""

    symbols: tuple[str, ...]
    start_ns: int
    end_ns: int
    max_rows: int  # the most bars any one symbol has in the range

    @classmethod
    def of(cls, bars: Mapping[str, BarSeries]) -> StoredRange:
        if not bars:
            raise InvalidConfiguration("a backtest needs bars of at least one symbol")
        return cls(
            symbols=tuple(sorted(bars)),
            start_ns=min(int(s.ts_ns[0]) for s in bars.values()),
            end_ns=max(int(s.ts_ns[-1]) for s in bars.values()) + 1,
            max_rows=max(len(s) for s in bars.values()),
        )

    @classmethod
    def from_store(cls, store: BarStorePort, symbols: Sequence[str]) -> StoredRange:
        coverage = {entry.symbol: entry for entry in store.coverage()}
        missing = [s for s in symbols if s not in coverage]
        if missing:
            known = ", ".join(sorted(coverage)) or "none"
            raise SymbolNotFound(
                f"no bars stored for {', '.join(missing)}; symbols with bars: {known}"
            )
        entries = [coverage[s] for s in symbols]
        return cls(
            symbols=tuple(sorted(symbols)),
            start_ns=min(e.first_ns for e in entries),
            end_ns=max(e.last_ns for e in entries) + 1,
            max_rows=max(e.rows for e in entries),
        )


def store_chunks(
    store: BarStorePort, stored: StoredRange, chunk_bars: int
) -> Iterator[dict[str, BarSeries]]:
    """Consecutive windows of ``stored``, each about ``chunk_bars`` bars per symbol."""
    if chunk_bars < 1:
        raise InvalidConfiguration(f"chunk_bars must be >= 1, was {chunk_bars!r}")
    span = stored.end_ns - stored.start_ns
    if stored.max_rows <= chunk_bars:
        step = span
    else:
        step = max(1, span * chunk_bars // stored.max_rows)
    start = stored.start_ns
    while start < stored.end_ns:
        end = min(start + step, stored.end_ns)
        chunk: dict[str, BarSeries] = {}
        for symbol in stored.symbols:
            try:
                chunk.update(store.read_bars([symbol], start, end))
            except SymbolNotFound:
                continue  # no bars of this symbol in this window
        if chunk:
            yield chunk
        start = end


class BarStream:
    """Chunks on their way to the engine: hashed again, the reference symbol's closes kept."""

    def __init__(self, chunks: Iterator[dict[str, BarSeries]], reference: str) -> None:
        self._chunks = chunks
        self.reference = reference
        self.hasher = BarsHasher()
        self.ts: list[np.ndarray] = []
        self.closes: list[np.ndarray] = []

    def __iter__(self) -> Iterator[dict[str, BarSeries]]:
        for chunk in self._chunks:
            self.hasher.update(chunk)
            series = chunk.get(self.reference)
            if series is not None:
                self.ts.append(series.ts_ns)
                self.closes.append(series.close)
            yield chunk
