"""Postgres storage through SQLAlchemy 2 Core and psycopg 3: bars, runs, quarantine, features.

``SqlDatabase`` owns the connection pool, the schema and its migrations, and translates
errors (DSN password always redacted); ``SqlBarStore``, ``SqlRunStore``,
``SqlQuarantineStore`` and ``SqlFeatureStore`` implement the same ports, with the same
contract, as the DuckDB stores. With TimescaleDB the time-series tables are hypertables
with compression; without it they are natively range-partitioned by year
(``SqlDatabase.status()`` says which).
"""

from emp.adapters.sql_store.bar_store import SqlBarStore
from emp.adapters.sql_store.database import SqlDatabase
from emp.adapters.sql_store.feature_store import SqlFeatureStore
from emp.adapters.sql_store.quarantine import SqlQuarantineStore
from emp.adapters.sql_store.run_store import SqlRunStore

__all__ = ["SqlBarStore", "SqlDatabase", "SqlFeatureStore", "SqlQuarantineStore", "SqlRunStore"]
