"""DuckDB bar and run stores against real database files."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pytest

from emp.adapters.duckdb_store import DuckDBBarStore, DuckDBDatabase, DuckDBRunStore
from emp.adapters.duckdb_store.migrations import LATEST_VERSION
from emp.domain.bars import BarSeries
from emp.domain.fills import Fill
from emp.domain.orders import Order, OrderSide, OrderStatus, OrderType, TimeInForce
from emp.ports.bar_source import SymbolNotFound
from emp.ports.bar_store import BarCoverage, BarStorePort
from emp.ports.run_store import RunRecord, RunStorePort
from emp.ports.store_errors import StoreError, StoreIntegrityError, StoreUnavailable

DAY_NS = 86_400_000_000_000
T0 = 1_577_923_200_123_456_789  # 2020-01-02 00:00:00.123456789 UTC: odd nanoseconds on purpose


def make_series(
    symbol: str, n: int = 5, *, start_ns: int = T0, base: float = 100.0, step_ns: int = DAY_NS
) -> BarSeries:
    close = base + np.arange(n, dtype=np.float64) * 0.37
    return BarSeries.from_arrays(
        symbol,
        start_ns + np.arange(n, dtype=np.int64) * step_ns,
        close - 0.1,
        close + 1.0,
        close - 1.0,
        close,
        np.arange(1, n + 1, dtype=np.float64) * 1000.0,
    )


def assert_same_series(actual: BarSeries, expected: BarSeries) -> None:
    assert actual.symbol == expected.symbol
    for name in ("ts_ns", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(actual, name), getattr(expected, name), err_msg=name)
    assert actual.ts_ns.dtype == np.int64


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "emp.duckdb"


@pytest.fixture
def database(db_path: Path) -> Iterator[DuckDBDatabase]:
    with DuckDBDatabase(db_path) as db:
        yield db


@pytest.fixture
def bars(database: DuckDBDatabase) -> DuckDBBarStore:
    return DuckDBBarStore(database)


@pytest.fixture
def runs(database: DuckDBDatabase) -> DuckDBRunStore:
    return DuckDBRunStore(database)


def make_record(run_id: str = "run-1", started_ns: int = 1_000) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        kind="backtest",
        strategy="sma_cross",
        config={"slow": 50, "fast": 10, "symbols": ["AAA", "BBB"]},
        seed=7,
        data_hash="abc123",
        package_version="0.1.0",
        started_ns=started_ns,
    )


def make_orders_and_fills() -> tuple[list[Order], list[Fill]]:
    filled = Order(
        client_order_id="o-1",
        symbol="AAA",
        side=OrderSide.BUY,
        quantity=10.0,
        strategy="sma_cross",
        created_ns=T0,
    )
    filled.accept("v-1")
    filled.fill(4.0, 100.25)
    filled.fill(6.0, 100.5)
    pending = Order(
        client_order_id="o-2",
        symbol="BBB",
        side=OrderSide.SELL,
        quantity=5.0,
        order_type=OrderType.LIMIT,
        limit_price=51.5,
        time_in_force=TimeInForce.GTC,
        created_ns=T0 + 1,
    )
    pending.accept("v-2")
    pending.fill(2.0, 51.5)
    pending.request_cancel()
    rejected = Order(client_order_id="o-3", symbol="AAA", side=OrderSide.SELL, quantity=1.0)
    rejected.reject("no liquidity")
    fills = [
        Fill(
            exec_id="e-1",
            client_order_id="o-1",
            symbol="AAA",
            side=OrderSide.BUY,
            quantity=4.0,
            price=100.25,
            fee=0.4,
            ts_ns=T0 + 5,
        ),
        Fill(
            exec_id="e-2",
            client_order_id="o-1",
            symbol="AAA",
            side=OrderSide.BUY,
            quantity=6.0,
            price=100.5,
            fee=0.6,
            ts_ns=T0 + 6,
        ),
        Fill(
            exec_id="e-3",
            client_order_id="o-2",
            symbol="BBB",
            side=OrderSide.SELL,
            quantity=2.0,
            price=51.5,
            fee=0.0,
            ts_ns=T0 + 7,
        ),
    ]
    return [filled, pending, rejected], fills


class TestPorts:
    def test_the_stores_implement_their_ports(
        self, bars: DuckDBBarStore, runs: DuckDBRunStore
    ) -> None:
        assert isinstance(bars, BarStorePort)
        assert isinstance(runs, RunStorePort)


class TestOpening:
    def test_the_constructor_touches_no_file(self, db_path: Path) -> None:
        DuckDBDatabase(db_path)
        assert not db_path.parent.exists()

    def test_first_use_creates_parent_directories_and_the_schema(self, db_path: Path) -> None:
        with DuckDBDatabase(db_path) as db:
            assert db.schema_version == LATEST_VERSION
        assert db_path.is_file()

    def test_a_directory_path_is_unavailable_with_the_reason(self, tmp_path: Path) -> None:
        with pytest.raises(StoreUnavailable, match="directory") as info:
            DuckDBDatabase(tmp_path).open()
        assert str(tmp_path) in str(info.value)

    def test_a_file_that_is_not_duckdb_is_unavailable(self, tmp_path: Path) -> None:
        path = tmp_path / "notes.duckdb"
        path.write_text("these are not the bytes of a database\n" * 100)
        with pytest.raises(StoreUnavailable, match="not a valid DuckDB") as info:
            DuckDBBarStore(DuckDBDatabase(path)).coverage()
        assert str(path) in str(info.value)

    def test_a_parent_that_is_a_file_is_unavailable(self, tmp_path: Path) -> None:
        blocker = tmp_path / "blocker"
        blocker.write_text("a file where a directory should be")
        with pytest.raises(StoreUnavailable, match="directory cannot be created"):
            DuckDBDatabase(blocker / "emp.duckdb").open()

    def test_a_read_only_open_of_a_missing_file_is_unavailable(self, tmp_path: Path) -> None:
        with pytest.raises(StoreUnavailable, match="read-only"):
            DuckDBDatabase(tmp_path / "absent.duckdb", read_only=True).open()

    def test_a_closed_database_refuses_further_use(self, db_path: Path) -> None:
        db = DuckDBDatabase(db_path)
        db.close()
        with pytest.raises(StoreUnavailable, match="closed"):
            DuckDBBarStore(db).coverage()

    def test_reopening_keeps_data_and_schema_version_without_reapplying(
        self, db_path: Path
    ) -> None:
        with DuckDBDatabase(db_path) as db:
            DuckDBBarStore(db).write_bars({"AAA": make_series("AAA")}, "test")
        with DuckDBDatabase(db_path) as db:
            assert db.schema_version == LATEST_VERSION
            assert_same_series(DuckDBBarStore(db).read_bars(["AAA"])["AAA"], make_series("AAA"))
        with duckdb.connect(str(db_path), read_only=True) as raw:
            versions = raw.execute("SELECT version FROM schema_version").fetchall()
        assert versions == [(LATEST_VERSION,)]

    def test_a_read_only_database_reads_but_refuses_writes(self, db_path: Path) -> None:
        with DuckDBDatabase(db_path) as db:
            DuckDBBarStore(db).write_bars({"AAA": make_series("AAA")}, "test")
        with DuckDBDatabase(db_path, read_only=True) as db:
            store = DuckDBBarStore(db)
            assert len(store.read_bars(["AAA"])["AAA"]) == 5
            with pytest.raises(StoreUnavailable, match="read-only"):
                store.write_bars({"BBB": make_series("BBB")}, "test")

    def test_a_file_locked_by_another_process_is_unavailable(self, db_path: Path) -> None:
        with DuckDBDatabase(db_path) as db:
            db.open()  # create the file, then release it
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import duckdb, sys, time\n"
                f"connection = duckdb.connect({str(db_path)!r})\n"
                "print('ready', flush=True)\n"
                "time.sleep(60)\n",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "ready"
            for read_only in (False, True):
                with pytest.raises(StoreUnavailable, match="lock") as info:
                    DuckDBDatabase(db_path, read_only=read_only).open()
                assert str(db_path) in str(info.value)
        finally:
            holder.kill()
            holder.communicate()  # reap the process and close its pipe


class TestBarStore:
    def test_bars_round_trip_exactly_to_the_nanosecond(self, bars: DuckDBBarStore) -> None:
        written = {"AAA": make_series("AAA"), "BBB": make_series("BBB", 3, base=20.0)}
        assert bars.write_bars(written, "synthetic:test") == 8
        read = bars.read_bars(["BBB", "AAA"])
        assert list(read) == ["BBB", "AAA"]
        for symbol, series in written.items():
            assert_same_series(read[symbol], series)

    def test_writing_an_existing_bar_replaces_it_and_its_source(self, bars: DuckDBBarStore) -> None:
        bars.write_bars({"AAA": make_series("AAA", 5)}, "first")
        newer = make_series("AAA", 3, start_ns=T0 + 3 * DAY_NS, base=200.0)
        bars.write_bars({"AAA": newer}, "second")
        read = bars.read_bars(["AAA"])["AAA"]
        assert len(read) == 6
        np.testing.assert_array_equal(read.close[:3], make_series("AAA", 5).close[:3])
        np.testing.assert_array_equal(read.close[3:], newer.close)
        assert bars.coverage()[0].source == "first,second"

    def test_reads_use_a_half_open_time_range(self, bars: DuckDBBarStore) -> None:
        bars.write_bars({"AAA": make_series("AAA", 10)}, "test")
        read = bars.read_bars(["AAA"], start_ns=T0 + 2 * DAY_NS, end_ns=T0 + 5 * DAY_NS)["AAA"]
        np.testing.assert_array_equal(read.ts_ns, T0 + np.arange(2, 5) * DAY_NS)
        assert len(bars.read_bars(["AAA"], start_ns=T0 + 8 * DAY_NS)["AAA"]) == 2
        assert len(bars.read_bars(["AAA"], end_ns=T0 + 1)["AAA"]) == 1

    def test_coverage_lists_every_symbol_in_order(self, bars: DuckDBBarStore) -> None:
        bars.write_bars({"ZZZ": make_series("ZZZ", 2), "AAA": make_series("AAA", 4)}, "src")
        assert bars.coverage() == [
            BarCoverage("AAA", T0, T0 + 3 * DAY_NS, 4, "src"),
            BarCoverage("ZZZ", T0, T0 + DAY_NS, 2, "src"),
        ]

    def test_an_unknown_symbol_names_the_symbols_that_exist(self, bars: DuckDBBarStore) -> None:
        bars.write_bars({"AAA": make_series("AAA"), "BBB": make_series("BBB")}, "test")
        with pytest.raises(SymbolNotFound, match=r"'QQQ'.*AAA, BBB"):
            bars.read_bars(["AAA", "QQQ"])

    def test_a_range_without_bars_says_where_the_bars_are(self, bars: DuckDBBarStore) -> None:
        bars.write_bars({"AAA": make_series("AAA")}, "test")
        with pytest.raises(SymbolNotFound, match="it has 5 bars"):
            bars.read_bars(["AAA"], start_ns=T0 + 100 * DAY_NS)

    def test_an_empty_write_writes_nothing(self, bars: DuckDBBarStore) -> None:
        assert bars.write_bars({}, "test") == 0
        assert bars.coverage() == []

    def test_a_series_that_bypassed_validation_is_refused_and_nothing_changes(
        self, bars: DuckDBBarStore
    ) -> None:
        original = make_series("AAA")
        bars.write_bars({"AAA": original}, "first")
        good = make_series("BBB")
        duplicate_ts = np.array([T0, T0, T0 + DAY_NS], dtype=np.int64)
        broken = BarSeries("CCC", duplicate_ts, *(np.ones(3) for _ in range(5)))
        with pytest.raises(StoreIntegrityError, match="strictly increasing"):
            bars.write_bars(
                {"AAA": make_series("AAA", base=300.0), "BBB": good, "CCC": broken}, "x"
            )
        assert [entry.symbol for entry in bars.coverage()] == ["AAA"]
        assert_same_series(bars.read_bars(["AAA"])["AAA"], original)

    def test_a_failure_inside_the_transaction_rolls_every_row_back(
        self, bars: DuckDBBarStore
    ) -> None:
        original = make_series("AAA")
        bars.write_bars({"AAA": original}, "first")
        # Valid for the domain, but int64 max is beyond DuckDB's TIMESTAMP_NS range, so
        # the bulk insert fails after the AAA rows were already upserted in the statement.
        too_late = np.array([T0, np.iinfo(np.int64).max], dtype=np.int64)
        unstorable = BarSeries.from_arrays("BBB", too_late, [1, 1], [2, 2], [1, 1], [1, 1], [0, 0])
        with pytest.raises(StoreError, match="writing 7 bars"):
            bars.write_bars({"AAA": make_series("AAA", base=300.0), "BBB": unstorable}, "x")
        assert [entry.symbol for entry in bars.coverage()] == ["AAA"]
        assert_same_series(bars.read_bars(["AAA"])["AAA"], original)
        assert bars.coverage()[0].source == "first"

    def test_a_series_under_another_symbols_key_is_refused(self, bars: DuckDBBarStore) -> None:
        with pytest.raises(StoreIntegrityError, match="'BBB'"):
            bars.write_bars({"AAA": make_series("BBB")}, "test")
        assert bars.coverage() == []

    def test_a_large_write_round_trips(self, bars: DuckDBBarStore) -> None:
        big = make_series("BIG", 200_000, step_ns=60_000_000_000)
        assert bars.write_bars({"BIG": big}, "bulk") == 200_000
        assert_same_series(bars.read_bars(["BIG"])["BIG"], big)


class TestRunLifecycle:
    def test_a_started_run_is_running(self, runs: DuckDBRunStore) -> None:
        runs.start_run(make_record())
        assert runs.get_run("run-1") == make_record()
        assert runs.orders("run-1") == []
        assert runs.fills("run-1") == []

    def test_a_duplicate_run_id_is_refused(self, runs: DuckDBRunStore) -> None:
        runs.start_run(make_record())
        with pytest.raises(StoreIntegrityError, match="already exists"):
            runs.start_run(make_record(started_ns=5))
        assert runs.get_run("run-1") == make_record()

    def test_completing_writes_orders_fills_and_summary(self, runs: DuckDBRunStore) -> None:
        orders, fills = make_orders_and_fills()
        runs.start_run(make_record())
        summary = {"sharpe": np.float64(1.25), "trades": 3, "equity": [1.0, 1.1]}
        runs.complete_run("run-1", orders, fills, summary, finished_ns=2_000)
        record = runs.get_run("run-1")
        assert record is not None
        assert record.status == "completed"
        assert record.finished_ns == 2_000
        assert record.summary == {"equity": [1.0, 1.1], "sharpe": 1.25, "trades": 3}
        assert runs.orders("run-1") == orders
        assert runs.fills("run-1") == fills

    def test_reconstructed_orders_keep_their_lifecycle_state(self, runs: DuckDBRunStore) -> None:
        orders, fills = make_orders_and_fills()
        runs.start_run(make_record())
        runs.complete_run("run-1", orders, fills, {}, finished_ns=2_000)
        filled, pending, rejected = runs.orders("run-1")
        assert filled.status is OrderStatus.FILLED
        assert filled.average_fill_price == pytest.approx(100.4)
        assert pending.status is OrderStatus.PENDING_CANCEL
        pending.reject_request()  # the stored pre-request status is restored
        assert pending.status is OrderStatus.PARTIALLY_FILLED
        assert rejected.reject_reason == "no liquidity"

    def test_failing_marks_the_run_failed_with_the_reason(self, runs: DuckDBRunStore) -> None:
        runs.start_run(make_record())
        runs.fail_run("run-1", "strategy raised ZeroDivisionError", finished_ns=3_000)
        record = runs.get_run("run-1")
        assert record is not None
        assert (record.status, record.error, record.finished_ns) == (
            "failed",
            "strategy raised ZeroDivisionError",
            3_000,
        )
        assert record.config == make_record().config

    def test_a_duplicate_exec_id_rolls_the_completion_back(self, runs: DuckDBRunStore) -> None:
        orders, fills = make_orders_and_fills()
        runs.start_run(make_record())
        with pytest.raises(StoreIntegrityError, match="completing run 'run-1'"):
            runs.complete_run("run-1", orders, [*fills, fills[0]], {"x": 1}, finished_ns=9)
        assert runs.get_run("run-1") == make_record()
        assert runs.orders("run-1") == []
        assert runs.fills("run-1") == []
        runs.complete_run("run-1", orders, fills, {"x": 1}, finished_ns=9)
        assert len(runs.fills("run-1")) == 3

    def test_a_summary_that_is_not_json_leaves_the_run_running(self, runs: DuckDBRunStore) -> None:
        orders, fills = make_orders_and_fills()
        runs.start_run(make_record())
        with pytest.raises(StoreError, match="JSON"):
            runs.complete_run("run-1", orders, fills, {"when": object()}, finished_ns=9)
        assert runs.get_run("run-1") == make_record()
        assert runs.orders("run-1") == []

    @pytest.mark.parametrize("finish", ["complete", "fail"])
    def test_only_a_running_run_can_finish(self, runs: DuckDBRunStore, finish: str) -> None:
        def finish_run(run_id: str) -> None:
            if finish == "complete":
                runs.complete_run(run_id, [], [], {}, finished_ns=10)
            else:
                runs.fail_run(run_id, "boom", finished_ns=10)

        with pytest.raises(StoreIntegrityError, match="no such run"):
            finish_run("ghost")
        runs.start_run(make_record())
        runs.fail_run("run-1", "first failure", finished_ns=5)
        with pytest.raises(StoreIntegrityError, match="expected status 'running', was 'failed'"):
            finish_run("run-1")
        record = runs.get_run("run-1")
        assert record is not None
        assert (record.error, record.finished_ns) == ("first failure", 5)

    def test_runs_are_listed_newest_first(self, runs: DuckDBRunStore) -> None:
        for run_id, started in [("a", 30), ("b", 10), ("c", 20)]:
            runs.start_run(make_record(run_id, started_ns=started))
        assert [r.run_id for r in runs.list_runs()] == ["a", "c", "b"]
        assert [r.run_id for r in runs.list_runs(limit=1)] == ["a"]
        assert runs.get_run("nope") is None

    def test_runs_survive_reopening(self, db_path: Path) -> None:
        orders, fills = make_orders_and_fills()
        with DuckDBDatabase(db_path) as db:
            store = DuckDBRunStore(db)
            store.start_run(make_record())
            store.complete_run("run-1", orders, fills, {"pnl": -1.5}, finished_ns=2_000)
        with DuckDBDatabase(db_path) as db:
            store = DuckDBRunStore(db)
            assert store.orders("run-1") == orders
            assert store.fills("run-1") == fills
            record = store.get_run("run-1")
            assert record is not None
            assert record.summary == {"pnl": -1.5}
