"""BarStorePort: persistent bars, read back in time order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from emp.domain.bars import BarSeries, validate_bar_series
from emp.domain.errors import InvalidBars
from emp.ports.store_errors import StoreIntegrityError


@dataclass(frozen=True, slots=True)
class BarCoverage:
    symbol: str
    first_ns: int
    last_ns: int
    rows: int
    source: str


def check_bars_for_write(bars: Mapping[str, BarSeries]) -> int:
    """What every bar store checks before a write: only valid series, each under its own
    symbol. Returns the row count; raises :class:`StoreIntegrityError` (nothing written)."""
    rows = 0
    for symbol, series in bars.items():
        if not isinstance(series, BarSeries):
            raise StoreIntegrityError(
                f"refusing to write bars of {symbol!r}: expected a BarSeries, "
                f"was {type(series).__name__}"
            )
        if series.symbol != symbol:
            raise StoreIntegrityError(
                f"refusing to write bars under key {symbol!r}: the series is for {series.symbol!r}"
            )
        try:
            validate_bar_series(series)
        except InvalidBars as error:
            raise StoreIntegrityError(f"refusing to write invalid bars: {error}") from error
        rows += len(series)
    return rows


@runtime_checkable
class BarStorePort(Protocol):
    def write_bars(self, bars: Mapping[str, BarSeries], source: str) -> int:
        """Upsert every bar (key: symbol, timestamp) atomically; return rows written.

        Raises :class:`~emp.ports.store_errors.StoreError`; on error nothing is written.
        """
        ...

    def read_bars(
        self,
        symbols: Sequence[str],
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> dict[str, BarSeries]:
        """Bars of each symbol with ``start_ns <= ts < end_ns``, in time order.

        Raises :class:`~emp.ports.bar_source.SymbolNotFound` for a symbol with no bars.
        """
        ...

    def coverage(self) -> list[BarCoverage]: ...
