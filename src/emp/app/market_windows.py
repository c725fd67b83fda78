"""Rolling market windows for the risk manager: per-symbol returns (VaR, beta) and closes
of a reference symbol (volatility tiers, regimes), in fixed-size numpy rings.

Each return history handed out names its ring as ``origin`` and the ring's row count as
``end``, so the risk manager's market model adds only the new rows each bar."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emp.domain.bars import Bar
from emp.domain.errors import InvalidConfiguration
from emp.domain.risk import ReturnHistory


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketFeed:
    """The rolling market windows the risk manager needs at every bar.

    ``return_window`` > 0 keeps that many per-bar simple returns of every symbol in
    ``symbols`` (VaR and betas; ``benchmark``'s column is the beta benchmark);
    ``reference_window`` > 0 keeps that many closes of ``reference`` (volatility tiers,
    regime classifier). Both are fixed-size numpy rings: O(symbols) per bar, no growth.
    """

    symbols: tuple[str, ...]
    return_window: int = 0
    benchmark: str | None = None
    reference_window: int = 0
    reference: str | None = None

    def __post_init__(self) -> None:
        for label, symbol in (("benchmark", self.benchmark), ("reference", self.reference)):
            if symbol is not None and symbol not in self.symbols:
                raise InvalidConfiguration(
                    f"expected the {label} symbol among {', '.join(self.symbols)}, was {symbol!r}"
                )
        for label, window in (
            ("return_window", self.return_window),
            ("reference_window", self.reference_window),
        ):
            if window < 0:
                raise InvalidConfiguration(f"expected {label} >= 0, was {window!r}")

    @property
    def needed(self) -> bool:
        return self.return_window > 0 or (self.reference_window > 0 and bool(self.reference))


class _Ring:
    """The last ``capacity`` rows of a series, stored twice so that the rows held are
    always one contiguous view (oldest first): O(row) per append, O(1) per read."""

    __slots__ = ("_buffer", "_capacity", "_count", "_head", "appended")

    def __init__(self, capacity: int, row_shape: tuple[int, ...] = ()) -> None:
        self._buffer = np.full((2 * capacity, *row_shape), np.nan)
        self._capacity = capacity
        self._head = 0
        self._count = 0
        #: Rows appended since the start (the stream position of the next row).
        self.appended = 0

    def append(self, row: np.ndarray | float) -> None:
        i = self._head
        self._buffer[i] = row
        self._buffer[i + self._capacity] = row
        self._head = (i + 1) % self._capacity
        self.appended += 1
        if self._count < self._capacity:
            self._count += 1

    def __len__(self) -> int:
        return self._count

    def view(self) -> np.ndarray:
        end = self._head + self._capacity
        return self._buffer[end - self._count : end]


class MarketWindows:
    """Per-timestamp bookkeeping of a :class:`MarketFeed` for the engine."""

    def __init__(self, feed: MarketFeed) -> None:
        self._symbols = tuple(feed.symbols)
        self._index = {s: i for i, s in enumerate(self._symbols)}
        self._last = np.full(len(self._symbols), np.nan)
        self._row = np.full(len(self._symbols), np.nan)
        self._returns = (
            _Ring(feed.return_window, (len(self._symbols),)) if feed.return_window else None
        )
        self._benchmark = self._index[feed.benchmark] if feed.benchmark is not None else None
        self._reference = feed.reference if feed.reference_window else None
        self._closes = _Ring(feed.reference_window) if self._reference is not None else None

    def observe(self, bars_now: list[Bar]) -> None:
        row = self._row
        row.fill(np.nan)
        any_return = False
        for bar in bars_now:
            i = self._index.get(bar.symbol)
            if i is None:
                continue
            previous = self._last[i]
            if previous > 0:
                row[i] = bar.close / previous - 1.0
                any_return = True
            self._last[i] = bar.close
            if bar.symbol == self._reference and self._closes is not None:
                self._closes.append(bar.close)
        if any_return and self._returns is not None:
            self._returns.append(row)

    def history(self) -> ReturnHistory | None:
        if self._returns is None or not len(self._returns):
            return None
        ring = self._returns
        returns = ring.view()
        benchmark = returns[:, self._benchmark] if self._benchmark is not None else None
        # the ring is the stream: a risk model built from an earlier cut takes only the
        # rows appended since (O(symbols) per bar instead of the whole window)
        return ReturnHistory(
            symbols=self._symbols,
            returns=returns,
            benchmark=benchmark,
            origin=ring,
            end=ring.appended,
        )

    def reference_closes(self) -> np.ndarray | None:
        if self._closes is None or not len(self._closes):
            return None
        return self._closes.view()
