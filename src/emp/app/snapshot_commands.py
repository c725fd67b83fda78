"""`emp snapshot create|verify|restore`: the data a backtest needs, frozen with its hash.

A DuckDB snapshot is a folder: ``bars.parquet`` and ``quarantine.parquet`` (the chosen
symbols' rows, exported from the DuckDB store) and ``manifest.json`` with the content
hash of the bars (:func:`~emp.domain.bars.bars_data_hash`, the same hash a run records as
its ``data_hash``), the rows per symbol and the SHA-256 of each file. ``verify``
recomputes both hashes; ``restore`` imports the snapshot into a DuckDB file and checks
that the bars read back have the recorded content hash, so a backtest run on the
restored file reads exactly the bars of the original.

A Postgres snapshot (``--pg-dsn``, or ``EMP_STORE=postgres``) is a ``pg_dump`` of the
whole EMP schema with the same manifest (see :mod:`emp.app.snapshot_postgres`).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from emp.adapters.duckdb_store import (
    DuckDBBarStore,
    DuckDBDatabase,
    DuckDBParquetIO,
)
from emp.app.data_cli import DbOption, JsonOption, PgOption, console
from emp.app.data_stores import open_stores
from emp.app.errors import ConfigError
from emp.app.settings import load_settings
from emp.domain.bars import bars_data_hash
from emp.domain.errors import EmpError

snapshot_app = typer.Typer(
    help="Freeze the data a backtest needs (bars + quarantine + content hash), restore it.",
    no_args_is_help=True,
)

MANIFEST = "manifest.json"
FORMAT = 1

PgSchemaOption = Annotated[
    str | None,
    typer.Option(
        "--pg-schema",
        help="Postgres schema: the one to snapshot [EMP_PG_SCHEMA, emp], or the new one "
        "to restore into [the snapshot's].",
    ),
]
PgBinOption = Annotated[
    Path | None,
    typer.Option("--pg-bin", help="Directory of pg_dump and psql [newest installed]."),
]


class SnapshotMismatch(EmpError):
    """A snapshot's files or content do not match its manifest."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def create_snapshot(db: Path | None, directory: Path, symbols: list[str] | None) -> dict:
    """Write the snapshot of ``symbols`` (default: every stored symbol); return its manifest."""
    if directory.exists() and any(directory.iterdir()):
        raise ConfigError(f"snapshot folder {directory} is not empty; choose a new one")
    with open_stores(db) as stores:
        coverage = {item.symbol: item.rows for item in stores.bars.coverage()}
        chosen = list(dict.fromkeys(symbols)) if symbols else sorted(coverage)
        if not chosen:
            raise ConfigError("the store holds no bars: nothing to snapshot")
        bars = stores.bars.read_bars(chosen)
        if stores.parquet is None:
            raise ConfigError(f"snapshots work on the DuckDB store, not {stores.description}")
        directory.mkdir(parents=True, exist_ok=True)
        for table in ("bars", "quarantine"):
            stores.parquet.export_table(table, directory / f"{table}.parquet", symbols=chosen)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "store": "duckdb",
            "source": stores.description,
            "content_hash": bars_data_hash(bars),
            "symbols": {symbol: len(bars[symbol]) for symbol in chosen},
            "files": {
                name: file_sha256(directory / name)
                for name in ("bars.parquet", "quarantine.parquet")
            },
        }
    write_manifest(directory, manifest)
    return manifest


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def check_files(directory: Path, manifest: dict[str, Any]) -> None:
    """Raise :class:`SnapshotMismatch` unless every file has its recorded SHA-256."""
    for name, expected in manifest["files"].items():
        path = directory / name
        if not path.is_file():
            raise SnapshotMismatch(f"{path}: expected a file of the snapshot, was missing")
        actual = file_sha256(path)
        if actual != expected:
            raise SnapshotMismatch(f"{path}: sha256 expected {expected}, was {actual}")


def read_manifest(directory: Path) -> dict:
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise SnapshotMismatch(f"{path} cannot be read as a snapshot manifest: {error}") from error
    if manifest.get("format") != FORMAT:
        raise SnapshotMismatch(
            f"{path}: snapshot format expected {FORMAT}, was {manifest.get('format')!r}"
        )
    return manifest


def restore_snapshot(directory: Path, db: Path) -> dict:
    """Import the snapshot into the DuckDB file ``db``; verify the bars' content hash."""
    manifest = read_manifest(directory)
    if manifest.get("store", "duckdb") != "duckdb":
        raise ConfigError(
            f"{directory} is a {manifest['store']} snapshot: restore it with --pg-dsn DSN"
        )
    check_files(directory, manifest)
    with DuckDBDatabase(db) as database:
        io = DuckDBParquetIO(database)
        for table in ("bars", "quarantine"):
            io.import_table(table, directory / f"{table}.parquet")
        bars = DuckDBBarStore(database).read_bars(list(manifest["symbols"]))
    actual = bars_data_hash(bars)
    if actual != manifest["content_hash"]:
        raise SnapshotMismatch(
            f"restored bars have content hash {actual}, expected {manifest['content_hash']}"
        )
    return manifest


def postgres_target(pg_dsn: str | None, db: Path | None) -> tuple[str, str | None] | None:
    """(DSN, configured schema) of the Postgres store to use, or None for DuckDB.

    ``--pg-dsn`` wins; ``--db`` names a DuckDB file; otherwise the settings decide
    (``EMP_STORE=postgres`` with ``EMP_PG_DSN``).
    """
    if pg_dsn:
        return pg_dsn, None
    if db is not None:
        return None
    settings = load_settings()
    if settings.store == "postgres" and settings.pg_dsn is not None:
        return settings.pg_dsn.get_secret_value(), settings.pg_schema
    return None


def _require_new_folder(directory: Path) -> None:
    if directory.exists() and any(directory.iterdir()):
        raise ConfigError(f"snapshot folder {directory} is not empty; choose a new one")


def _remove_partial(directory: Path, names: tuple[str, ...], created: bool) -> None:
    """Remove what a failed create wrote, so no half snapshot is left behind."""
    for name in names:
        (directory / name).unlink(missing_ok=True)
    if created and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()


def _print(manifest: dict[str, Any], json_output: bool, line: str) -> None:
    if json_output:
        print(json.dumps(manifest, sort_keys=True))
    else:
        console().print(line)


@snapshot_app.command("create")
def snapshot_create(
    directory: Annotated[Path, typer.Argument(help="A new folder for the snapshot.")],
    symbol: Annotated[
        list[str] | None,
        typer.Option("--symbol", help="A symbol to include; repeat (DuckDB only)."),
    ] = None,
    db: DbOption = None,
    pg_dsn: PgOption = None,
    pg_schema: PgSchemaOption = None,
    pg_bin: PgBinOption = None,
    json_output: JsonOption = False,
) -> None:
    """Freeze the data of the store: DuckDB bars and quarantine, or a Postgres schema dump."""
    target = postgres_target(pg_dsn, db)
    if target is None:
        manifest = create_snapshot(db, directory, symbol)
    else:
        from emp.adapters.sql_store.schema_dump import PgClientTools
        from emp.app.snapshot_postgres import DUMP, create_postgres_snapshot

        if symbol:
            raise ConfigError(
                "--symbol works on DuckDB snapshots only: a Postgres snapshot dumps the "
                "whole schema"
            )
        _require_new_folder(directory)
        tools = PgClientTools.find(pg_bin)
        dsn, configured_schema = target
        schema = pg_schema or configured_schema or "emp"
        created = not directory.exists()
        try:
            manifest = create_postgres_snapshot(dsn, schema, directory, tools, FORMAT)
            manifest["files"] = {DUMP: file_sha256(directory / DUMP)}
            write_manifest(directory, manifest)
        except BaseException:
            _remove_partial(directory, (DUMP, MANIFEST), created)
            raise
    _print(
        manifest,
        json_output,
        f"snapshot {directory}: {len(manifest['symbols'])} symbols, "
        f"content hash {manifest['content_hash']}",
    )


@snapshot_app.command("verify")
def snapshot_verify(
    directory: Annotated[Path, typer.Argument(help="A snapshot folder.")],
    pg_dsn: Annotated[
        str | None,
        typer.Option(
            "--pg-dsn",
            help="Postgres server to check a Postgres snapshot on (a scratch schema is "
            "restored and dropped) [EMP_PG_DSN].",
        ),
    ] = None,
    pg_bin: PgBinOption = None,
) -> None:
    """Check a snapshot's files and content against its manifest."""
    manifest = read_manifest(directory)
    if manifest.get("store", "duckdb") == "postgres":
        from emp.adapters.sql_store.schema_dump import PgClientTools
        from emp.app.snapshot_postgres import verify_postgres_snapshot

        check_files(directory, manifest)
        target = postgres_target(pg_dsn, None)
        if target is None:
            raise ConfigError(
                f"{directory} is a Postgres snapshot: verifying it restores it into a scratch "
                "schema, so give a server with --pg-dsn (or EMP_STORE=postgres and EMP_PG_DSN)"
            )
        verify_postgres_snapshot(directory, manifest, target[0], PgClientTools.find(pg_bin))
    else:
        with tempfile.TemporaryDirectory() as scratch:
            manifest = restore_snapshot(directory, Path(scratch) / "verify.duckdb")
    console().print(f"snapshot {directory} is intact: content hash {manifest['content_hash']}")


@snapshot_app.command("restore")
def snapshot_restore(
    directory: Annotated[Path, typer.Argument(help="A snapshot folder.")],
    db: Annotated[
        Path | None, typer.Option(help="The DuckDB file to restore a DuckDB snapshot into (new).")
    ] = None,
    pg_dsn: Annotated[
        str | None,
        typer.Option(
            "--pg-dsn", help="Postgres server to restore a Postgres snapshot on [EMP_PG_DSN]."
        ),
    ] = None,
    pg_schema: PgSchemaOption = None,
    pg_bin: PgBinOption = None,
) -> None:
    """Restore a snapshot into a new DuckDB file or a new Postgres schema, checking its hash."""
    manifest = read_manifest(directory)
    if manifest.get("store", "duckdb") == "postgres":
        from emp.adapters.sql_store.schema_dump import PgClientTools
        from emp.app.snapshot_postgres import restore_postgres_snapshot

        target = postgres_target(pg_dsn, None)
        if target is None:
            raise ConfigError(
                f"{directory} is a Postgres snapshot: restore it with --pg-dsn DSN "
                "[--pg-schema NEW] (or EMP_STORE=postgres and EMP_PG_DSN)"
            )
        check_files(directory, manifest)
        schema = pg_schema or manifest["schema"]
        tools = PgClientTools.find(pg_bin)
        restore_postgres_snapshot(directory, manifest, target[0], schema, tools)
        where = f"schema {schema}"
    else:
        if db is None:
            raise ConfigError(f"{directory} is a DuckDB snapshot: restore it with --db NEW.duckdb")
        if db.exists():
            raise ConfigError(f"{db} exists; restore into a new file")
        manifest = restore_snapshot(directory, db)
        where = str(db)
    console().print(f"restored {directory} into {where}: content hash {manifest['content_hash']}")
