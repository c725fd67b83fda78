"""QuarantineStorePort: rows refused by validation, kept with their reasons for review."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from emp.domain.bar_validation import QuarantinedBar, QuarantineReason
from emp.ports.store_errors import StoreError, StoreIntegrityError


def check_quarantine_batch(rows: Sequence[QuarantinedBar], source: str) -> None:
    """What every quarantine store checks before a write: a source, only quarantined bars,
    each with a reason, no key (symbol, ts_ns, occurrence) twice. Raises
    :class:`StoreIntegrityError` (nothing written)."""
    if not source:
        raise StoreIntegrityError("refusing to write quarantined rows: source must be non-empty")
    keys = set()
    for row in rows:
        if not isinstance(row, QuarantinedBar):
            raise StoreIntegrityError(f"expected a QuarantinedBar, was {type(row).__name__}")
        if not row.reasons:
            raise StoreIntegrityError(
                f"refusing to quarantine {row.symbol} row {row.source_row}: it has no reason"
            )
        key = (row.symbol, row.ts_ns, row.occurrence)
        if key in keys:
            raise StoreIntegrityError(
                f"refusing to write quarantined rows: {row.symbol} at {row.ts_ns} ns "
                f"occurrence {row.occurrence} appears twice in one batch"
            )
        keys.add(key)


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """A stored quarantined row and the source it came from."""

    source: str
    bar: QuarantinedBar

    @classmethod
    def from_record(cls, value: Mapping[str, Any]) -> QuarantineEntry:
        """The entry a stored record (column name → value) describes; a NULL price reads
        back as NaN. An unknown reason code is a :class:`StoreError`."""
        try:
            reasons = tuple(QuarantineReason(code) for code in str(value["reasons"]).split(","))
        except ValueError as error:
            raise StoreError(
                f"the quarantine table holds an unknown reason code: {error}"
            ) from error

        def number(name: str) -> float:
            raw = value[name]
            return float("nan") if raw is None else float(raw)

        return cls(
            source=str(value["source"]),
            bar=QuarantinedBar(
                symbol=str(value["symbol"]),
                source_row=int(value["source_row"]),
                ts_ns=int(value["ts_ns"]),
                open=number("open"),
                high=number("high"),
                low=number("low"),
                close=number("close"),
                volume=number("volume"),
                reasons=reasons,
                detail=str(value["detail"]),
                occurrence=int(value["occurrence"]),
            ),
        )


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
