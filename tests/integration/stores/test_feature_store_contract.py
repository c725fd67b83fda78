"""The feature store contract: the same tests against DuckDB and a real Postgres.

Plus the Postgres-only faults of a feature write (an error or a killed backend
part-way through a batch leaves the batch rolled back whole, or retried whole).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sqlalchemy import Connection, create_engine, text

from emp.adapters.duckdb_store import DuckDBDatabase, DuckDBFeatureStore
from emp.adapters.sql_store import SqlDatabase, SqlFeatureStore
from emp.ports.feature_store import (
    FeatureCoverage,
    FeatureNotFound,
    FeatureSeries,
    FeatureStorePort,
    InvalidFeatureSeries,
)
from emp.ports.store_errors import StoreError, StoreIntegrityError, StoreUnavailable
from tests.integration.stores.builders import DAY_NS, T0
from tests.integration.stores.services import PostgresServer


@dataclass
class Features:
    """A feature store on one database, and a way to open that database again."""

    name: str
    store: Any
    database: Any
    reopen: Callable[[], Features]

    def close(self) -> None:
        self.database.close()


def duckdb_features(path: Path) -> Features:
    database = DuckDBDatabase(path)
    return Features("duckdb", DuckDBFeatureStore(database), database, lambda: duckdb_features(path))


def postgres_features(dsn: str, schema: str, **options: Any) -> Features:
    database = SqlDatabase(dsn, schema=schema, **options)
    return Features(
        "postgres",
        SqlFeatureStore(database),
        database,
        lambda: postgres_features(dsn, schema, **options),
    )


@pytest.fixture(params=["duckdb", "postgres"])
def features(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Features]:
    if request.param == "duckdb":
        opened = duckdb_features(tmp_path / "emp.duckdb")
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        opened = postgres_features(server.dsn, request.getfixturevalue("pg_schema"))
    try:
        yield opened
    finally:
        opened.close()


def series(
    name: str = "momentum_20",
    symbol: str = "AAA",
    n: int = 5,
    *,
    start_ns: int = T0,
    step_ns: int = DAY_NS,
    base: float = 0.5,
) -> FeatureSeries:
    return FeatureSeries.from_arrays(
        name,
        symbol,
        start_ns + np.arange(n, dtype=np.int64) * step_ns,
        base + np.arange(n, dtype=np.float64) * 0.125,
    )


def assert_same(actual: FeatureSeries, expected: FeatureSeries) -> None:
    assert (actual.name, actual.symbol) == (expected.name, expected.symbol)
    assert actual.ts_ns.dtype == np.int64 and actual.values.dtype == np.float64
    np.testing.assert_array_equal(actual.ts_ns, expected.ts_ns)
    np.testing.assert_array_equal(actual.values, expected.values)  # NaN equals NaN here


class TestThePort:
    def test_both_stores_implement_the_feature_store_port(self, features: Features) -> None:
        assert isinstance(features.store, FeatureStorePort)


class TestRoundTrips:
    def test_values_round_trip_exactly_to_the_nanosecond(self, features: Features) -> None:
        written = [series("mom", "AAA"), series("mom", "BBB", 3, base=-2.0), series("vol", "AAA")]
        assert features.store.write_features(written, "research:v1") == 13
        read = features.store.read_features("mom", ["BBB", "AAA"])
        assert list(read) == ["BBB", "AAA"]
        assert_same(read["AAA"], written[0])
        assert_same(read["BBB"], written[1])
        assert_same(features.store.read_features("vol", ["AAA"])["AAA"], written[2])

    def test_nan_and_infinite_values_are_kept_as_they_are(self, features: Features) -> None:
        values = [math.nan, 1.5, math.inf, -math.inf, math.nan, -0.0, 5e-324]
        written = FeatureSeries.from_arrays("z", "AAA", T0 + np.arange(7) * 60, values)
        assert features.store.write_features([written], "warmup") == 7
        read = features.store.read_features("z", ["AAA"])["AAA"]
        assert_same(read, written)
        assert np.isnan(read.values).tolist() == [True, False, False, False, True, False, False]

    def test_timestamps_across_many_years_and_before_1970_round_trip(
        self, features: Features
    ) -> None:
        ts = np.array([-(10**18), -1, 0, T0, T0 + 400 * DAY_NS, 9 * 10**18], dtype=np.int64)
        written = FeatureSeries.from_arrays("carry", "EURUSD=X", ts, np.arange(6.0))
        features.store.write_features([written], "fx")
        assert_same(features.store.read_features("carry", ["EURUSD=X"])["EURUSD=X"], written)

    def test_a_large_write_round_trips(self, features: Features) -> None:
        big = [series("f", f"S{i}", 20_000, step_ns=60 * 10**9) for i in range(5)]
        assert features.store.write_features(big, "bulk") == 100_000
        read = features.store.read_features("f", [f"S{i}" for i in range(5)])
        for item in big:
            assert_same(read[item.symbol], item)

    def test_features_survive_reopening(self, features: Features) -> None:
        written = series()
        features.store.write_features([written], "test")
        features.close()
        again = features.reopen()
        try:
            assert_same(again.store.read_features(written.name, ["AAA"])["AAA"], written)
            again.store.write_features([series(symbol="BBB")], "after")
            assert [c.symbol for c in again.store.feature_coverage()] == ["AAA", "BBB"]
        finally:
            again.close()


_names = (f"p{i}" for i in itertools.count())


class TestRoundTripProperty:
    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        data=st.data(),
        values=hnp.arrays(np.float64, st.integers(1, 40), elements=st.floats(width=64)),
    )
    def test_any_float_values_at_any_increasing_timestamps_round_trip(
        self, features: Features, data: st.DataObject, values: np.ndarray
    ) -> None:
        steps = data.draw(
            hnp.arrays(np.int64, values.shape[0], elements=st.integers(1, 10**15)), label="steps"
        )
        start = data.draw(st.integers(-(10**18), 10**18), label="start")
        ts = start + np.cumsum(steps)
        written = FeatureSeries.from_arrays(next(_names), "AAA", ts, values)
        features.store.write_features([written], "hypothesis")
        assert_same(features.store.read_features(written.name, ["AAA"])["AAA"], written)


class TestUpserts:
    def test_writing_existing_timestamps_replaces_their_values_and_keeps_the_rest(
        self, features: Features
    ) -> None:
        features.store.write_features([series(n=5)], "first")
        newer = series(n=3, start_ns=T0 + 3 * DAY_NS, base=100.0)
        features.store.write_features([newer], "second")
        read = features.store.read_features("momentum_20", ["AAA"])["AAA"]
        np.testing.assert_array_equal(read.ts_ns, T0 + np.arange(6) * DAY_NS)
        np.testing.assert_array_equal(read.values[:3], series(n=5).values[:3])
        np.testing.assert_array_equal(read.values[3:], newer.values)
        assert features.store.feature_coverage()[0].source == "first,second"

    def test_writing_the_same_series_twice_changes_nothing(self, features: Features) -> None:
        features.store.write_features([series(n=4)], "same")
        features.store.write_features([series(n=4)], "same")
        assert features.store.feature_coverage() == [
            FeatureCoverage("momentum_20", "AAA", T0, T0 + 3 * DAY_NS, 4, "same")
        ]

    def test_features_of_one_name_do_not_touch_another(self, features: Features) -> None:
        features.store.write_features([series("a", base=1.0), series("b", base=2.0)], "x")
        features.store.write_features([series("a", base=9.0)], "y")
        assert features.store.read_features("b", ["AAA"])["AAA"].values[0] == 2.0


class TestReads:
    def test_reads_use_a_half_open_time_range(self, features: Features) -> None:
        features.store.write_features([series(n=10)], "test")
        read = features.store.read_features(
            "momentum_20", ["AAA"], start_ns=T0 + 2 * DAY_NS, end_ns=T0 + 5 * DAY_NS
        )
        np.testing.assert_array_equal(read["AAA"].ts_ns, T0 + np.arange(2, 5) * DAY_NS)
        tail = features.store.read_features("momentum_20", ["AAA"], start_ns=T0 + 8 * DAY_NS)
        assert len(tail["AAA"]) == 2
        head = features.store.read_features("momentum_20", ["AAA"], end_ns=T0 + 1)
        assert len(head["AAA"]) == 1

    def test_a_repeated_symbol_is_read_once(self, features: Features) -> None:
        features.store.write_features([series()], "test")
        assert list(features.store.read_features("momentum_20", ["AAA", "AAA"])) == ["AAA"]

    def test_coverage_lists_every_name_and_symbol_in_byte_order(self, features: Features) -> None:
        features.store.write_features(
            [
                series("vol", "ZZZ", 2),
                series("Vol", "AAA", 1),
                series("vol", "AAA", 4),
                series("vol", "a_b", 1),
            ],
            "src",
        )
        assert features.store.feature_coverage() == [
            FeatureCoverage("Vol", "AAA", T0, T0, 1, "src"),
            FeatureCoverage("vol", "AAA", T0, T0 + 3 * DAY_NS, 4, "src"),
            FeatureCoverage("vol", "ZZZ", T0, T0 + DAY_NS, 2, "src"),
            FeatureCoverage("vol", "a_b", T0, T0, 1, "src"),
        ]

    def test_an_empty_store_has_no_coverage(self, features: Features) -> None:
        assert features.store.feature_coverage() == []


class TestNotFound:
    def test_an_unknown_feature_names_the_features_that_exist(self, features: Features) -> None:
        features.store.write_features([series("mom"), series("vol")], "test")
        with pytest.raises(FeatureNotFound, match=r"feature 'carry'.*features stored: mom, vol"):
            features.store.read_features("carry", ["AAA"])

    def test_an_unknown_symbol_names_the_symbols_that_have_the_feature(
        self, features: Features
    ) -> None:
        features.store.write_features([series(symbol="AAA"), series(symbol="BBB")], "test")
        with pytest.raises(FeatureNotFound, match=r"'QQQ'; symbols with it: AAA, BBB"):
            features.store.read_features("momentum_20", ["AAA", "QQQ"])

    def test_a_range_without_values_says_where_the_values_are(self, features: Features) -> None:
        features.store.write_features([series(n=3)], "test")
        with pytest.raises(FeatureNotFound, match=rf"it has 3 values from {T0} to"):
            features.store.read_features("momentum_20", ["AAA"], start_ns=T0 + 10 * DAY_NS)

    def test_feature_not_found_is_a_store_error(self) -> None:
        assert issubclass(FeatureNotFound, StoreError)


class TestRefusals:
    def test_an_empty_write_writes_nothing(self, features: Features) -> None:
        assert features.store.write_features([], "test") == 0
        empty = FeatureSeries.from_arrays("f", "AAA", [], [])
        assert features.store.write_features([empty], "test") == 0
        assert features.store.feature_coverage() == []

    def test_an_empty_source_is_refused(self, features: Features) -> None:
        with pytest.raises(StoreIntegrityError, match="source must be non-empty"):
            features.store.write_features([series()], "")

    def test_a_batch_with_something_else_than_a_series_writes_nothing(
        self, features: Features
    ) -> None:
        with pytest.raises(StoreIntegrityError, match="expected a FeatureSeries, was dict"):
            features.store.write_features([series(), {"name": "x"}], "test")  # type: ignore[list-item]
        assert features.store.feature_coverage() == []

    def test_the_same_name_and_symbol_twice_in_one_write_is_refused_whole(
        self, features: Features
    ) -> None:
        batch = [series("f", "BBB"), series("f", "AAA"), series("f", "AAA", base=3.0)]
        with pytest.raises(StoreIntegrityError, match="'f' of 'AAA' was given twice"):
            features.store.write_features(batch, "test")
        assert features.store.feature_coverage() == []


class TestFeatureSeries:
    @pytest.mark.parametrize(
        ("name", "symbol", "ts", "values", "message"),
        [
            ("", "AAA", [1], [1.0], "name must be a non-empty string"),
            ("f", "", [1], [1.0], "symbol must be a non-empty string"),
            ("f", "AAA", [1, 2], [1.0], "expected as many values as timestamps"),
            ("f", "AAA", [1, 3, 3], [1.0, 2.0, 3.0], "row 2: timestamps must be strictly"),
            ("f", "AAA", [2, 1], [1.0, 2.0], "row 1: timestamps must be strictly"),
            ("f", "AAA", [[1]], [[1.0]], "one-dimensional"),
            ("f", "AAA", ["x"], [1.0], "expected integer timestamps"),
        ],
    )
    def test_a_malformed_series_is_refused_in_words(
        self, name: str, symbol: str, ts: list, values: list, message: str
    ) -> None:
        with pytest.raises(InvalidFeatureSeries, match=message):
            FeatureSeries.from_arrays(name, symbol, ts, values)

    def test_a_series_owns_read_only_copies_of_its_arrays(self) -> None:
        ts = np.array([1, 2, 3], dtype=np.int64)
        values = np.array([1.0, 2.0, 3.0])
        made = FeatureSeries.from_arrays("f", "AAA", ts, values)
        ts[0] = 99
        values[0] = 99.0
        assert made.ts_ns[0] == 1 and made.values[0] == 1.0
        with pytest.raises(ValueError, match="read-only"):
            made.values[1] = 0.0


# ----------------------------------------------------------------- Postgres only
T2020 = 1_577_923_200_000_000_000  # 2020-01-02 UTC
T2021 = T2020 + 366 * DAY_NS


@pytest.fixture
def admin(postgres: PostgresServer) -> Iterator[Connection]:
    engine = create_engine(postgres.dsn.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def _wait_until_blocked(admin: Connection, application: str) -> int:
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


class TestPostgresFeatureFaults:
    def test_an_error_in_the_database_part_way_through_a_batch_leaves_nothing(
        self, postgres: PostgresServer, pg_schema: str
    ) -> None:
        with SqlDatabase(postgres.dsn, schema=pg_schema) as database:
            store = SqlFeatureStore(database)
            store.write_features([series(base=1.0)], "before")
            batch = [series(base=7.0), series(symbol="B\x00D")]  # Postgres text refuses NUL
            with pytest.raises(StoreError, match="writing 10 feature values"):
                store.write_features(batch, "batch")
            [coverage] = store.feature_coverage()
            assert (coverage.symbol, coverage.source) == ("AAA", "before")
            assert store.read_features("momentum_20", ["AAA"])["AAA"].values[0] == 1.0

    @pytest.mark.parametrize("retries", [0, 1])
    def test_a_killed_backend_leaves_the_batch_rolled_back_or_retried_whole(
        self, postgres: PostgresServer, pg_schema: str, admin: Connection, retries: int
    ) -> None:
        application = f"emp-features-victim-{retries}"
        before = [series("f", "AAA", 3, start_ns=T2020), series("f", "BBB", 3, start_ns=T2021)]
        batch = [
            series("f", "AAA", 50, start_ns=T2020, base=500.0),
            series("f", "BBB", 50, start_ns=T2021, base=700.0),
        ]
        with SqlDatabase(
            postgres.dsn, schema=pg_schema, retries=retries, application_name=application
        ) as database:
            store = SqlFeatureStore(database)
            store.write_features(before, "before")
            locker = admin.engine.connect()
            locker.execute(text(f"LOCK TABLE {pg_schema}.features_y2021 IN ACCESS EXCLUSIVE MODE"))
            with ThreadPoolExecutor(1) as pool:
                write = pool.submit(store.write_features, batch, "batch")
                pid = _wait_until_blocked(admin, application)
                killed = admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                assert killed.scalar_one() is True
                admin.commit()
                locker.rollback()
                locker.close()
                if retries == 0:
                    with pytest.raises(StoreUnavailable, match="terminat"):
                        write.result(timeout=30)
                else:
                    assert write.result(timeout=30) == 100
            expected = before if retries == 0 else batch
            read = store.read_features("f", ["AAA", "BBB"])
            for item in expected:
                assert_same(read[item.symbol], item)
            assert {c.source for c in store.feature_coverage()} == (
                {"before"} if retries == 0 else {"batch"}
            )

    def test_without_timescaledb_features_are_partitioned_by_year(
        self, postgres: PostgresServer, pg_schema: str, admin: Connection
    ) -> None:
        with SqlDatabase(postgres.dsn, schema=pg_schema) as database:
            SqlFeatureStore(database).write_features(
                [series("f", start_ns=T2020), series("g", start_ns=T2021)], "test"
            )
        partitions = admin.execute(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n "
                "ON n.oid = p.relnamespace WHERE n.nspname = :schema AND p.relname = 'features' "
                "ORDER BY 1"
            ),
            {"schema": pg_schema},
        ).scalars()
        assert list(partitions) == ["features_y2020", "features_y2021"]
