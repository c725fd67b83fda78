"""SqlRunStore: runs, their orders and fills in Postgres, completed in one transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text

from emp.adapters.sql_store.database import SqlDatabase
from emp.adapters.sql_store.records import (
    FILL_COLUMNS,
    ORDER_COLUMNS,
    fill_from_row,
    fill_rows,
    order_from_row,
    order_rows,
    to_json,
)
from emp.domain.fills import Fill
from emp.domain.orders import Order
from emp.ports.run_store import RunRecord
from emp.ports.store_errors import StoreIntegrityError

_RUN_COLUMNS = (
    "run_id",
    "kind",
    "strategy",
    "config",
    "seed",
    "data_hash",
    "package_version",
    "started_ns",
    "status",
    "finished_ns",
    "error",
    "summary",
)


def _insert(schema: str, table: str, columns: Sequence[str]) -> Any:
    names = ", ".join(("run_id", *columns))
    values = ", ".join(f":{name}" for name in ("run_id", *columns))
    return text(f"INSERT INTO {schema}.{table} ({names}) VALUES ({values})")


class SqlRunStore:
    """A :class:`~emp.ports.run_store.RunStorePort` on a :class:`SqlDatabase`.

    Same contract as the DuckDB run store: :meth:`complete_run` writes orders, fills,
    summary and the ``completed`` status in one transaction, or nothing; only a
    ``running`` run can be completed or failed (checked under a row lock, so two processes
    cannot both finish it); config and summary are JSON text with sorted keys.
    """

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database
        self._schema = database.schema

    def start_run(self, record: RunRecord) -> None:
        if record.status != "running":
            raise StoreIntegrityError(
                f"cannot start run {record.run_id!r}: expected status 'running', "
                f"was {record.status!r}"
            )
        values = {
            "run_id": record.run_id,
            "kind": record.kind,
            "strategy": record.strategy,
            "config": to_json(record.config, f"config of run {record.run_id!r}"),
            "seed": record.seed,
            "data_hash": record.data_hash,
            "package_version": record.package_version,
            "started_ns": record.started_ns,
            "status": "running",
            "finished_ns": None,
            "error": None,
            "summary": to_json(record.summary, f"summary of run {record.run_id!r}"),
        }
        statement = text(
            f"INSERT INTO {self._schema}.runs ({', '.join(_RUN_COLUMNS)}) "
            f"VALUES ({', '.join(f':{c}' for c in _RUN_COLUMNS)}) ON CONFLICT DO NOTHING"
        )

        def work(connection: Connection) -> None:
            if connection.execute(statement, values).rowcount != 1:
                raise StoreIntegrityError(
                    f"cannot start run {record.run_id!r}: a run with that id already exists"
                )

        self._database.in_transaction(f"starting run {record.run_id!r}", work)

    def complete_run(
        self,
        run_id: str,
        orders: Sequence[Order],
        fills: Sequence[Fill],
        summary: Mapping[str, Any],
        finished_ns: int,
    ) -> None:
        summary_json = to_json(summary, f"summary of run {run_id!r}")
        orders_rows = order_rows(run_id, orders)
        fills_rows = fill_rows(run_id, fills)

        def work(connection: Connection) -> None:
            self._require_running(connection, run_id, "complete")
            if orders_rows:
                connection.execute(_insert(self._schema, "orders", ORDER_COLUMNS), orders_rows)
            if fills_rows:
                connection.execute(_insert(self._schema, "fills", FILL_COLUMNS), fills_rows)
            connection.execute(
                text(
                    f"UPDATE {self._schema}.runs SET status = 'completed', "
                    "finished_ns = :finished, summary = :summary WHERE run_id = :run_id"
                ),
                {"finished": finished_ns, "summary": summary_json, "run_id": run_id},
            )

        action = f"completing run {run_id!r} with {len(orders)} orders and {len(fills)} fills"
        self._database.in_transaction(action, work)

    def fail_run(self, run_id: str, error: str, finished_ns: int) -> None:
        def work(connection: Connection) -> None:
            self._require_running(connection, run_id, "fail")
            connection.execute(
                text(
                    f"UPDATE {self._schema}.runs SET status = 'failed', "
                    "finished_ns = :finished, error = :error WHERE run_id = :run_id"
                ),
                {"finished": finished_ns, "error": error, "run_id": run_id},
            )

        self._database.in_transaction(f"failing run {run_id!r}", work)

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._database.connection(f"reading run {run_id!r}") as connection:
            row = connection.execute(
                text(
                    f"SELECT {', '.join(_RUN_COLUMNS)} FROM {self._schema}.runs "
                    "WHERE run_id = :run_id"
                ),
                {"run_id": run_id},
            ).first()
        return None if row is None else _record_from_row(row)

    def list_runs(self, limit: int = 50) -> list[RunRecord]:
        if limit <= 0:
            return []
        with self._database.connection("listing runs") as connection:
            rows = connection.execute(
                text(
                    f"SELECT {', '.join(_RUN_COLUMNS)} FROM {self._schema}.runs "
                    'ORDER BY started_ns DESC, run_id COLLATE "C" DESC LIMIT :limit'
                ),
                {"limit": int(limit)},
            ).all()
        return [_record_from_row(row) for row in rows]

    def orders(self, run_id: str) -> list[Order]:
        with self._database.connection(f"reading the orders of run {run_id!r}") as connection:
            rows = connection.execute(
                text(
                    f"SELECT {', '.join(ORDER_COLUMNS)} FROM {self._schema}.orders "
                    "WHERE run_id = :run_id ORDER BY seq"
                ),
                {"run_id": run_id},
            ).all()
        return [order_from_row(row) for row in rows]

    def fills(self, run_id: str) -> list[Fill]:
        with self._database.connection(f"reading the fills of run {run_id!r}") as connection:
            rows = connection.execute(
                text(
                    f"SELECT {', '.join(FILL_COLUMNS)} FROM {self._schema}.fills "
                    "WHERE run_id = :run_id ORDER BY seq"
                ),
                {"run_id": run_id},
            ).all()
        return [fill_from_row(row) for row in rows]

    def _require_running(self, connection: Connection, run_id: str, verb: str) -> None:
        status = connection.execute(
            text(f"SELECT status FROM {self._schema}.runs WHERE run_id = :run_id FOR UPDATE"),
            {"run_id": run_id},
        ).scalar_one_or_none()
        if status is None:
            raise StoreIntegrityError(f"cannot {verb} run {run_id!r}: no such run")
        if status != "running":
            raise StoreIntegrityError(
                f"cannot {verb} run {run_id!r}: expected status 'running', was {status!r}"
            )


def _record_from_row(row: Sequence[Any]) -> RunRecord:
    value = dict(zip(_RUN_COLUMNS, row, strict=True))
    return RunRecord(
        run_id=value["run_id"],
        kind=value["kind"],
        strategy=value["strategy"],
        config=json.loads(value["config"]),
        seed=None if value["seed"] is None else int(value["seed"]),
        data_hash=value["data_hash"],
        package_version=value["package_version"],
        started_ns=int(value["started_ns"]),
        status=value["status"],
        finished_ns=None if value["finished_ns"] is None else int(value["finished_ns"]),
        error=value["error"],
        summary=json.loads(value["summary"]),
    )
