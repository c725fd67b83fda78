"""SqlFeatureStore: feature values in Postgres, written and read with binary COPY."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import Connection, text

from emp.adapters.sql_store import copy_binary
from emp.adapters.sql_store.database import SqlDatabase
from emp.adapters.sql_store.migrations import ensure_year_partitions, partitioning_mode, year_bounds
from emp.ports.feature_store import (
    FeatureCoverage,
    FeatureNotFound,
    FeatureSeries,
    check_feature_batch,
    feature_not_found_message,
)

#: The staged and read columns, in COPY order.
COPY_COLUMNS: tuple[tuple[str, str], ...] = (("ts_ns", "int8"), ("value", "float8"))
_STAGE = "emp_stage_features"


class SqlFeatureStore:
    """A :class:`~emp.ports.feature_store.FeatureStorePort` on a :class:`SqlDatabase`.

    Same contract as the DuckDB feature store: values keyed by ``(symbol, name, ts_ns)``,
    a write replaces values stored at the same timestamps and is one transaction (all or
    nothing), timestamps keep their nanoseconds, NaN is stored as NaN, reads are
    half-open ``[start_ns, end_ns)``. Each series goes through a binary ``COPY`` into a
    temporary table and one upsert; with native partitioning the yearly partitions the
    values need are created first. A write that loses its connection is retried whole
    (the upsert is idempotent); otherwise it is rolled back whole.
    """

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database
        self._mode: str | None = None

    def write_features(self, series: Sequence[FeatureSeries], source: str) -> int:
        rows = check_feature_batch(series, source)
        if rows == 0:
            return 0
        present = [item for item in series if len(item)]
        schema = self._database.schema
        upsert = text(
            f"INSERT INTO {schema}.features (symbol, name, ts_ns, value, source) "
            f"SELECT :symbol, :name, ts_ns, value, :source FROM {_STAGE} "
            "ON CONFLICT (symbol, name, ts_ns) DO UPDATE SET value = excluded.value, "
            "source = excluded.source"
        )

        def work(connection: Connection) -> int:
            if self._partitioning(connection) == "native":
                all_ts = np.concatenate([item.ts_ns for item in present])
                ensure_year_partitions(connection, schema, "features", year_bounds(all_ts))
            connection.execute(
                text(
                    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (ts_ns BIGINT, value FLOAT8) "
                    "ON COMMIT DROP"
                )
            )
            driver = connection.connection.driver_connection
            for item in present:
                values = {"ts_ns": item.ts_ns, "value": item.values}
                copy_binary.copy_in(driver, _STAGE, COPY_COLUMNS, values)
                connection.execute(
                    upsert, {"symbol": item.symbol, "name": item.name, "source": source}
                )
                connection.execute(text(f"TRUNCATE {_STAGE}"))
            return rows

        action = f"writing {rows} feature values from {source!r}"
        return self._database.in_transaction(action, work, retry=True)

    def read_features(
        self,
        name: str,
        symbols: Sequence[str],
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> dict[str, FeatureSeries]:
        schema = self._database.schema
        result: dict[str, FeatureSeries] = {}
        with self._database.connection(f"reading feature {name!r}") as connection:
            driver = connection.connection.driver_connection
            for symbol in dict.fromkeys(symbols):
                keys = {"name": name, "symbol": symbol}
                columns = copy_binary.copy_out_window(
                    driver, schema, "features", COPY_COLUMNS, keys, start_ns, end_ns
                )
                if len(columns["ts_ns"]) == 0:
                    connection.rollback()
                    raise FeatureNotFound(
                        feature_not_found_message(
                            self.feature_coverage(), name, symbol, start_ns, end_ns
                        )
                    )
                result[symbol] = FeatureSeries.from_arrays(
                    name, symbol, columns["ts_ns"], columns["value"]
                )
            connection.rollback()
        return result

    def feature_coverage(self) -> list[FeatureCoverage]:
        schema = self._database.schema
        query = text(
            "SELECT name, symbol, min(ts_ns), max(ts_ns), count(*), "
            'string_agg(DISTINCT source COLLATE "C", \',\' ORDER BY source COLLATE "C") '
            f"FROM {schema}.features GROUP BY name, symbol "
            'ORDER BY name COLLATE "C", symbol COLLATE "C"'
        )
        with self._database.connection("reading feature coverage") as connection:
            rows = connection.execute(query).all()
        return [
            FeatureCoverage(
                name=str(name),
                symbol=str(symbol),
                first_ns=int(first_ns),
                last_ns=int(last_ns),
                rows=int(count),
                source=str(sources),
            )
            for name, symbol, first_ns, last_ns, count, sources in rows
        ]

    def _partitioning(self, connection: Connection) -> str:
        if self._mode is None:
            self._mode = partitioning_mode(connection, self._database.schema)
        return self._mode
