"""DuckDBBarStore: bars in a DuckDB table, upserted in bulk, read back as validated series."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from emp.adapters.duckdb_store.database import DuckDBDatabase
from emp.domain.bars import BAR_COLUMNS, BarSeries
from emp.ports.bar_source import SymbolNotFound
from emp.ports.bar_store import BarCoverage, check_bars_for_write
from emp.ports.store_errors import StoreIntegrityError

_STAGED = "emp_staged_bars"

_UPSERT = f"""
INSERT INTO bars (symbol, ts, open, high, low, close, volume, source)
SELECT symbol, make_timestamp_ns(ts_ns), open, high, low, close, volume, ?
FROM {_STAGED}
ON CONFLICT (symbol, ts) DO UPDATE SET
    open = excluded.open,
    high = excluded.high,
    low = excluded.low,
    close = excluded.close,
    volume = excluded.volume,
    source = excluded.source
"""

_COVERAGE = """
SELECT symbol, epoch_ns(min(ts)), epoch_ns(max(ts)), count(*),
       string_agg(DISTINCT source, ',' ORDER BY source)
FROM bars
GROUP BY symbol
ORDER BY symbol
"""


class DuckDBBarStore:
    """A :class:`~emp.ports.bar_store.BarStorePort` on a :class:`DuckDBDatabase`.

    Bars are keyed by ``(symbol, timestamp)``; writing a bar that exists replaces it (and
    its ``source``). Every write is validated first (a store never holds bars that
    :meth:`BarSeries.from_arrays` would refuse) and runs as one bulk ``INSERT ... SELECT``
    in one transaction, so on any error nothing is written. Timestamps are kept to the
    nanosecond. A read range is half-open, ``start_ns <= ts < end_ns``.
    """

    def __init__(self, database: DuckDBDatabase) -> None:
        self._database = database

    def write_bars(self, bars: Mapping[str, BarSeries], source: str) -> int:
        """Upsert every bar atomically; return the number of rows written."""
        if not source:
            raise StoreIntegrityError("refusing to write bars: source must be non-empty")
        staged = _stage(bars)
        rows = int(staged["ts_ns"].shape[0])
        if rows == 0:
            return 0
        action = f"writing {rows} bars from {source!r} to {self._database.path}"
        with self._database.transaction(action, staged={_STAGED: staged}) as connection:
            connection.execute(_UPSERT, [source])
        return rows

    def read_bars(
        self,
        symbols: Sequence[str],
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> dict[str, BarSeries]:
        """Each symbol's bars with ``start_ns <= ts < end_ns`` in time order.

        Raises :class:`SymbolNotFound` for a symbol with no bars in the range, naming the
        symbols the store does have.
        """
        conditions = ["symbol = ?"]
        bounds: list[int] = []
        if start_ns is not None:
            conditions.append("epoch_ns(ts) >= ?")
            bounds.append(int(start_ns))
        if end_ns is not None:
            conditions.append("epoch_ns(ts) < ?")
            bounds.append(int(end_ns))
        sql = (
            "SELECT epoch_ns(ts) AS ts_ns, open, high, low, close, volume FROM bars "
            f"WHERE {' AND '.join(conditions)} ORDER BY ts"
        )
        result: dict[str, BarSeries] = {}
        with self._database.reading(f"reading bars from {self._database.path}") as connection:
            for symbol in dict.fromkeys(symbols):
                columns = connection.execute(sql, [symbol, *bounds]).fetchnumpy()
                if len(columns["ts_ns"]) == 0:
                    raise SymbolNotFound(self._not_found_message(symbol, start_ns, end_ns))
                result[symbol] = BarSeries.from_arrays(
                    symbol,
                    np.asarray(columns["ts_ns"], dtype=np.int64),
                    *(np.asarray(columns[name], dtype=np.float64) for name in BAR_COLUMNS),
                )
        return result

    def coverage(self) -> list[BarCoverage]:
        """First and last timestamp, row count and sources of every symbol, by symbol."""
        with self._database.reading(f"reading bar coverage of {self._database.path}") as con:
            rows = con.execute(_COVERAGE).fetchall()
        return [
            BarCoverage(
                symbol=str(symbol),
                first_ns=int(first_ns),
                last_ns=int(last_ns),
                rows=int(count),
                source=str(sources),
            )
            for symbol, first_ns, last_ns, count, sources in rows
        ]

    def _not_found_message(self, symbol: str, start_ns: int | None, end_ns: int | None) -> str:
        coverage = {entry.symbol: entry for entry in self.coverage()}
        known = ", ".join(coverage) or "none"
        entry = coverage.get(symbol)
        if entry is None:
            return f"no bars stored for {symbol!r}; symbols with bars: {known}"
        return (
            f"no bars stored for {symbol!r} in [{start_ns}, {end_ns}); it has {entry.rows} "
            f"bars from {entry.first_ns} to {entry.last_ns} ns; symbols with bars: {known}"
        )


def _stage(bars: Mapping[str, BarSeries]) -> dict[str, np.ndarray]:
    """Validate every series and concatenate them into column arrays for one bulk insert."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in ("symbol", "ts_ns", *BAR_COLUMNS)}
    check_bars_for_write(bars)
    for symbol, series in bars.items():
        parts["symbol"].append(np.full(len(series), symbol, dtype=object))
        parts["ts_ns"].append(np.asarray(series.ts_ns, dtype=np.int64))
        for name in BAR_COLUMNS:
            parts[name].append(np.asarray(getattr(series, name), dtype=np.float64))
    if not parts["ts_ns"]:
        return {
            "symbol": np.empty(0, dtype=object),
            "ts_ns": np.empty(0, dtype=np.int64),
            **{name: np.empty(0, dtype=np.float64) for name in BAR_COLUMNS},
        }
    return {name: np.concatenate(arrays) for name, arrays in parts.items()}
