"""A whole EMP schema as one SQL file: ``pg_dump`` out, ``psql`` back in, under any name.

``dump_schema`` writes the schema (tables, partitions, rows) with the server's own
``pg_dump``, plain SQL, without owners or privileges, so it restores anywhere.
``restore_schema`` runs that file with ``psql`` in one transaction and renames the
restored schema on the way: a dump of ``emp`` can be restored as ``emp_copy`` next to the
live ``emp`` (which is parked under a temporary name inside the same transaction, so
other sessions never see it gone). Either everything is restored or nothing is.
``frozen`` holds SHARE locks on the data tables while a dump is taken, so writers wait
and the rows that are hashed are the rows that are dumped.

The DSN's password is handed to the tools in ``PGPASSWORD`` (never on a command line)
and redacted from every error.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, exc, text

from emp.adapters.sql_store.database import SqlDatabase, parse_dsn, redact_text
from emp.ports.store_errors import StoreError, StoreUnavailable

#: The tables a snapshot freezes and counts (the schema's version/meta tables are dumped too).
DATA_TABLES: tuple[str, ...] = ("bars", "features", "quarantine", "runs", "orders", "fills")

INSTALL_CLIENT = (
    "install the PostgreSQL client tools (`apt-get install -y postgresql-client-15`) "
    "or name their directory with --pg-bin"
)


@dataclass(frozen=True, slots=True)
class PgClientTools:
    """The ``pg_dump`` and ``psql`` executables to use."""

    pg_dump: Path
    psql: Path

    @classmethod
    def find(cls, bin_dir: Path | None = None) -> PgClientTools:
        """The tools in ``bin_dir``; else the newest ``/usr/lib/postgresql/*/bin``; else PATH.

        The newest first, since ``pg_dump`` refuses servers newer than itself.
        """
        if bin_dir is not None:
            directories = [Path(bin_dir)]
        else:
            found = glob.glob("/usr/lib/postgresql/*/bin/pg_dump")
            found.sort(key=lambda path: _major(Path(path).parent.parent.name), reverse=True)
            directories = [Path(path).parent for path in found]
            on_path = shutil.which("pg_dump")
            if on_path:
                directories.append(Path(on_path).parent)
        for directory in directories:
            pg_dump, psql = directory / "pg_dump", directory / "psql"
            if os.access(pg_dump, os.X_OK) and os.access(psql, os.X_OK):
                return cls(pg_dump=pg_dump, psql=psql)
        where = f"in {bin_dir}" if bin_dir is not None else "on this machine"
        raise StoreUnavailable(f"pg_dump and psql were not found {where}: {INSTALL_CLIENT}")

    def version(self) -> str:
        """``pg_dump --version``, e.g. ``pg_dump (PostgreSQL) 15.18``."""
        result = subprocess.run(
            [str(self.pg_dump), "--version"], capture_output=True, text=True, timeout=30
        )
        return result.stdout.strip()


def _major(name: str) -> int:
    return int(name) if name.isdigit() else -1


def libpq_target(dsn: str, connect_timeout_s: int = 5) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment carrying it."""
    url = parse_dsn(dsn)
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    env = {**os.environ, "PGCONNECT_TIMEOUT": str(connect_timeout_s)}
    # a statement that waits on a lock (a rename, a table) gives up after a minute
    env["PGOPTIONS"] = f"-c lock_timeout=60000 {env.get('PGOPTIONS', '')}".strip()
    env.pop("PGPASSWORD", None)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return uri, env


def _run(tool: str, command: list[str], dsn: str, env: dict[str, str], action: str) -> None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=env)
    except OSError as error:
        raise StoreUnavailable(f"{action} failed: cannot run {tool}: {error}") from error
    if result.returncode != 0:
        detail = " ".join((result.stderr or result.stdout).split())
        message = redact_text(
            f"{action} failed on {SqlDatabase(dsn).dsn}: {tool} exited with status "
            f"{result.returncode}: {detail}",
            parse_dsn(dsn),
        )
        if "connection to server" in detail.lower():
            raise StoreUnavailable(message)
        raise StoreError(message)


def dump_schema(dsn: str, schema: str, path: Path, tools: PgClientTools) -> None:
    """Write schema ``schema`` (definitions and rows) to ``path`` as plain SQL."""
    uri, env = libpq_target(dsn)
    command = [
        str(tools.pg_dump),
        f"--schema={schema}",
        "--no-owner",
        "--no-privileges",
        "--format=plain",
        "--lock-wait-timeout=60000",
        f"--file={path}",
        f"--dbname={uri}",
    ]
    _run("pg_dump", command, dsn, env, f"dumping schema {schema}")


def restore_schema(
    dsn: str, path: Path, dumped_schema: str, target_schema: str, tools: PgClientTools
) -> None:
    """Run the dump ``path`` of ``dumped_schema`` in one transaction, as ``target_schema``.

    ``target_schema`` must not exist. A schema already named ``dumped_schema`` is parked
    under a temporary name for the transaction and renamed back before it commits.
    """
    if schema_exists(dsn, target_schema):
        raise StoreError(
            f"cannot restore into schema {target_schema} on {SqlDatabase(dsn).dsn}: "
            "it exists; restore into a new schema"
        )
    before: list[str] = []
    after: list[str] = []
    if target_schema != dumped_schema:
        if schema_exists(dsn, dumped_schema):
            parked = f"emp_parked_{uuid.uuid4().hex[:12]}"
            before.append(f'ALTER SCHEMA "{dumped_schema}" RENAME TO "{parked}"')
            after.append(f'ALTER SCHEMA "{dumped_schema}" RENAME TO "{target_schema}"')
            after.append(f'ALTER SCHEMA "{parked}" RENAME TO "{dumped_schema}"')
        else:
            after.append(f'ALTER SCHEMA "{dumped_schema}" RENAME TO "{target_schema}"')
    uri, env = libpq_target(dsn)
    command = [str(tools.psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction"]
    for statement in before:
        command += ["-c", statement]
    command += ["-f", str(path)]
    for statement in after:
        command += ["-c", statement]
    command.append(f"--dbname={uri}")
    _run("psql", command, dsn, env, f"restoring schema {dumped_schema} as {target_schema}")


@contextmanager
def _engine_connection(dsn: str, action: str) -> Iterator:
    translator = SqlDatabase(dsn)
    engine = create_engine(parse_dsn(dsn), connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            yield connection
    except (exc.SQLAlchemyError, psycopg.Error) as error:
        raise translator.translate(error, action) from error
    finally:
        engine.dispose()


def schema_exists(dsn: str, schema: str) -> bool:
    """Whether the database has a schema of that name (nothing is created or migrated)."""
    with _engine_connection(dsn, f"looking for schema {schema}") as connection:
        return bool(
            connection.execute(
                text("SELECT count(*) FROM pg_namespace WHERE nspname = :schema"),
                {"schema": schema},
            ).scalar_one()
        )


def drop_schema(dsn: str, schema: str) -> None:
    """Drop the schema and everything in it (a scratch restore)."""
    with _engine_connection(dsn, f"dropping schema {schema}") as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.commit()


def table_rows(database: SqlDatabase, tables: Sequence[str] = DATA_TABLES) -> dict[str, int]:
    """Row count of each table of the database's schema."""
    schema = database.schema
    with database.connection(f"counting the rows of schema {schema}") as connection:
        return {
            table: int(
                connection.execute(text(f'SELECT count(*) FROM "{schema}"."{table}"')).scalar_one()
            )
            for table in tables
        }


@contextmanager
def frozen(database: SqlDatabase, tables: Sequence[str] = DATA_TABLES) -> Iterator[None]:
    """Hold SHARE locks on the tables for the block: reads and dumps go on, writes wait."""
    schema = database.schema
    names = ", ".join(f'"{schema}"."{table}"' for table in tables)
    with database.connection(f"locking schema {schema} for a snapshot") as connection:
        connection.execute(text("SET LOCAL lock_timeout = '60s'"))
        connection.execute(text(f"LOCK TABLE {names} IN SHARE MODE"))
        yield
        connection.rollback()
