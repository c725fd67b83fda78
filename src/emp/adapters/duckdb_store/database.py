"""One DuckDB database file: a lazily opened connection, its schema, its transactions.

Every DuckDB exception is translated here, at the boundary, into the storage port's errors:
``IOException``/``ConnectionException`` become :class:`StoreUnavailable`,
``ConstraintException`` becomes :class:`StoreIntegrityError`, and any other
``duckdb.Error`` becomes :class:`StoreError`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType

import duckdb
import numpy as np

from emp.adapters.duckdb_store.migrations import LATEST_VERSION, migrate, schema_version
from emp.ports.store_errors import StoreError, StoreIntegrityError, StoreUnavailable

#: The path that opens a private in-memory database instead of a file.
IN_MEMORY = ":memory:"

#: Column arrays registered with the connection for one bulk statement, by view name.
Staged = Mapping[str, Mapping[str, np.ndarray]]


def translate_error(error: duckdb.Error, action: str) -> StoreError:
    """The port error for a DuckDB exception raised while doing ``action``."""
    message = f"{action} failed: {error}"
    if isinstance(error, duckdb.ConstraintException):
        return StoreIntegrityError(message)
    if isinstance(error, duckdb.IOException | duckdb.ConnectionException):
        return StoreUnavailable(message)
    return StoreError(message)


class DuckDBDatabase:
    """A DuckDB database file shared by :class:`DuckDBBarStore` and :class:`DuckDBRunStore`.

    The constructor does no I/O: the connection is opened on first use, creating the
    parent directories and bringing the schema up to date (see
    :mod:`emp.adapters.duckdb_store.migrations`). Opening fails with
    :class:`~emp.ports.store_errors.StoreUnavailable` naming the path and the reason.
    One connection is used for every call, serialised by a lock, so one instance may be
    shared between threads. Use ``":memory:"`` as the path for a throwaway database.

    Args:
        path: the database file (created if missing, unless ``read_only``).
        read_only: open without write access; the file must exist at the latest schema.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self._path: Path | None = None if str(path) == IN_MEMORY else Path(path)
        self._read_only = read_only
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._closed = False
        self._lock = threading.RLock()

    # ---------------------------------------------------------------- queries
    @property
    def path(self) -> str:
        """The database file as given, or ``":memory:"``."""
        return IN_MEMORY if self._path is None else str(self._path)

    @property
    def read_only(self) -> bool:
        return self._read_only

    @property
    def schema_version(self) -> int:
        """The schema version of the open database (opens it if needed)."""
        with self.reading("reading the schema version") as connection:
            return schema_version(connection)

    # ------------------------------------------------------------- lifecycle
    def open(self) -> None:
        """Open the database now (it opens on first use anyway); idempotent.

        Raises :class:`StoreUnavailable` naming the path and the reason when it cannot.
        """
        with self._lock:
            self._open()

    def close(self) -> None:
        """Close the connection; later use raises :class:`StoreUnavailable`."""
        with self._lock:
            self._closed = True
            connection, self._connection = self._connection, None
            if connection is not None:
                connection.close()

    def __enter__(self) -> DuckDBDatabase:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "read-only" if self._read_only else "read-write"
        return f"DuckDBDatabase({self.path!r}, {mode})"

    # ----------------------------------------------------------------- access
    @contextmanager
    def reading(self, action: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """The connection, under the lock, with DuckDB errors translated."""
        with self._lock:
            connection = self._open()
            try:
                yield connection
            except duckdb.Error as error:
                raise translate_error(error, action) from error

    @contextmanager
    def transaction(
        self, action: str, *, staged: Staged | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run the block in one transaction: commit on success, roll back on any error.

        ``staged`` column arrays are registered as views for the block (for bulk
        ``INSERT ... SELECT``) and unregistered afterwards. DuckDB errors are translated;
        other exceptions (e.g. a :class:`StoreIntegrityError` raised by the caller after
        a check) propagate unchanged, after the rollback.
        """
        with self._lock:
            connection = self._open()
            if self._read_only:
                raise StoreUnavailable(f"{action} failed: {self.path} is open read-only")
            registered: list[str] = []
            try:
                for name, columns in (staged or {}).items():
                    connection.register(name, dict(columns))
                    registered.append(name)
                connection.execute("BEGIN TRANSACTION")
                try:
                    yield connection
                    connection.execute("COMMIT")
                except BaseException:
                    _rollback_quietly(connection)
                    raise
            except duckdb.Error as error:
                raise translate_error(error, action) from error
            finally:
                for name in registered:
                    _unregister_quietly(connection, name)

    # --------------------------------------------------------------- opening
    def _open(self) -> duckdb.DuckDBPyConnection:
        if self._closed:
            raise StoreUnavailable(f"DuckDB database {self.path} is closed")
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    def _connect(self) -> duckdb.DuckDBPyConnection:
        where = f"cannot open DuckDB database {self.path}"
        if self._path is not None:
            if self._path.is_dir():
                raise StoreUnavailable(f"{where}: the path is a directory, expected a file")
            if not self._read_only:
                try:
                    self._path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as error:
                    raise StoreUnavailable(
                        f"{where}: its directory cannot be created: {error}"
                    ) from error
        try:
            connection = duckdb.connect(self.path, read_only=self._read_only)
        except duckdb.Error as error:
            raise StoreUnavailable(f"{where}: {error}") from error
        try:
            self._ensure_schema(connection, where)
        except BaseException:
            connection.close()
            raise
        return connection

    def _ensure_schema(self, connection: duckdb.DuckDBPyConnection, where: str) -> None:
        try:
            if self._read_only:
                version = schema_version(connection)
                if version != LATEST_VERSION:
                    raise StoreUnavailable(
                        f"{where}: schema version expected {LATEST_VERSION}, was {version}; "
                        "open it read-write once to migrate it"
                    )
            else:
                migrate(connection)
        except duckdb.Error as error:
            raise StoreUnavailable(f"{where}: schema migration failed: {error}") from error


def _rollback_quietly(connection: duckdb.DuckDBPyConnection) -> None:
    """Roll back; a failed COMMIT may already have ended the transaction."""
    with suppress(duckdb.Error):
        connection.execute("ROLLBACK")


def _unregister_quietly(connection: duckdb.DuckDBPyConnection, name: str) -> None:
    with suppress(duckdb.Error):
        connection.unregister(name)
