"""DuckDBRunStore: runs, their orders and fills in DuckDB, completed in one transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb

from emp.adapters.duckdb_store.database import DuckDBDatabase
from emp.adapters.duckdb_store.records import (
    FILL_COLUMNS,
    ORDER_COLUMNS,
    fill_from_row,
    order_from_row,
    stage_fills,
    stage_orders,
    to_json,
)
from emp.domain.fills import Fill
from emp.domain.orders import Order
from emp.ports.run_store import RunRecord
from emp.ports.store_errors import StoreIntegrityError

_ORDERS = "emp_staged_orders"
_FILLS = "emp_staged_fills"

_RUN_COLUMNS = (
    "run_id, kind, strategy, config, seed, data_hash, package_version, "
    "started_ns, status, finished_ns, error, summary"
)

_INSERT_ORDERS = f"""
INSERT INTO orders (run_id, {", ".join(ORDER_COLUMNS)})
SELECT ?, {", ".join(f"CAST({name} AS {kind}) AS {name}" for name, kind in ORDER_COLUMNS.items())}
FROM {_ORDERS}
"""

_INSERT_FILLS = f"""
INSERT INTO fills (run_id, {", ".join(FILL_COLUMNS)})
SELECT ?, {", ".join(f"CAST({name} AS {kind}) AS {name}" for name, kind in FILL_COLUMNS.items())}
FROM {_FILLS}
"""


class DuckDBRunStore:
    """A :class:`~emp.ports.run_store.RunStorePort` on a :class:`DuckDBDatabase`.

    :meth:`start_run` inserts the run as ``running``. :meth:`complete_run` writes the
    orders, the fills, the summary and the ``completed`` status in one transaction: on any
    failure it rolls back, the run stays ``running`` with no orders or fills, and a
    :class:`~emp.ports.store_errors.StoreError` is raised. :meth:`fail_run` marks the run
    ``failed`` with the reason. Only a ``running`` run can be completed or failed. Config and
    summary are stored as JSON with sorted keys (numpy scalars and arrays become plain
    numbers and lists); orders and fills are read back in the order they were given.
    """

    def __init__(self, database: DuckDBDatabase) -> None:
        self._database = database

    # ------------------------------------------------------------------ writes
    def start_run(self, record: RunRecord) -> None:
        """Insert ``record`` as a ``running`` run; a duplicate run id is refused."""
        if record.status != "running":
            raise StoreIntegrityError(
                f"cannot start run {record.run_id!r}: expected status 'running', "
                f"was {record.status!r}"
            )
        config = to_json(record.config, f"config of run {record.run_id!r}")
        summary = to_json(record.summary, f"summary of run {record.run_id!r}")
        values = [
            record.run_id,
            record.kind,
            record.strategy,
            config,
            record.seed,
            record.data_hash,
            record.package_version,
            record.started_ns,
            "running",
            None,
            None,
            summary,
        ]
        placeholders = ", ".join("?" for _ in values)
        with self._database.transaction(f"starting run {record.run_id!r}") as connection:
            if self._status(connection, record.run_id) is not None:
                raise StoreIntegrityError(
                    f"cannot start run {record.run_id!r}: a run with that id already exists"
                )
            connection.execute(f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({placeholders})", values)

    def complete_run(
        self,
        run_id: str,
        orders: Sequence[Order],
        fills: Sequence[Fill],
        summary: Mapping[str, Any],
        finished_ns: int,
    ) -> None:
        """Write orders, fills and summary and mark the run ``completed``, all or nothing."""
        summary_json = to_json(summary, f"summary of run {run_id!r}")
        staged = {_ORDERS: stage_orders(orders), _FILLS: stage_fills(fills)}
        action = f"completing run {run_id!r} with {len(orders)} orders and {len(fills)} fills"
        with self._database.transaction(action, staged=staged) as connection:
            self._require_running(connection, run_id, "complete")
            connection.execute(_INSERT_ORDERS, [run_id])
            connection.execute(_INSERT_FILLS, [run_id])
            connection.execute(
                "UPDATE runs SET status = 'completed', finished_ns = ?, summary = ? "
                "WHERE run_id = ?",
                [finished_ns, summary_json, run_id],
            )

    def fail_run(self, run_id: str, error: str, finished_ns: int) -> None:
        """Mark a ``running`` run ``failed`` with ``error``; nothing else changes."""
        with self._database.transaction(f"failing run {run_id!r}") as connection:
            self._require_running(connection, run_id, "fail")
            connection.execute(
                "UPDATE runs SET status = 'failed', finished_ns = ?, error = ? WHERE run_id = ?",
                [finished_ns, error, run_id],
            )

    # ------------------------------------------------------------------- reads
    def get_run(self, run_id: str) -> RunRecord | None:
        with self._database.reading(f"reading run {run_id!r}") as connection:
            row = connection.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", [run_id]
            ).fetchone()
        return None if row is None else _record_from_row(row)

    def list_runs(self, limit: int = 50) -> list[RunRecord]:
        """Up to ``limit`` runs, newest start first (ties broken by run id, descending)."""
        if limit <= 0:
            return []
        with self._database.reading("listing runs") as connection:
            rows = connection.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY started_ns DESC, run_id DESC LIMIT ?",
                [int(limit)],
            ).fetchall()
        return [_record_from_row(row) for row in rows]

    def orders(self, run_id: str) -> list[Order]:
        """The orders of a completed run in the order given (empty for any other run)."""
        with self._database.reading(f"reading the orders of run {run_id!r}") as connection:
            rows = connection.execute(
                f"SELECT {', '.join(ORDER_COLUMNS)} FROM orders WHERE run_id = ? ORDER BY seq",
                [run_id],
            ).fetchall()
        return [order_from_row(row) for row in rows]

    def fills(self, run_id: str) -> list[Fill]:
        """The fills of a completed run in the order given (empty for any other run)."""
        with self._database.reading(f"reading the fills of run {run_id!r}") as connection:
            rows = connection.execute(
                f"SELECT {', '.join(FILL_COLUMNS)} FROM fills WHERE run_id = ? ORDER BY seq",
                [run_id],
            ).fetchall()
        return [fill_from_row(row) for row in rows]

    # ----------------------------------------------------------------- helpers
    @staticmethod
    def _status(connection: duckdb.DuckDBPyConnection, run_id: str) -> str | None:
        row = connection.execute("SELECT status FROM runs WHERE run_id = ?", [run_id]).fetchone()
        return None if row is None else str(row[0])

    def _require_running(
        self, connection: duckdb.DuckDBPyConnection, run_id: str, verb: str
    ) -> None:
        status = self._status(connection, run_id)
        if status is None:
            raise StoreIntegrityError(f"cannot {verb} run {run_id!r}: no such run")
        if status != "running":
            raise StoreIntegrityError(
                f"cannot {verb} run {run_id!r}: expected status 'running', was {status!r}"
            )


def _record_from_row(row: Sequence[Any]) -> RunRecord:
    (run_id, kind, strategy, config, seed, data_hash, version) = row[:7]
    (started_ns, status, finished_ns, error, summary) = row[7:]
    return RunRecord(
        run_id=run_id,
        kind=kind,
        strategy=strategy,
        config=json.loads(config),
        seed=None if seed is None else int(seed),
        data_hash=data_hash,
        package_version=version,
        started_ns=int(started_ns),
        status=status,
        finished_ns=None if finished_ns is None else int(finished_ns),
        error=error,
        summary=json.loads(summary),
    )
