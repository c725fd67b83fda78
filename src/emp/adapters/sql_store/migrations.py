"""The Postgres schema as ordered migration steps, and the minimal migrator that applies them.

Every EMP table lives in one Postgres schema (``emp`` unless configured), so several EMP
installations, or tests, can share a database. ``emp_schema_version`` records the applied
steps; each step runs in its own transaction together with its version row, under an
advisory lock, so two processes opening the same database at once apply it once and a
failed step leaves the previous version intact. Never edit a released step: append one.

Time-series tables (``bars``, ``features``) are keyed by ``ts_ns BIGINT``: UTC
nanoseconds exactly as the domain carries them (Postgres timestamps stop at microseconds).
How they are partitioned is decided when step 1 runs and recorded in ``emp_meta``:

- ``timescaledb``: when the extension can be created, they become hypertables on
  ``ts_ns`` (7-day chunks) with compression segmented by symbol after 30 days.
- ``native``: otherwise (Debian ships no TimescaleDB), ``PARTITION BY RANGE (ts_ns)``
  with one partition per calendar year, created on demand by the writers
  (:func:`ensure_year_partitions`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from sqlalchemy import Connection, text

from emp.ports.store_errors import StoreUnavailable

#: The time-series tables and their columns after ``symbol``/``ts_ns`` (for partitions).
TIME_SERIES_TABLES: tuple[str, ...] = ("bars", "features")

_CHUNK_NS = 7 * 86_400 * 10**9
_COMPRESS_AFTER_NS = 30 * 86_400 * 10**9


def _bars_sql(s: str, native: bool) -> list[str]:
    partition = " PARTITION BY RANGE (ts_ns)" if native else ""
    return [
        f"""CREATE TABLE {s}.bars (
            symbol TEXT NOT NULL, ts_ns BIGINT NOT NULL,
            open DOUBLE PRECISION NOT NULL, high DOUBLE PRECISION NOT NULL,
            low DOUBLE PRECISION NOT NULL, close DOUBLE PRECISION NOT NULL,
            volume DOUBLE PRECISION NOT NULL, source TEXT NOT NULL,
            PRIMARY KEY (symbol, ts_ns)){partition}""",
        f"""CREATE TABLE {s}.features (
            symbol TEXT NOT NULL, name TEXT NOT NULL, ts_ns BIGINT NOT NULL,
            value DOUBLE PRECISION NOT NULL, source TEXT NOT NULL,
            PRIMARY KEY (symbol, name, ts_ns)){partition}""",
    ]


def _hypertable_sql(s: str) -> list[str]:
    statements = [
        f"""CREATE OR REPLACE FUNCTION {s}.emp_now_ns() RETURNS BIGINT LANGUAGE SQL STABLE
            AS $$ SELECT (extract(epoch FROM now()) * 1e9)::BIGINT $$""",
    ]
    for table, order in (("bars", "ts_ns"), ("features", "name, ts_ns")):
        statements += [
            f"SELECT create_hypertable('{s}.{table}', 'ts_ns', "
            f"chunk_time_interval => {_CHUNK_NS}::BIGINT)",
            f"SELECT set_integer_now_func('{s}.{table}', '{s}.emp_now_ns')",
            f"ALTER TABLE {s}.{table} SET (timescaledb.compress, "
            f"timescaledb.compress_segmentby = 'symbol', "
            f"timescaledb.compress_orderby = '{order}')",
            f"SELECT add_compression_policy('{s}.{table}', {_COMPRESS_AFTER_NS}::BIGINT)",
        ]
    return statements


def _runs_sql(s: str) -> list[str]:
    return [
        f"""CREATE TABLE {s}.runs (
            run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, strategy TEXT NOT NULL,
            config TEXT NOT NULL, seed BIGINT, data_hash TEXT NOT NULL,
            package_version TEXT NOT NULL, started_ns BIGINT NOT NULL, finished_ns BIGINT,
            status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
            error TEXT, summary TEXT NOT NULL)""",
        f"""CREATE TABLE {s}.orders (
            run_id TEXT NOT NULL REFERENCES {s}.runs (run_id), seq INTEGER NOT NULL,
            client_order_id TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL,
            order_type TEXT NOT NULL, quantity DOUBLE PRECISION NOT NULL,
            limit_price DOUBLE PRECISION, time_in_force TEXT NOT NULL, strategy TEXT NOT NULL,
            status TEXT NOT NULL, status_before_request TEXT,
            filled_quantity DOUBLE PRECISION NOT NULL,
            average_fill_price DOUBLE PRECISION NOT NULL, venue_order_id TEXT,
            reject_reason TEXT, created_ns BIGINT NOT NULL,
            PRIMARY KEY (run_id, client_order_id))""",
        f"""CREATE TABLE {s}.fills (
            run_id TEXT NOT NULL REFERENCES {s}.runs (run_id), seq INTEGER NOT NULL,
            exec_id TEXT NOT NULL, client_order_id TEXT NOT NULL, symbol TEXT NOT NULL,
            side TEXT NOT NULL, quantity DOUBLE PRECISION NOT NULL,
            price DOUBLE PRECISION NOT NULL, fee DOUBLE PRECISION NOT NULL,
            ts_ns BIGINT NOT NULL, PRIMARY KEY (run_id, exec_id))""",
        f"""CREATE TABLE {s}.quarantine (
            source TEXT NOT NULL, symbol TEXT NOT NULL, ts_ns BIGINT NOT NULL,
            occurrence INTEGER NOT NULL, source_row BIGINT NOT NULL,
            open DOUBLE PRECISION NOT NULL, high DOUBLE PRECISION NOT NULL,
            low DOUBLE PRECISION NOT NULL, close DOUBLE PRECISION NOT NULL,
            volume DOUBLE PRECISION NOT NULL, reasons TEXT NOT NULL, detail TEXT NOT NULL,
            PRIMARY KEY (source, symbol, ts_ns, occurrence))""",
    ]


def _try_timescaledb(connection: Connection) -> bool:
    """Create the timescaledb extension if the server has it; False when it cannot."""
    available = connection.execute(
        text("SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'")
    ).scalar_one()
    if not available:
        return False
    savepoint = connection.begin_nested()
    try:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
    except Exception:  # not preloaded, no privilege: fall back to native partitions
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def _step_1(connection: Connection, schema: str, partitioning: str) -> None:
    use_timescale = partitioning != "native" and _try_timescaledb(connection)
    if partitioning == "timescaledb" and not use_timescale:
        raise StoreUnavailable(
            "partitioning 'timescaledb' was asked for, but the timescaledb extension cannot "
            "be created on this server (is it installed and in shared_preload_libraries?)"
        )
    mode = "timescaledb" if use_timescale else "native"
    statements = _bars_sql(schema, native=mode == "native") + _runs_sql(schema)
    if mode == "timescaledb":
        statements += _hypertable_sql(schema)
    statements.append(f"CREATE TABLE {schema}.emp_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    for statement in statements:
        connection.execute(text(statement))
    connection.execute(
        text(f"INSERT INTO {schema}.emp_meta (key, value) VALUES ('partitioning', :mode)"),
        {"mode": mode},
    )


#: Every step, in order: ``(version, apply(connection, schema, partitioning))``. Append only.
MIGRATIONS: tuple[tuple[int, Callable[[Connection, str, str], None]], ...] = ((1, _step_1),)

LATEST_VERSION: int = MIGRATIONS[-1][0]


def schema_version(connection: Connection, schema: str) -> int:
    """The highest applied version, 0 when the schema has no version table yet."""
    exists = connection.execute(
        text(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = :schema AND table_name = 'emp_schema_version'"
        ),
        {"schema": schema},
    ).scalar_one()
    if not exists:
        return 0
    return int(
        connection.execute(
            text(f"SELECT coalesce(max(version), 0) FROM {schema}.emp_schema_version")
        ).scalar_one()
    )


def migrate(connection: Connection, schema: str, partitioning: str = "auto") -> int:
    """Apply every pending step, each committed on its own; return the resulting version.

    ``connection`` must not be in a transaction. Raises :class:`StoreUnavailable` for a
    schema written by a newer EMP.
    """
    for step, apply in (*MIGRATIONS, (None, None)):
        with connection.begin():
            connection.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"emp:{schema}"}
            )
            connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
            connection.execute(
                text(
                    f"CREATE TABLE IF NOT EXISTS {schema}.emp_schema_version ("
                    "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
            )
            version = schema_version(connection, schema)
            if version > LATEST_VERSION:
                raise StoreUnavailable(
                    f"schema {schema} is at version {version}, newer than this EMP "
                    f"understands (expected at most {LATEST_VERSION})"
                )
            if step is None or apply is None or step <= version:
                continue
            apply(connection, schema, partitioning)
            connection.execute(
                text(f"INSERT INTO {schema}.emp_schema_version (version) VALUES (:v)"),
                {"v": step},
            )
    return schema_version(connection, schema)


def partitioning_mode(connection: Connection, schema: str) -> str:
    """``timescaledb`` or ``native``, as recorded when the schema was created."""
    return str(
        connection.execute(
            text(f"SELECT value FROM {schema}.emp_meta WHERE key = 'partitioning'")
        ).scalar_one()
    )


def year_bounds(ts_ns: np.ndarray) -> list[tuple[int, str, str]]:
    """``(year, FROM bound, TO bound)`` of every calendar year ``ts_ns`` touches.

    The first and last years int64 nanoseconds can hold (1677, 2262) are open-ended
    (``MINVALUE``/``MAXVALUE``), since their calendar bounds do not fit in a BIGINT.
    """
    if ts_ns.size == 0:
        return []
    years = ts_ns.astype("datetime64[ns]").astype("datetime64[Y]").astype(np.int64)
    years = np.unique(np.clip(years, 1677 - 1970, 2262 - 1970))  # int64 min is NaT
    bounds = []
    for offset in years:
        year = int(offset) + 1970
        first = "MINVALUE" if year <= 1677 else str(_year_start_ns(year))
        end = "MAXVALUE" if year >= 2262 else str(_year_start_ns(year + 1))
        bounds.append((year, first, end))
    return bounds


def _year_start_ns(year: int) -> int:
    return int(np.datetime64(f"{year:04d}-01-01", "ns").astype(np.int64))


def ensure_year_partitions(
    connection: Connection, schema: str, table: str, years: Iterable[tuple[int, str, str]]
) -> list[str]:
    """Create the yearly partitions of ``table`` that are missing; return their names.

    Serialised by an advisory lock, so concurrent writers create each partition once.
    """
    created = []
    for year, first, end in years:
        name = f"{table}_y{year}"
        exists = connection.execute(
            text("SELECT to_regclass(:name) IS NOT NULL"), {"name": f"{schema}.{name}"}
        ).scalar_one()
        if exists:
            continue
        connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": f"emp:{schema}:{table}:partitions"},
        )
        connection.execute(
            text(
                f'CREATE TABLE IF NOT EXISTS {schema}."{name}" PARTITION OF {schema}.{table} '
                f"FOR VALUES FROM ({first}) TO ({end})"
            )
        )
        created.append(name)
    return created
