"""OHLCV bars: one bar as a value object, many as column arrays, and their invariants."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from emp.domain.errors import InvalidBars

BAR_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar. ``ts_ns`` is the bar's open time in UTC nanoseconds since the epoch."""

    symbol: str
    ts_ns: int
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True, slots=True, eq=False)
class BarSeries:
    """The bars of one symbol as column arrays (``ts_ns`` int64, prices float64).

    Construct through :meth:`from_arrays`, which validates every invariant, so a
    ``BarSeries`` in hand is always clean.
    """

    symbol: str
    ts_ns: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @classmethod
    def from_arrays(
        cls,
        symbol: str,
        ts_ns: Iterable[int] | np.ndarray,
        open: Iterable[float] | np.ndarray,
        high: Iterable[float] | np.ndarray,
        low: Iterable[float] | np.ndarray,
        close: Iterable[float] | np.ndarray,
        volume: Iterable[float] | np.ndarray,
    ) -> BarSeries:
        try:
            ts = np.asarray(ts_ns, dtype=np.int64)
        except (TypeError, ValueError, OverflowError) as error:
            raise InvalidBars(f"{symbol}: timestamps are not integers: {error}") from None
        series = cls(
            symbol=symbol,
            ts_ns=ts,
            open=np.asarray(open, dtype=np.float64),
            high=np.asarray(high, dtype=np.float64),
            low=np.asarray(low, dtype=np.float64),
            close=np.asarray(close, dtype=np.float64),
            volume=np.asarray(volume, dtype=np.float64),
        )
        validate_bar_series(series)
        return series

    def __len__(self) -> int:
        return int(self.ts_ns.shape[0])

    def bar(self, i: int) -> Bar:
        return Bar(
            self.symbol,
            int(self.ts_ns[i]),
            float(self.open[i]),
            float(self.high[i]),
            float(self.low[i]),
            float(self.close[i]),
            float(self.volume[i]),
        )


def validate_bar_series(series: BarSeries) -> None:
    """Raise :class:`InvalidBars` naming the symbol, row and rule of the first violation."""
    n = series.ts_ns.shape[0]
    if not series.symbol:
        raise InvalidBars("bar series has an empty symbol")
    for name in BAR_COLUMNS:
        column = getattr(series, name)
        if column.ndim != 1 or column.shape[0] != n:
            raise InvalidBars(
                f"{series.symbol}: column {name!r} has {column.shape[0]} rows, expected {n}"
            )
    if n == 0:
        raise InvalidBars(f"{series.symbol}: no bars")

    def first_bad(mask: np.ndarray) -> int | None:
        idx = np.flatnonzero(mask)
        return int(idx[0]) if idx.size else None

    for name in BAR_COLUMNS:
        row = first_bad(~np.isfinite(getattr(series, name)))
        if row is not None:
            raise InvalidBars(f"{series.symbol}: row {row}: {name} is NaN or infinite")
    for name in ("open", "high", "low", "close"):
        row = first_bad(getattr(series, name) <= 0)
        if row is not None:
            value = getattr(series, name)[row]
            raise InvalidBars(f"{series.symbol}: row {row}: {name} must be > 0, was {value}")
    row = first_bad(series.volume < 0)
    if row is not None:
        raise InvalidBars(f"{series.symbol}: row {row}: volume must be >= 0")
    if n > 1:
        row = first_bad(series.ts_ns[1:] <= series.ts_ns[:-1])  # no int64 overflow
        if row is not None:
            raise InvalidBars(
                f"{series.symbol}: row {row + 1}: timestamps must be strictly increasing"
            )
    row = first_bad(series.high < series.low)
    if row is not None:
        raise InvalidBars(f"{series.symbol}: row {row}: high is below low")
    for name in ("open", "close"):
        column = getattr(series, name)
        row = first_bad((column > series.high) | (column < series.low))
        if row is not None:
            raise InvalidBars(f"{series.symbol}: row {row}: {name} is outside [low, high]")


def bars_data_hash(bars: Mapping[str, BarSeries]) -> str:
    """A sha256 over every symbol's arrays, independent of dict order."""
    digest = hashlib.sha256()
    for symbol in sorted(bars):
        series = bars[symbol]
        digest.update(symbol.encode())
        digest.update(b"\x00")
        for column in ("ts_ns", *BAR_COLUMNS):
            digest.update(np.ascontiguousarray(getattr(series, column)).tobytes())
    return digest.hexdigest()
