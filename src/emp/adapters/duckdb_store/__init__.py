"""DuckDB storage: bars, runs, quarantine and features in one local database file.

``DuckDBDatabase`` owns the file (lazy connection, schema migrations, transactions);
``DuckDBBarStore``, ``DuckDBRunStore``, ``DuckDBQuarantineStore`` and
``DuckDBFeatureStore`` implement the bar-store, run-store, quarantine-store and
feature-store ports on it; ``DuckDBParquetIO`` exports and imports any table as Parquet.
"""

from emp.adapters.duckdb_store.bar_store import DuckDBBarStore
from emp.adapters.duckdb_store.database import DuckDBDatabase
from emp.adapters.duckdb_store.feature_store import DuckDBFeatureStore
from emp.adapters.duckdb_store.parquet_io import DuckDBParquetIO
from emp.adapters.duckdb_store.quarantine import DuckDBQuarantineStore
from emp.adapters.duckdb_store.run_store import DuckDBRunStore

__all__ = [
    "DuckDBBarStore",
    "DuckDBDatabase",
    "DuckDBFeatureStore",
    "DuckDBParquetIO",
    "DuckDBQuarantineStore",
    "DuckDBRunStore",
]
