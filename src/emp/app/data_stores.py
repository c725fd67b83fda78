"""The stores the data commands work on: DuckDB (the default) or Postgres, opened lazily.

Until the container knows about Postgres and the quarantine store, the data commands
build their stores here: ``--pg-dsn`` selects the SQLAlchemy/psycopg store, otherwise the
DuckDB file from the settings (``--db`` / ``EMP_DB_PATH``) is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emp.adapters.duckdb_store import DuckDBDatabase, DuckDBParquetIO, DuckDBQuarantineStore
from emp.app.containers import build_container
from emp.app.settings import load_settings
from emp.ports.bar_store import BarStorePort
from emp.ports.quarantine_store import QuarantineStorePort


@dataclass
class DataStores:
    """A bar store and a quarantine store on one database, and how to close it."""

    bars: BarStorePort
    quarantine: QuarantineStorePort
    description: str
    closer: Any
    parquet: DuckDBParquetIO | None = None

    def status(self) -> dict[str, Any]:
        """What the store is and how it keeps time series (Postgres: partitioning mode)."""
        if hasattr(self.closer, "status"):
            return {"store": "postgres", **self.closer.status()}
        return {
            "store": "duckdb",
            "path": self.closer.path,
            "schema_version": self.closer.schema_version,
            "partitioning": "none (DuckDB keeps each table in one file, zone-mapped by time)",
        }

    def close(self) -> None:
        self.closer.close()

    def __enter__(self) -> DataStores:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_stores(
    db: Path | None = None, pg_dsn: str | None = None, pg_schema: str = "emp"
) -> DataStores:
    """The DuckDB stores of the settings (``db`` overrides), or Postgres at ``pg_dsn``."""
    if pg_dsn:
        from emp.adapters.sql_store import (
            SqlBarStore,
            SqlDatabase,
            SqlQuarantineStore,
        )

        database = SqlDatabase(pg_dsn, schema=pg_schema)
        return DataStores(
            bars=SqlBarStore(database),
            quarantine=SqlQuarantineStore(database),
            description=database.describe(),
            closer=database,
        )
    container = build_container(load_settings(db_path=db))
    duck: DuckDBDatabase = container.database()
    return DataStores(
        bars=container.bar_store(),
        quarantine=DuckDBQuarantineStore(duck),
        description=f"duckdb:{duck.path}",
        closer=duck,
        parquet=DuckDBParquetIO(duck),
    )
