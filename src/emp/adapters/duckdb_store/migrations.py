"""The DuckDB schema as an ordered list of migrations, and the tiny migrator that applies them.

Each step is ``(version, SQL)``. Opening a database applies, in order, every step whose
version is above the one recorded in ``schema_version``, each in its own transaction
together with the row that records it, so a failed step leaves the previous version intact
and re-opening an up-to-date database changes nothing. Never edit a released step: append
a new one.

Timestamps: ``bars.ts`` is ``TIMESTAMP_NS`` holding UTC wall time (DuckDB's zone-less
timestamp; ``epoch_ns(ts)`` is the UTC epoch nanoseconds). The run tables keep nanosecond
integers (``*_ns BIGINT``), exactly as the domain objects carry them. ``seq`` columns keep
the order in which orders and fills were given, so they are read back in that order.
"""

from __future__ import annotations

from contextlib import suppress

import duckdb

from emp.ports.store_errors import StoreUnavailable

_V1_SCHEMA = """
CREATE TABLE bars (
    symbol  VARCHAR      NOT NULL,
    ts      TIMESTAMP_NS NOT NULL,
    open    DOUBLE       NOT NULL,
    high    DOUBLE       NOT NULL,
    low     DOUBLE       NOT NULL,
    close   DOUBLE       NOT NULL,
    volume  DOUBLE       NOT NULL,
    source  VARCHAR      NOT NULL,
    PRIMARY KEY (symbol, ts)
);
CREATE TABLE runs (
    run_id          VARCHAR PRIMARY KEY,
    kind            VARCHAR NOT NULL,
    strategy        VARCHAR NOT NULL,
    config          VARCHAR NOT NULL,
    seed            BIGINT,
    data_hash       VARCHAR NOT NULL,
    package_version VARCHAR NOT NULL,
    started_ns      BIGINT  NOT NULL,
    finished_ns     BIGINT,
    status          VARCHAR NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    error           VARCHAR,
    summary         VARCHAR NOT NULL
);
CREATE TABLE orders (
    run_id                VARCHAR NOT NULL,
    seq                   INTEGER NOT NULL,
    client_order_id       VARCHAR NOT NULL,
    symbol                VARCHAR NOT NULL,
    side                  VARCHAR NOT NULL,
    order_type            VARCHAR NOT NULL,
    quantity              DOUBLE  NOT NULL,
    limit_price           DOUBLE,
    time_in_force         VARCHAR NOT NULL,
    strategy              VARCHAR NOT NULL,
    status                VARCHAR NOT NULL,
    status_before_request VARCHAR,
    filled_quantity       DOUBLE  NOT NULL,
    average_fill_price    DOUBLE  NOT NULL,
    venue_order_id        VARCHAR,
    reject_reason         VARCHAR,
    created_ns            BIGINT  NOT NULL,
    PRIMARY KEY (run_id, client_order_id)
);
CREATE TABLE fills (
    run_id          VARCHAR NOT NULL,
    seq             INTEGER NOT NULL,
    exec_id         VARCHAR NOT NULL,
    client_order_id VARCHAR NOT NULL,
    symbol          VARCHAR NOT NULL,
    side            VARCHAR NOT NULL,
    quantity        DOUBLE  NOT NULL,
    price           DOUBLE  NOT NULL,
    fee             DOUBLE  NOT NULL,
    ts_ns           BIGINT  NOT NULL,
    PRIMARY KEY (run_id, exec_id)
);
"""

# Step 2: rows refused by validation (prices as delivered; a NaN is stored as NULL, which
# reads back as NaN; the broken rules as comma-separated codes) and computed features.
# ``schema_version`` keeps one row, the current version: the step removes the rows of the
# versions it supersedes.
_V2_QUARANTINE_AND_FEATURES = """
CREATE TABLE quarantine (
    source      VARCHAR NOT NULL,
    symbol      VARCHAR NOT NULL,
    ts_ns       BIGINT  NOT NULL,
    occurrence  INTEGER NOT NULL,
    source_row  BIGINT  NOT NULL,
    open        DOUBLE,
    high        DOUBLE,
    low         DOUBLE,
    close       DOUBLE,
    volume      DOUBLE,
    reasons     VARCHAR NOT NULL,
    detail      VARCHAR NOT NULL,
    PRIMARY KEY (source, symbol, ts_ns, occurrence)
);
CREATE TABLE features (
    symbol  VARCHAR      NOT NULL,
    name    VARCHAR      NOT NULL,
    ts      TIMESTAMP_NS NOT NULL,
    value   DOUBLE       NOT NULL,
    source  VARCHAR      NOT NULL,
    PRIMARY KEY (symbol, name, ts)
);
DELETE FROM schema_version WHERE version < 2;
"""

#: Every schema step, in order. Append only.
MIGRATIONS: tuple[tuple[int, str], ...] = ((1, _V1_SCHEMA), (2, _V2_QUARANTINE_AND_FEATURES))

LATEST_VERSION: int = MIGRATIONS[-1][0]

_VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)"


def schema_version(connection: duckdb.DuckDBPyConnection) -> int:
    """The highest applied version, or 0 for a database without a ``schema_version`` table."""
    # fetchall, not fetchone: DuckDB >= 2 refuses register() while a result is unfinished.
    exists = connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_version'"
    ).fetchall()
    if not exists or exists[0][0] == 0:
        return 0
    rows = connection.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()
    return int(rows[0][0]) if rows else 0


def migrate(connection: duckdb.DuckDBPyConnection) -> int:
    """Apply every pending step; return the resulting version.

    Raises :class:`StoreUnavailable` for a database written by a newer EMP (a version
    above :data:`LATEST_VERSION`), which this code must not touch. DuckDB errors propagate
    for the caller to translate.
    """
    connection.execute(_VERSION_TABLE)
    version = schema_version(connection)
    if version > LATEST_VERSION:
        raise StoreUnavailable(
            f"database schema version {version} is newer than this EMP understands "
            f"(expected at most {LATEST_VERSION})"
        )
    for step, sql in MIGRATIONS:
        if step <= version:
            continue
        connection.execute("BEGIN TRANSACTION")
        try:
            connection.execute(sql)
            connection.execute("INSERT INTO schema_version (version) VALUES (?)", [step])
            connection.execute("COMMIT")
        except BaseException:
            with suppress(duckdb.Error):
                connection.execute("ROLLBACK")
            raise
        version = step
    return version
