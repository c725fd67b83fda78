"""BarStorePort: persistent bars, read back in time order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from emp.domain.bars import BarSeries


@dataclass(frozen=True, slots=True)
class BarCoverage:
    symbol: str
    first_ns: int
    last_ns: int
    rows: int
    source: str


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
