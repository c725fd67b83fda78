"""`emp snapshot create|verify|restore`: the data a backtest needs, frozen with its hash.

A snapshot is a folder: ``bars.parquet`` and ``quarantine.parquet`` (the chosen symbols'
rows, exported from the DuckDB store) and ``manifest.json`` with the content hash of the
bars (:func:`~emp.domain.bars.bars_data_hash`, the same hash a run records as its
``data_hash``), the rows per symbol and the SHA-256 of each file. ``verify`` recomputes
both hashes; ``restore`` imports the snapshot into a DuckDB file and checks that the bars
read back have the recorded content hash, so a backtest run on the restored file reads
exactly the bars of the original.
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
from emp.app.data_cli import DbOption, console
from emp.app.data_stores import open_stores
from emp.app.errors import ConfigError
from emp.domain.bars import bars_data_hash
from emp.domain.errors import EmpError

snapshot_app = typer.Typer(
    help="Freeze the data a backtest needs (bars + quarantine + content hash), restore it.",
    no_args_is_help=True,
)

MANIFEST = "manifest.json"
FORMAT = 1


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
            "source": stores.description,
            "content_hash": bars_data_hash(bars),
            "symbols": {symbol: len(bars[symbol]) for symbol in chosen},
            "files": {
                name: file_sha256(directory / name)
                for name in ("bars.parquet", "quarantine.parquet")
            },
        }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


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
    for name, expected in manifest["files"].items():
        actual = file_sha256(directory / name)
        if actual != expected:
            raise SnapshotMismatch(f"{directory / name}: sha256 expected {expected}, was {actual}")
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


@snapshot_app.command("create")
def snapshot_create(
    directory: Annotated[Path, typer.Argument(help="A new folder for the snapshot.")],
    symbol: Annotated[
        list[str] | None, typer.Option("--symbol", help="A symbol to include; repeat.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Freeze the bars (and their quarantine) of the DuckDB store into a folder."""
    manifest = create_snapshot(db, directory, symbol)
    console().print(
        f"snapshot {directory}: {len(manifest['symbols'])} symbols, "
        f"content hash {manifest['content_hash']}"
    )


@snapshot_app.command("verify")
def snapshot_verify(
    directory: Annotated[Path, typer.Argument(help="A snapshot folder.")],
) -> None:
    """Check a snapshot's files and content against its manifest."""
    with tempfile.TemporaryDirectory() as scratch:
        manifest = restore_snapshot(directory, Path(scratch) / "verify.duckdb")
    console().print(f"snapshot {directory} is intact: content hash {manifest['content_hash']}")


@snapshot_app.command("restore")
def snapshot_restore(
    directory: Annotated[Path, typer.Argument(help="A snapshot folder.")],
    db: Annotated[Path, typer.Option(help="The DuckDB file to restore into (new).")],
) -> None:
    """Restore a snapshot into a new DuckDB file, verifying the content hash."""
    if db.exists():
        raise ConfigError(f"{db} exists; restore into a new file")
    manifest = restore_snapshot(directory, db)
    console().print(f"restored {directory} into {db}: content hash {manifest['content_hash']}")
