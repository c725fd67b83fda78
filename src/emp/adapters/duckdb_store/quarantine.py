"""DuckDBQuarantineStore: rows refused by validation, upserted in bulk with their reasons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from emp.adapters.duckdb_store.database import DuckDBDatabase
from emp.domain.bar_validation import QuarantinedBar
from emp.ports.quarantine_store import QuarantineEntry, check_quarantine_batch

_STAGED = "emp_staged_quarantine"

#: Stored columns in row order (``source`` first, then the quarantined bar).
QUARANTINE_COLUMNS: tuple[str, ...] = (
    "source",
    "symbol",
    "ts_ns",
    "occurrence",
    "source_row",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "reasons",
    "detail",
)

_UPSERT = f"""
INSERT INTO quarantine ({", ".join(QUARANTINE_COLUMNS)})
SELECT {", ".join(QUARANTINE_COLUMNS)} FROM {_STAGED}
ON CONFLICT (source, symbol, ts_ns, occurrence) DO UPDATE SET
    source_row = excluded.source_row,
    open = excluded.open,
    high = excluded.high,
    low = excluded.low,
    close = excluded.close,
    volume = excluded.volume,
    reasons = excluded.reasons,
    detail = excluded.detail
"""


def _objects(values: list[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def stage_quarantine(rows: Sequence[QuarantinedBar], source: str) -> dict[str, np.ndarray]:
    """Column arrays of ``rows`` for one bulk insert; refuses anything else and repeats."""
    check_quarantine_batch(rows, source)
    return {
        "source": _objects([source] * len(rows)),
        "symbol": _objects([r.symbol for r in rows]),
        "ts_ns": np.array([r.ts_ns for r in rows], dtype=np.int64),
        "occurrence": np.array([r.occurrence for r in rows], dtype=np.int32),
        "source_row": np.array([r.source_row for r in rows], dtype=np.int64),
        **{
            name: np.array([getattr(r, name) for r in rows], dtype=np.float64)
            for name in ("open", "high", "low", "close", "volume")
        },
        "reasons": _objects([",".join(str(reason) for reason in r.reasons) for r in rows]),
        "detail": _objects([r.detail for r in rows]),
    }


def entry_from_row(row: Sequence[Any]) -> QuarantineEntry:
    """The entry of a row selected with :data:`QUARANTINE_COLUMNS`."""
    return QuarantineEntry.from_record(dict(zip(QUARANTINE_COLUMNS, row, strict=True)))


class DuckDBQuarantineStore:
    """A :class:`~emp.ports.quarantine_store.QuarantineStorePort` on a :class:`DuckDBDatabase`.

    Rows are keyed by ``(source, symbol, ts_ns, occurrence)``: quarantining the same rows
    of the same source again replaces them, so a re-run ingest adds nothing. Prices are
    stored exactly as delivered, NaN and infinities included. Each write is one bulk
    upsert in one transaction. A NaN price is kept as NULL and read back as NaN.
    """

    def __init__(self, database: DuckDBDatabase) -> None:
        self._database = database

    def write_quarantine(self, rows: Sequence[QuarantinedBar], source: str) -> int:
        staged = stage_quarantine(rows, source)
        if not rows:
            return 0
        action = f"quarantining {len(rows)} rows from {source!r} in {self._database.path}"
        with self._database.transaction(action, staged={_STAGED: staged}) as connection:
            connection.execute(_UPSERT)
        return len(rows)

    def read_quarantine(
        self, symbols: Sequence[str] | None = None, limit: int | None = None
    ) -> list[QuarantineEntry]:
        sql = f"SELECT {', '.join(QUARANTINE_COLUMNS)} FROM quarantine"
        params: list[Any] = []
        if symbols is not None:
            wanted = list(dict.fromkeys(symbols))
            if not wanted:
                return []
            sql += f" WHERE symbol IN ({', '.join('?' for _ in wanted)})"
            params.extend(wanted)
        sql += " ORDER BY symbol, ts_ns, occurrence, source"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(int(limit), 0))
        with self._database.reading(f"reading quarantine of {self._database.path}") as con:
            rows = con.execute(sql, params).fetchall()
        return [entry_from_row(row) for row in rows]

    def quarantine_counts(self) -> dict[str, int]:
        with self._database.reading(f"counting quarantine of {self._database.path}") as con:
            rows = con.execute(
                "SELECT symbol, count(*) FROM quarantine GROUP BY symbol ORDER BY symbol"
            ).fetchall()
        return {str(symbol): int(count) for symbol, count in rows}
