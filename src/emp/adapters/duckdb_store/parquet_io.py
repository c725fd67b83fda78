"""Parquet export and import of any EMP table in a DuckDB database.

Export writes one table (optionally one symbol of it) to a Parquet file with DuckDB's own
``COPY``; import appends a Parquet file's rows to a table, matching columns by name, in one
transaction: a key that already exists, a missing column or an unreadable file refuses the
whole file and leaves the table as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from emp.adapters.duckdb_store.database import DuckDBDatabase
from emp.ports.store_errors import StoreError, StoreUnavailable

#: The tables that can be exported and imported.
TABLES: tuple[str, ...] = ("bars", "quarantine", "features", "runs", "orders", "fills")


def _check_table(table: str) -> str:
    if table not in TABLES:
        raise StoreError(f"table expected one of {', '.join(TABLES)}, was {table!r}")
    return table


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class DuckDBParquetIO:
    """Copies tables of a :class:`DuckDBDatabase` to and from Parquet files."""

    def __init__(self, database: DuckDBDatabase) -> None:
        self._database = database

    def export_table(
        self,
        table: str,
        path: str | Path,
        *,
        symbol: str | None = None,
        symbols: Sequence[str] | None = None,
    ) -> int:
        """Write ``table`` (only the rows of ``symbol``/``symbols`` when given) to ``path``.

        Returns the rows written.

        Raises :class:`StoreUnavailable` when the file cannot be written (a missing or
        read-only directory, a full disk).
        """
        name = _check_table(table)
        target = Path(path)
        if not target.parent.is_dir():
            raise StoreUnavailable(
                f"cannot export {name} to {target}: directory {target.parent} does not exist"
            )
        wanted = list(dict.fromkeys([*([] if symbol is None else [symbol]), *(symbols or [])]))
        if (symbol is not None or symbols is not None) and name == "runs":
            raise StoreError(f"table {name} has no symbol column to filter on")
        where = f" WHERE symbol IN ({', '.join('?' for _ in wanted)})" if wanted else ""
        if symbols is not None and not wanted:
            where = " WHERE false"
        order = {"bars": " ORDER BY symbol, ts", "quarantine": " ORDER BY symbol, ts_ns"}
        query = f"SELECT * FROM {name}{where}{order.get(name, '')}"
        params = wanted
        action = f"exporting {name} to {target}"
        with self._database.reading(action) as connection:
            count = connection.execute(f"SELECT count(*) FROM ({query})", params).fetchone()
            if params:
                # COPY takes no parameters: stage the filtered rows in a temporary view.
                connection.execute(f"CREATE OR REPLACE TEMP TABLE emp_export AS {query}", params)
                query = "SELECT * FROM emp_export"
            try:
                connection.execute(f"COPY ({query}) TO {_sql_path(target)} (FORMAT parquet)")
            finally:
                if params:
                    connection.execute("DROP TABLE IF EXISTS emp_export")
        return int(count[0]) if count else 0

    def import_table(self, table: str, path: str | Path) -> int:
        """Append the rows of the Parquet file ``path`` to ``table``; return the rows.

        All or nothing: a duplicate key raises
        :class:`~emp.ports.store_errors.StoreIntegrityError` and nothing is written.
        """
        name = _check_table(table)
        source = Path(path)
        if not source.is_file():
            raise StoreUnavailable(f"cannot import {source} into {name}: no such file")
        action = f"importing {source} into {name}"
        with self._database.transaction(action) as connection:
            before = connection.execute(f"SELECT count(*) FROM {name}").fetchone()
            connection.execute(
                f"INSERT INTO {name} BY NAME SELECT * FROM read_parquet({_sql_path(source)})"
            )
            after = connection.execute(f"SELECT count(*) FROM {name}").fetchone()
        return int(after[0]) - int(before[0]) if after and before else 0
