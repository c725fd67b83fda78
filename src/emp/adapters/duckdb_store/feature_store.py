"""DuckDBFeatureStore: feature values in the ``features`` table, upserted in bulk."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emp.adapters.duckdb_store.database import DuckDBDatabase
from emp.ports.feature_store import (
    FeatureCoverage,
    FeatureNotFound,
    FeatureSeries,
    check_feature_batch,
    feature_not_found_message,
)

_STAGED = "emp_staged_features"

# DuckDB reads a NaN in a registered numpy array as NULL, which ``value NOT NULL``
# refuses: NaNs are staged as a flag (and 0.0) and turned back into NaN here.
_UPSERT = f"""
INSERT INTO features (symbol, name, ts, value, source)
SELECT symbol, name, make_timestamp_ns(ts_ns),
       CASE WHEN is_nan THEN 'NaN'::DOUBLE ELSE value END, ?
FROM {_STAGED}
ON CONFLICT (symbol, name, ts) DO UPDATE SET
    value = excluded.value,
    source = excluded.source
"""

_READ = """
SELECT epoch_ns(ts) AS ts_ns, value FROM features
WHERE name = ? AND symbol = ? {bounds}
ORDER BY ts
"""

_COVERAGE = """
SELECT name, symbol, epoch_ns(min(ts)), epoch_ns(max(ts)), count(*),
       string_agg(DISTINCT source, ',' ORDER BY source)
FROM features
GROUP BY name, symbol
ORDER BY name, symbol
"""


class DuckDBFeatureStore:
    """A :class:`~emp.ports.feature_store.FeatureStorePort` on a :class:`DuckDBDatabase`.

    Values are keyed by ``(symbol, name, timestamp)``; a write is one bulk
    ``INSERT ... SELECT`` in one transaction (all or nothing) that replaces values
    already stored at the same timestamps. Timestamps keep their nanoseconds; NaN values
    are stored as NaN. A read range is half-open, ``start_ns <= ts < end_ns``.
    """

    def __init__(self, database: DuckDBDatabase) -> None:
        self._database = database

    def write_features(self, series: Sequence[FeatureSeries], source: str) -> int:
        """Upsert every value atomically; return the number of rows written."""
        rows = check_feature_batch(series, source)
        if rows == 0:
            return 0
        staged = _stage(series)
        action = f"writing {rows} feature values from {source!r} to {self._database.path}"
        with self._database.transaction(action, staged={_STAGED: staged}) as connection:
            connection.execute(_UPSERT, [source])
        return rows

    def read_features(
        self,
        name: str,
        symbols: Sequence[str],
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> dict[str, FeatureSeries]:
        """Feature ``name`` of each symbol in ``[start_ns, end_ns)``, in time order."""
        bounds = ""
        values: list[int] = []
        if start_ns is not None:
            bounds += " AND epoch_ns(ts) >= ?"
            values.append(int(start_ns))
        if end_ns is not None:
            bounds += " AND epoch_ns(ts) < ?"
            values.append(int(end_ns))
        sql = _READ.format(bounds=bounds)
        result: dict[str, FeatureSeries] = {}
        action = f"reading feature {name!r} from {self._database.path}"
        with self._database.reading(action) as connection:
            for symbol in dict.fromkeys(symbols):
                columns = connection.execute(sql, [name, symbol, *values]).fetchnumpy()
                if len(columns["ts_ns"]) == 0:
                    raise FeatureNotFound(
                        feature_not_found_message(
                            self.feature_coverage(), name, symbol, start_ns, end_ns
                        )
                    )
                result[symbol] = FeatureSeries.from_arrays(
                    name,
                    symbol,
                    np.asarray(columns["ts_ns"], dtype=np.int64),
                    np.asarray(columns["value"], dtype=np.float64),
                )
        return result

    def feature_coverage(self) -> list[FeatureCoverage]:
        """First/last timestamp, rows and sources of every (name, symbol), by name, symbol."""
        action = f"reading feature coverage of {self._database.path}"
        with self._database.reading(action) as connection:
            rows = connection.execute(_COVERAGE).fetchall()
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


def _stage(series: Sequence[FeatureSeries]) -> dict[str, np.ndarray]:
    """Every series' rows as column arrays for one bulk insert (NaN as a flag)."""
    present = [item for item in series if len(item)]
    values = np.concatenate([item.values for item in present])
    is_nan = np.isnan(values)
    return {
        "name": np.concatenate([np.full(len(item), item.name, dtype=object) for item in present]),
        "symbol": np.concatenate(
            [np.full(len(item), item.symbol, dtype=object) for item in present]
        ),
        "ts_ns": np.concatenate([item.ts_ns for item in present]),
        "value": np.where(is_nan, 0.0, values),
        "is_nan": is_nan,
    }
