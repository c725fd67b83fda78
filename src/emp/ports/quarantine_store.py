"""QuarantineStorePort: rows refused by validation, kept with their reasons for review."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from emp.domain.bar_validation import QuarantinedBar


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """A stored quarantined row and the source it came from."""

    source: str
    bar: QuarantinedBar


@runtime_checkable
class QuarantineStorePort(Protocol):
    def write_quarantine(self, rows: Sequence[QuarantinedBar], source: str) -> int:
        """Upsert every row atomically (key: source, symbol, ts_ns, occurrence).

        Returns the rows written. Raises :class:`~emp.ports.store_errors.StoreError`; on
        error nothing is written. Re-writing the same rows changes nothing.
        """
        ...

    def read_quarantine(
        self, symbols: Sequence[str] | None = None, limit: int | None = None
    ) -> list[QuarantineEntry]:
        """Stored rows (of ``symbols``, or all) ordered by symbol, timestamp, occurrence."""
        ...

    def quarantine_counts(self) -> dict[str, int]:
        """Quarantined rows per symbol, by symbol."""
        ...
