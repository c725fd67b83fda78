"""Postgres-only behaviour: dead servers, killed backends, migrations, partitioning, status."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Connection, create_engine, text

from emp.adapters.sql_store import SqlBarStore, SqlDatabase
from emp.adapters.sql_store.migrations import LATEST_VERSION
from emp.ports.store_errors import StoreUnavailable
from tests.integration.stores.builders import DAY_NS, assert_same_series, make_series
from tests.integration.stores.services import PostgresServer, free_port

YEAR_NS = 366 * DAY_NS
T2020 = 1_577_923_200_000_000_000  # 2020-01-02 UTC
T2021 = T2020 + YEAR_NS  # 2021-01-02 UTC


@pytest.fixture
def admin(postgres: PostgresServer) -> Iterator[Connection]:
    engine = create_engine(postgres.dsn.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        yield connection
    engine.dispose()


class TestUnreachableServer:
    def test_the_constructor_does_no_io(self) -> None:
        SqlDatabase(f"postgresql://emp:hunter2@127.0.0.1:{free_port()}/emp")

    def test_a_dead_dsn_fails_fast_naming_the_dsn_with_the_password_redacted(self) -> None:
        port = free_port()
        store = SqlBarStore(SqlDatabase(f"postgresql://emp:hunter2@127.0.0.1:{port}/emp"))
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as info:
            store.coverage()
        assert time.monotonic() - started < 10
        message = str(info.value)
        assert f"postgresql://emp:***@127.0.0.1:{port}/emp" in message
        assert "hunter2" not in message

    def test_a_missing_database_is_unavailable_and_the_password_stays_hidden(
        self, postgres: PostgresServer
    ) -> None:
        dsn = postgres.dsn_with_password("s3cr3t").replace("/postgres", "/no_such_db")
        with pytest.raises(StoreUnavailable, match="no_such_db") as info:
            SqlDatabase(dsn).open()
        assert "s3cr3t" not in str(info.value)

    @pytest.mark.parametrize(
        "dsn", ["host=db password=s3cr3t", "mysql://root:s3cr3t@db/emp", "not a dsn"]
    )
    def test_a_dsn_that_is_not_a_postgres_url_is_refused_in_words(self, dsn: str) -> None:
        with pytest.raises(StoreUnavailable, match="expected") as info:
            SqlDatabase(dsn)
        assert "s3cr3t" not in str(info.value)


def _wait_until_blocked(admin: Connection, application: str) -> int:
    """The pid of the backend of ``application`` once it waits on a lock."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        pid = admin.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE application_name = :app "
                "AND wait_event_type = 'Lock'"
            ),
            {"app": application},
        ).scalar()
        admin.rollback()
        if pid:
            return int(pid)
        time.sleep(0.05)
    pytest.fail(f"the backend of {application} never blocked on the lock")


class TestConnectionLostMidWrite:
    def seed(self, store: SqlBarStore) -> dict:
        before = {
            "AAA": make_series("AAA", 3, start_ns=T2020),
            "BBB": make_series("BBB", 3, start_ns=T2021),
        }
        store.write_bars(before, "before")
        return before

    def batch(self) -> dict:
        return {
            "AAA": make_series("AAA", 50, start_ns=T2020, base=500.0),
            "BBB": make_series("BBB", 50, start_ns=T2021, base=700.0),
        }

    @pytest.mark.parametrize("retries", [0, 1])
    def test_a_killed_backend_leaves_the_batch_rolled_back_or_retried_whole(
        self, postgres: PostgresServer, pg_schema: str, admin: Connection, retries: int
    ) -> None:
        application = f"emp-victim-{retries}"
        with SqlDatabase(
            postgres.dsn, schema=pg_schema, retries=retries, application_name=application
        ) as database:
            store = SqlBarStore(database)
            before = self.seed(store)
            locker = admin.engine.connect()
            locker.execute(text(f"LOCK TABLE {pg_schema}.bars_y2021 IN ACCESS EXCLUSIVE MODE"))
            with ThreadPoolExecutor(1) as pool:
                write = pool.submit(store.write_bars, self.batch(), "batch")
                pid = _wait_until_blocked(admin, application)
                killed = admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                assert killed.scalar_one() is True
                admin.commit()
                locker.rollback()  # releases the lock: a retry can go through
                locker.close()
                if retries == 0:
                    with pytest.raises(StoreUnavailable, match="terminat") as info:
                        write.result(timeout=30)
                    assert "writing 100 bars" in str(info.value)
                else:
                    assert write.result(timeout=30) == 100
            stored = store.read_bars(["AAA", "BBB"])
            expected = before if retries == 0 else self.batch()
            for symbol in ("AAA", "BBB"):
                assert_same_series(stored[symbol], expected[symbol])
            sources = {entry.source for entry in store.coverage()}
            assert sources == ({"before"} if retries == 0 else {"batch"})

    def test_a_restarted_server_is_reconnected_transparently(
        self, postgres: PostgresServer, pg_schema: str
    ) -> None:
        with SqlDatabase(postgres.dsn, schema=pg_schema) as database:
            store = SqlBarStore(database)
            store.write_bars({"AAA": make_series("AAA")}, "test")
            postgres.stop()
            postgres.start()
            assert_same_series(store.read_bars(["AAA"])["AAA"], make_series("AAA"))


class TestSchema:
    def test_migrations_apply_once_and_are_recorded(
        self, postgres: PostgresServer, pg_schema: str, admin: Connection
    ) -> None:
        for _ in range(2):
            with SqlDatabase(postgres.dsn, schema=pg_schema) as database:
                database.open()
        versions = admin.execute(
            text(f"SELECT version FROM {pg_schema}.emp_schema_version")
        ).scalars()
        assert list(versions) == [LATEST_VERSION]

    def test_concurrent_first_opens_migrate_once(
        self, postgres: PostgresServer, pg_schema: str
    ) -> None:
        databases = [SqlDatabase(postgres.dsn, schema=pg_schema) for _ in range(4)]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda db: db.open(), databases))
        assert {db.status()["schema_version"] for db in databases} == {LATEST_VERSION}
        for db in databases:
            db.close()

    def test_a_schema_from_a_newer_emp_is_refused(
        self, postgres: PostgresServer, pg_schema: str, admin: Connection
    ) -> None:
        SqlDatabase(postgres.dsn, schema=pg_schema).open()
        admin.execute(text(f"INSERT INTO {pg_schema}.emp_schema_version (version) VALUES (99)"))
        admin.commit()
        with pytest.raises(StoreUnavailable, match="version 99, newer"):
            SqlDatabase(postgres.dsn, schema=pg_schema).open()

    def test_without_timescaledb_bars_are_partitioned_by_year_and_status_says_so(
        self, postgres: PostgresServer, pg_schema: str, admin: Connection
    ) -> None:
        with SqlDatabase(postgres.dsn, schema=pg_schema) as database:
            store = SqlBarStore(database)
            two_years = {
                "AAA": make_series("AAA", 3, start_ns=T2020),
                "BBB": make_series("BBB", 2, start_ns=T2021),
            }
            store.write_bars(two_years, "test")
            status = database.status()
        assert status["partitioning"] == "native"
        assert "timescaledb is not available" in status["partitioning_detail"]
        assert status["pg_partman_available"] in (True, False)
        partitions = admin.execute(
            text(
                "SELECT c.relname, count(*) OVER () FROM pg_inherits i "
                "JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = to_regclass(:parent) ORDER BY c.relname"
            ),
            {"parent": f"{pg_schema}.bars"},
        ).all()
        assert [name for name, _ in partitions] == ["bars_y2020", "bars_y2021"]
        per_partition = admin.execute(
            text(f"SELECT count(*) FROM {pg_schema}.bars_y2021")
        ).scalar_one()
        assert per_partition == 2

    def test_asking_for_timescaledb_where_it_is_missing_is_refused_in_words(
        self, postgres: PostgresServer, pg_schema: str
    ) -> None:
        with pytest.raises(StoreUnavailable, match="timescaledb extension cannot be created"):
            SqlDatabase(postgres.dsn, schema=pg_schema, partitioning="timescaledb").open()

    def test_describe_names_the_store_without_the_password(self, postgres: PostgresServer) -> None:
        database = SqlDatabase(postgres.dsn_with_password("pw123"), schema="emp_x")
        assert "pw123" not in database.describe()
        assert "schema emp_x" in database.describe()
