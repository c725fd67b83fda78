"""SqlQuarantineStore: rows refused by validation, upserted in Postgres with their reasons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, text

from emp.adapters.sql_store.database import SqlDatabase
from emp.adapters.sql_store.records import QUARANTINE_COLUMNS, entry_from_row, quarantine_rows
from emp.domain.bar_validation import QuarantinedBar
from emp.ports.quarantine_store import QuarantineEntry


class SqlQuarantineStore:
    """A :class:`~emp.ports.quarantine_store.QuarantineStorePort` on a :class:`SqlDatabase`.

    Same contract as the DuckDB quarantine store: rows keyed by
    ``(source, symbol, ts_ns, occurrence)``, upserted in one transaction (retried whole
    if the connection is lost), prices stored as delivered, NaN included.
    """

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database
        self._schema = database.schema

    def write_quarantine(self, rows: Sequence[QuarantinedBar], source: str) -> int:
        values = quarantine_rows(rows, source)
        if not values:
            return 0
        updates = ", ".join(
            f"{name} = excluded.{name}"
            for name in QUARANTINE_COLUMNS
            if name not in ("source", "symbol", "ts_ns", "occurrence")
        )
        statement = text(
            f"INSERT INTO {self._schema}.quarantine ({', '.join(QUARANTINE_COLUMNS)}) "
            f"VALUES ({', '.join(f':{name}' for name in QUARANTINE_COLUMNS)}) "
            f"ON CONFLICT (source, symbol, ts_ns, occurrence) DO UPDATE SET {updates}"
        )

        def work(connection: Connection) -> int:
            connection.execute(statement, values)
            return len(values)

        action = f"quarantining {len(values)} rows from {source!r}"
        return self._database.in_transaction(action, work, retry=True)

    def read_quarantine(
        self, symbols: Sequence[str] | None = None, limit: int | None = None
    ) -> list[QuarantineEntry]:
        query = f"SELECT {', '.join(QUARANTINE_COLUMNS)} FROM {self._schema}.quarantine"
        params: dict[str, Any] = {}
        if symbols is not None:
            wanted = list(dict.fromkeys(symbols))
            if not wanted:
                return []
            query += " WHERE symbol IN :symbols"
            params["symbols"] = wanted
        query += ' ORDER BY symbol COLLATE "C", ts_ns, occurrence, source COLLATE "C"'
        if limit is not None:
            query += " LIMIT :limit"
            params["limit"] = max(int(limit), 0)
        statement = text(query)
        if symbols is not None:
            statement = statement.bindparams(bindparam("symbols", expanding=True))
        with self._database.connection("reading the quarantine") as connection:
            rows = connection.execute(statement, params).all()
        return [entry_from_row(row) for row in rows]

    def quarantine_counts(self) -> dict[str, int]:
        with self._database.connection("counting the quarantine") as connection:
            rows = connection.execute(
                text(
                    f"SELECT symbol, count(*) FROM {self._schema}.quarantine "
                    'GROUP BY symbol ORDER BY symbol COLLATE "C"'
                )
            ).all()
        return {str(symbol): int(count) for symbol, count in rows}
