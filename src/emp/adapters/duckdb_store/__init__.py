"""DuckDB storage: bars and runs in one local database file.

``DuckDBDatabase`` owns the file (lazy connection, schema migrations, transactions);
``DuckDBBarStore`` and ``DuckDBRunStore`` implement the bar-store and run-store ports on it.
"""

from emp.adapters.duckdb_store.bar_store import DuckDBBarStore
from emp.adapters.duckdb_store.database import DuckDBDatabase
from emp.adapters.duckdb_store.run_store import DuckDBRunStore

__all__ = ["DuckDBBarStore", "DuckDBDatabase", "DuckDBRunStore"]
