"""Snapshots of a Postgres store: ``pg_dump`` of the EMP schema plus content hashes.

Imported by :mod:`emp.app.snapshot_commands` only when a Postgres store is involved (the
SQL adapter needs the ``pg`` extra).

A Postgres snapshot folder holds ``schema.sql`` (the whole schema: tables, partitions,
rows, schema version) and ``manifest.json``: the bars' content hash (the ``data_hash`` a
run records), rows per symbol, rows per table, the server and ``pg_dump`` versions and
the SHA-256 of ``schema.sql``. While the dump is taken the data tables are held under
SHARE locks (writers wait), so the hashed rows are the dumped rows. ``restore`` replays
the dump in one transaction into a new schema (any name, next to the original if need
be) and checks the content hash and the row counts; a restore that does not match is
dropped again. ``verify`` restores into a scratch schema, checks, and drops it.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from emp.adapters.sql_store import SqlBarStore, SqlDatabase
from emp.adapters.sql_store.schema_dump import (
    PgClientTools,
    drop_schema,
    dump_schema,
    frozen,
    restore_schema,
    schema_exists,
    table_rows,
)
from emp.app.errors import ConfigError
from emp.app.snapshot_commands import SnapshotMismatch
from emp.domain.bars import bars_data_hash

DUMP = "schema.sql"


def create_postgres_snapshot(
    dsn: str, schema: str, directory: Path, tools: PgClientTools, fmt: int
) -> dict[str, Any]:
    """Dump ``schema`` into ``directory`` (new or empty); return the manifest to write."""
    if not schema_exists(dsn, schema):
        raise ConfigError(
            f"schema {schema} does not exist on {SqlDatabase(dsn).dsn}: nothing to snapshot"
        )
    with SqlDatabase(dsn, schema=schema) as database:
        status = database.status()
        if status["partitioning"] == "timescaledb":
            raise ConfigError(
                f"schema {schema} keeps TimescaleDB hypertables, whose catalog lives outside "
                "the schema: snapshot it with Timescale's own backup tools instead"
            )
        bars_store = SqlBarStore(database)
        with frozen(database):
            symbols = [entry.symbol for entry in bars_store.coverage()]
            if not symbols:
                raise ConfigError(f"schema {schema} holds no bars: nothing to snapshot")
            bars = bars_store.read_bars(symbols)
            tables = table_rows(database)
            directory.mkdir(parents=True, exist_ok=True)
            dump_schema(dsn, schema, directory / DUMP, tools)
        return {
            "format": fmt,
            "store": "postgres",
            "source": database.describe(),
            "schema": schema,
            "schema_version": status["schema_version"],
            "partitioning": status["partitioning"],
            "server_version": status["server_version"],
            "pg_dump_version": tools.version(),
            "content_hash": bars_data_hash(bars),
            "symbols": {symbol: len(bars[symbol]) for symbol in symbols},
            "tables": tables,
        }


def check_restored(dsn: str, schema: str, manifest: dict[str, Any]) -> None:
    """Raise :class:`SnapshotMismatch` unless ``schema`` holds what the manifest recorded."""
    with SqlDatabase(dsn, schema=schema) as database:
        tables = table_rows(database, list(manifest["tables"]))
        if tables != manifest["tables"]:
            raise SnapshotMismatch(
                f"restored schema {schema} has rows per table {tables}, "
                f"expected {manifest['tables']}"
            )
        bars = SqlBarStore(database).read_bars(list(manifest["symbols"]))
    actual = bars_data_hash(bars)
    if actual != manifest["content_hash"]:
        raise SnapshotMismatch(
            f"restored bars have content hash {actual}, expected {manifest['content_hash']}"
        )


def restore_postgres_snapshot(
    directory: Path, manifest: dict[str, Any], dsn: str, schema: str, tools: PgClientTools
) -> None:
    """Restore the (file-checked) snapshot as the new schema ``schema``, then check it.

    A restored schema whose content does not match the manifest is dropped again.
    """
    restore_schema(dsn, directory / DUMP, manifest["schema"], schema, tools)
    try:
        check_restored(dsn, schema, manifest)
    except BaseException:
        drop_schema(dsn, schema)
        raise


def verify_postgres_snapshot(
    directory: Path, manifest: dict[str, Any], dsn: str, tools: PgClientTools
) -> str:
    """Restore into a scratch schema, check it, drop it; return the scratch name."""
    scratch = f"emp_verify_{uuid.uuid4().hex[:12]}"
    try:
        restore_postgres_snapshot(directory, manifest, dsn, scratch, tools)
    finally:
        drop_schema(dsn, scratch)
    return scratch
