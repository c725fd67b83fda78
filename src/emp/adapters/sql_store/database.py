"""One Postgres database through SQLAlchemy 2 Core and psycopg 3: engine, schema, transactions.

Every SQLAlchemy/psycopg exception is translated here into the storage port's errors,
with the DSN's password replaced by ``***`` in every message: a server that cannot be
reached, or a connection lost mid-transaction, becomes :class:`StoreUnavailable`; a
constraint violation :class:`StoreIntegrityError`; anything else :class:`StoreError`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Connection, Engine, create_engine, exc, text
from sqlalchemy.engine import URL, make_url

from emp.adapters.sql_store.migrations import (
    LATEST_VERSION,
    migrate,
    partitioning_mode,
    schema_version,
)
from emp.ports.store_errors import StoreError, StoreIntegrityError, StoreUnavailable

T = TypeVar("T")

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
PARTITIONING = ("auto", "native", "timescaledb")


def parse_dsn(dsn: str) -> URL:
    """The SQLAlchemy URL of a ``postgresql://`` DSN, with the psycopg 3 driver."""
    try:
        url = make_url(dsn)
    except exc.ArgumentError as error:
        raise StoreUnavailable(
            "expected a DSN like postgresql://user:password@host:5432/database, "
            f"was {redact_text(dsn, None)!r}"
        ) from error
    if url.get_backend_name() != "postgresql":
        raise StoreUnavailable(
            f"expected a postgresql:// DSN, was {url.render_as_string(hide_password=True)!r}"
        )
    return url.set(drivername="postgresql+psycopg")


def redact_text(message: str, url: URL | None) -> str:
    """``message`` with the DSN's password, and any ``user:password@``, hidden."""
    if url is not None and url.password:
        message = message.replace(str(url.password), "***")
    message = re.sub(r"(://[^:/@\s]*):[^@\s]*@", r"\1:***@", message)
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", message, flags=re.IGNORECASE)


class SqlDatabase:
    """A Postgres database shared by the SQL bar, run and quarantine stores.

    The constructor does no I/O: the engine connects on first use and brings the schema
    up to date (:mod:`emp.adapters.sql_store.migrations`). Connections come from a small
    pool, checked before use, so a restarted server is reconnected transparently.

    Args:
        dsn: ``postgresql://user:password@host:port/database``.
        schema: the Postgres schema holding EMP's tables (created if missing).
        partitioning: ``auto`` (TimescaleDB hypertables when the extension can be
            created, else native range partitions), ``native`` or ``timescaledb``.
            Only used when the schema is created.
        connect_timeout_s: seconds to wait for the server to answer a connect.
        retries: how many times a write that lost its connection is retried whole
            (idempotent writes only: bars and quarantine upserts).
        application_name: shown in ``pg_stat_activity``.
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "emp",
        partitioning: str = "auto",
        connect_timeout_s: int = 5,
        retries: int = 1,
        application_name: str = "emp",
    ) -> None:
        self._url = parse_dsn(dsn)
        if not _IDENTIFIER.match(schema):
            raise StoreUnavailable(f"schema expected a lower-case SQL identifier, was {schema!r}")
        if partitioning not in PARTITIONING:
            raise StoreUnavailable(
                f"partitioning expected one of {', '.join(PARTITIONING)}, was {partitioning!r}"
            )
        if retries < 0:
            raise StoreUnavailable(f"retries expected >= 0, was {retries}")
        self._schema = schema
        self._partitioning = partitioning
        self._connect_timeout_s = int(connect_timeout_s)
        self._retries = retries
        self._application_name = application_name
        self._engine: Engine | None = None
        self._closed = False
        self._lock = threading.RLock()

    # ---------------------------------------------------------------- queries
    @property
    def schema(self) -> str:
        return self._schema

    @property
    def dsn(self) -> str:
        """The DSN with its password hidden."""
        return self._url.set(drivername="postgresql").render_as_string(hide_password=True)

    def describe(self) -> str:
        return f"postgres:{self.dsn} schema {self._schema}"

    def status(self) -> dict[str, Any]:
        """Server version, schema version and how the time-series tables are partitioned."""
        with self.connection("reading the database status") as connection:
            mode = partitioning_mode(connection, self._schema)
            partman = connection.execute(
                text("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_partman'")
            ).scalar_one()
            return {
                "dsn": self.dsn,
                "schema": self._schema,
                "schema_version": schema_version(connection, self._schema),
                "server_version": connection.execute(text("SHOW server_version")).scalar_one(),
                "partitioning": mode,
                "partitioning_detail": (
                    "bars and features are TimescaleDB hypertables on ts_ns (7-day chunks), "
                    "compressed by symbol after 30 days"
                    if mode == "timescaledb"
                    else "timescaledb is not available: bars and features use native "
                    "PARTITION BY RANGE (ts_ns), one partition per year, created on demand"
                ),
                "pg_partman_available": bool(partman),
            }

    # ------------------------------------------------------------- lifecycle
    def open(self) -> None:
        """Connect and migrate now (it happens on first use anyway); idempotent."""
        with self._lock:
            self._open()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            engine, self._engine = self._engine, None
            if engine is not None:
                engine.dispose()

    def __enter__(self) -> SqlDatabase:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqlDatabase({self.dsn!r}, schema={self._schema!r})"

    # ----------------------------------------------------------------- access
    def translate(self, error: Exception, action: str) -> StoreError:
        """The port error for a library exception raised while doing ``action``."""
        cause = error.orig if isinstance(error, exc.DBAPIError) and error.orig else error
        detail = " ".join(str(cause).split())
        message = redact_text(f"{action} failed on {self.dsn}: {detail}", self._url)
        if isinstance(error, exc.IntegrityError) or isinstance(cause, psycopg.IntegrityError):
            return StoreIntegrityError(message)
        if isinstance(error, exc.OperationalError | exc.InterfaceError) or isinstance(
            cause, psycopg.OperationalError | psycopg.InterfaceError
        ):
            return StoreUnavailable(message)
        if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
            return StoreUnavailable(message)
        return StoreError(message)

    @contextmanager
    def connection(self, action: str) -> Iterator[Connection]:
        """A pooled connection (autobegin; rolled back on exit unless committed)."""
        engine = self._open()
        try:
            with engine.connect() as connection:
                yield connection
        except (exc.SQLAlchemyError, psycopg.Error) as error:
            raise self.translate(error, action) from error

    def in_transaction(
        self, action: str, work: Callable[[Connection], T], *, retry: bool = False
    ) -> T:
        """Run ``work`` in one transaction: commit on success, roll back on any error.

        With ``retry``, a transaction that lost its connection (server restarted, backend
        killed) is run again whole, up to ``retries`` times, on a fresh connection.
        """
        attempts = 1 + (self._retries if retry else 0)
        for attempt in range(1, attempts + 1):
            try:
                with self.connection(action) as connection, connection.begin():
                    return work(connection)
            except StoreUnavailable:
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # --------------------------------------------------------------- opening
    def _open(self) -> Engine:
        with self._lock:
            if self._closed:
                raise StoreUnavailable(f"database {self.dsn} is closed")
            if self._engine is None:
                engine = create_engine(
                    self._url,
                    pool_pre_ping=True,
                    pool_size=2,
                    max_overflow=4,
                    connect_args={
                        "connect_timeout": self._connect_timeout_s,
                        "application_name": self._application_name,
                    },
                )
                try:
                    with engine.connect() as connection:
                        migrate(connection, self._schema, self._partitioning)
                except (exc.SQLAlchemyError, psycopg.Error) as error:
                    engine.dispose()
                    raise self._unavailable(error) from error
                except BaseException:
                    engine.dispose()
                    raise
                self._engine = engine
            return self._engine

    def _unavailable(self, error: Exception) -> StoreUnavailable:
        translated = self.translate(error, f"opening schema {self._schema}")
        return StoreUnavailable(f"cannot open the Postgres store: {translated}")

    @property
    def latest_version(self) -> int:
        return LATEST_VERSION
