"""Fixtures of the store contract suite: every store adapter, on a real server or file.

``backend`` runs each contract test against DuckDB (a temp file) and Postgres (a
throwaway cluster started once per session; each test gets its own schema). Redis tests
get a redis-server started once per session and a fresh database number flush per test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from emp.adapters.duckdb_store import (
    DuckDBBarStore,
    DuckDBDatabase,
    DuckDBQuarantineStore,
    DuckDBRunStore,
)
from emp.adapters.sql_store import SqlBarStore, SqlDatabase, SqlQuarantineStore, SqlRunStore
from tests.integration.stores.services import (
    PostgresServer,
    RedisServer,
    postgres_server,
    redis_server,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "services: needs a real Postgres or Redis server (started by fixtures)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "stores" in item.nodeid and (
            "postgres" in item.nodeid or "redis" in item.nodeid or "pg_" in item.nodeid
        ):
            item.add_marker(pytest.mark.services)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    server: RedisServer
    with redis_server() as server:
        yield server.url


def drop_schema(dsn: str, schema: str) -> None:
    engine = create_engine(dsn.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture
def pg_schema(postgres: PostgresServer) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield schema
    drop_schema(postgres.dsn, schema)


@dataclass
class Stores:
    """The three stores of one backend on one database, and a way to open it again."""

    name: str
    bars: Any
    runs: Any
    quarantine: Any
    database: Any
    reopen: Callable[[], Stores]

    def close(self) -> None:
        self.database.close()


def duckdb_stores(path: Path) -> Stores:
    database = DuckDBDatabase(path)
    return Stores(
        "duckdb",
        DuckDBBarStore(database),
        DuckDBRunStore(database),
        DuckDBQuarantineStore(database),
        database,
        lambda: duckdb_stores(path),
    )


def postgres_stores(dsn: str, schema: str) -> Stores:
    database = SqlDatabase(dsn, schema=schema)
    return Stores(
        "postgres",
        SqlBarStore(database),
        SqlRunStore(database),
        SqlQuarantineStore(database),
        database,
        lambda: postgres_stores(dsn, schema),
    )


@pytest.fixture(params=["duckdb", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    if request.param == "duckdb":
        stores = duckdb_stores(tmp_path / "emp.duckdb")
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        schema = request.getfixturevalue("pg_schema")
        stores = postgres_stores(server.dsn, schema)
    try:
        yield stores
    finally:
        stores.close()
