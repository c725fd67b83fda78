"""SqlBarStore: bars in Postgres, written and read with binary COPY, upserted atomically."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sqlalchemy import Connection, text

from emp.adapters.sql_store import copy_binary
from emp.adapters.sql_store.database import SqlDatabase
from emp.adapters.sql_store.migrations import ensure_year_partitions, partitioning_mode, year_bounds
from emp.domain.bars import BAR_COLUMNS, BarSeries
from emp.ports.bar_source import SymbolNotFound
from emp.ports.bar_store import BarCoverage, check_bars_for_write
from emp.ports.store_errors import StoreIntegrityError

#: The staged and read columns, in COPY order.
COPY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("ts_ns", "int8"),
    *((name, "float8") for name in BAR_COLUMNS),
)
_STAGE = "emp_stage_bars"


class SqlBarStore:
    """A :class:`~emp.ports.bar_store.BarStorePort` on a :class:`SqlDatabase`.

    Same contract as the DuckDB bar store: bars keyed by ``(symbol, ts_ns)``, a write
    replaces existing bars and their source, every write is validated first and is one
    transaction (all or nothing), timestamps keep their nanoseconds, reads are half-open
    ``[start_ns, end_ns)``. Each symbol's rows are sent with a binary ``COPY`` into a
    temporary table and upserted from there. A write that loses its connection is
    retried whole (the upsert is idempotent); otherwise it is rolled back whole.
    """

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database
        self._mode: str | None = None

    def write_bars(self, bars: Mapping[str, BarSeries], source: str) -> int:
        if not source:
            raise StoreIntegrityError("refusing to write bars: source must be non-empty")
        rows = check_bars_for_write(bars)
        if rows == 0:
            return 0
        schema = self._database.schema
        upsert = text(
            f"INSERT INTO {schema}.bars (symbol, ts_ns, open, high, low, close, volume, source) "
            f"SELECT :symbol, ts_ns, open, high, low, close, volume, :source FROM {_STAGE} "
            "ON CONFLICT (symbol, ts_ns) DO UPDATE SET open = excluded.open, "
            "high = excluded.high, low = excluded.low, close = excluded.close, "
            "volume = excluded.volume, source = excluded.source"
        )

        def work(connection: Connection) -> int:
            if self._partitioning(connection) == "native":
                all_ts = np.concatenate([series.ts_ns for series in bars.values()])
                ensure_year_partitions(connection, schema, "bars", year_bounds(all_ts))
            connection.execute(
                text(
                    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (ts_ns BIGINT, "
                    "open FLOAT8, high FLOAT8, low FLOAT8, close FLOAT8, volume FLOAT8) "
                    "ON COMMIT DROP"
                )
            )
            driver = connection.connection.driver_connection
            for symbol, series in bars.items():
                values = {name: getattr(series, name) for name, _ in COPY_COLUMNS}
                copy_binary.copy_in(driver, _STAGE, COPY_COLUMNS, values)
                connection.execute(upsert, {"symbol": symbol, "source": source})
                connection.execute(text(f"TRUNCATE {_STAGE}"))
            return rows

        action = f"writing {rows} bars from {source!r}"
        return self._database.in_transaction(action, work, retry=True)

    def read_bars(
        self,
        symbols: Sequence[str],
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> dict[str, BarSeries]:
        schema = self._database.schema
        result: dict[str, BarSeries] = {}
        with self._database.connection("reading bars") as connection:
            driver = connection.connection.driver_connection
            for symbol in dict.fromkeys(symbols):
                columns = copy_binary.copy_out_window(
                    driver, schema, "bars", COPY_COLUMNS, {"symbol": symbol}, start_ns, end_ns
                )
                if len(columns["ts_ns"]) == 0:
                    connection.rollback()
                    raise SymbolNotFound(self._not_found_message(symbol, start_ns, end_ns))
                result[symbol] = BarSeries.from_arrays(
                    symbol, columns["ts_ns"], *(columns[name] for name in BAR_COLUMNS)
                )
            connection.rollback()
        return result

    def coverage(self) -> list[BarCoverage]:
        schema = self._database.schema
        query = text(
            "SELECT symbol, min(ts_ns), max(ts_ns), count(*), "
            'string_agg(DISTINCT source COLLATE "C", \',\' ORDER BY source COLLATE "C") '
            f'FROM {schema}.bars GROUP BY symbol ORDER BY symbol COLLATE "C"'
        )
        with self._database.connection("reading bar coverage") as connection:
            rows = connection.execute(query).all()
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

    def _partitioning(self, connection: Connection) -> str:
        if self._mode is None:
            self._mode = partitioning_mode(connection, self._database.schema)
        return self._mode

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
