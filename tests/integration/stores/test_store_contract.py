"""The store contract: the same tests, run against every store adapter (DuckDB, Postgres)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emp.domain.bars import BarSeries
from emp.domain.orders import OrderStatus
from emp.ports.bar_source import SymbolNotFound
from emp.ports.bar_store import BarCoverage, BarStorePort
from emp.ports.quarantine_store import QuarantineStorePort
from emp.ports.run_store import RunStorePort
from emp.ports.store_errors import StoreError, StoreIntegrityError
from tests.integration.stores.builders import (
    DAY_NS,
    T0,
    assert_same_series,
    make_orders_and_fills,
    make_quarantined,
    make_record,
    make_series,
)
from tests.integration.stores.conftest import Stores


class TestPorts:
    def test_every_store_implements_its_port(self, backend: Stores) -> None:
        assert isinstance(backend.bars, BarStorePort)
        assert isinstance(backend.runs, RunStorePort)
        assert isinstance(backend.quarantine, QuarantineStorePort)


class TestBars:
    def test_bars_round_trip_exactly_to_the_nanosecond(self, backend: Stores) -> None:
        written = {"AAA": make_series("AAA"), "BBB": make_series("BBB", 3, base=20.0)}
        assert backend.bars.write_bars(written, "synthetic:test") == 8
        read = backend.bars.read_bars(["BBB", "AAA"])
        assert list(read) == ["BBB", "AAA"]
        for symbol, series in written.items():
            assert_same_series(read[symbol], series)

    def test_writing_an_existing_bar_replaces_it_and_its_source(self, backend: Stores) -> None:
        backend.bars.write_bars({"AAA": make_series("AAA", 5)}, "first")
        newer = make_series("AAA", 3, start_ns=T0 + 3 * DAY_NS, base=200.0)
        backend.bars.write_bars({"AAA": newer}, "second")
        read = backend.bars.read_bars(["AAA"])["AAA"]
        assert len(read) == 6
        np.testing.assert_array_equal(read.close[:3], make_series("AAA", 5).close[:3])
        np.testing.assert_array_equal(read.close[3:], newer.close)
        assert backend.bars.coverage()[0].source == "first,second"

    def test_reads_use_a_half_open_time_range(self, backend: Stores) -> None:
        backend.bars.write_bars({"AAA": make_series("AAA", 10)}, "test")
        read = backend.bars.read_bars(["AAA"], start_ns=T0 + 2 * DAY_NS, end_ns=T0 + 5 * DAY_NS)
        np.testing.assert_array_equal(read["AAA"].ts_ns, T0 + np.arange(2, 5) * DAY_NS)
        assert len(backend.bars.read_bars(["AAA"], start_ns=T0 + 8 * DAY_NS)["AAA"]) == 2
        assert len(backend.bars.read_bars(["AAA"], end_ns=T0 + 1)["AAA"]) == 1

    def test_coverage_lists_every_symbol_in_byte_order(self, backend: Stores) -> None:
        backend.bars.write_bars(
            {
                "ZZZ": make_series("ZZZ", 2),
                "AAA": make_series("AAA", 4),
                "a_b": make_series("a_b", 1),
            },
            "src",
        )
        assert backend.bars.coverage() == [
            BarCoverage("AAA", T0, T0 + 3 * DAY_NS, 4, "src"),
            BarCoverage("ZZZ", T0, T0 + DAY_NS, 2, "src"),
            BarCoverage("a_b", T0, T0, 1, "src"),
        ]

    def test_an_unknown_symbol_names_the_symbols_that_exist(self, backend: Stores) -> None:
        backend.bars.write_bars({"AAA": make_series("AAA"), "BBB": make_series("BBB")}, "test")
        with pytest.raises(SymbolNotFound, match=r"'QQQ'.*AAA, BBB"):
            backend.bars.read_bars(["AAA", "QQQ"])

    def test_a_range_without_bars_says_where_the_bars_are(self, backend: Stores) -> None:
        backend.bars.write_bars({"AAA": make_series("AAA")}, "test")
        with pytest.raises(SymbolNotFound, match="it has 5 bars"):
            backend.bars.read_bars(["AAA"], start_ns=T0 + 100 * DAY_NS)

    def test_an_empty_write_writes_nothing(self, backend: Stores) -> None:
        assert backend.bars.write_bars({}, "test") == 0
        assert backend.bars.coverage() == []

    def test_an_empty_source_is_refused(self, backend: Stores) -> None:
        with pytest.raises(StoreIntegrityError, match="source"):
            backend.bars.write_bars({"AAA": make_series("AAA")}, "")

    def test_a_series_that_bypassed_validation_is_refused_and_nothing_changes(
        self, backend: Stores
    ) -> None:
        original = make_series("AAA")
        backend.bars.write_bars({"AAA": original}, "first")
        duplicate_ts = np.array([T0, T0, T0 + DAY_NS], dtype=np.int64)
        broken = BarSeries("CCC", duplicate_ts, *(np.ones(3) for _ in range(5)))
        with pytest.raises(StoreIntegrityError, match="strictly increasing"):
            backend.bars.write_bars(
                {"AAA": make_series("AAA", base=300.0), "BBB": make_series("BBB"), "CCC": broken},
                "x",
            )
        assert [entry.symbol for entry in backend.bars.coverage()] == ["AAA"]
        assert_same_series(backend.bars.read_bars(["AAA"])["AAA"], original)

    def test_a_series_under_another_symbols_key_is_refused(self, backend: Stores) -> None:
        with pytest.raises(StoreIntegrityError, match="'BBB'"):
            backend.bars.write_bars({"AAA": make_series("BBB")}, "test")
        assert backend.bars.coverage() == []

    def test_bars_spanning_many_years_round_trip(self, backend: Stores) -> None:
        decades = make_series("OLD", 40, start_ns=-5 * 365 * DAY_NS, step_ns=365 * DAY_NS)
        backend.bars.write_bars({"OLD": decades}, "test")
        assert_same_series(backend.bars.read_bars(["OLD"])["OLD"], decades)

    def test_a_large_write_round_trips(self, backend: Stores) -> None:
        big = make_series("BIG", 100_000, step_ns=60_000_000_000)
        assert backend.bars.write_bars({"BIG": big}, "bulk") == 100_000
        assert_same_series(backend.bars.read_bars(["BIG"])["BIG"], big)

    def test_bars_survive_reopening(self, backend: Stores) -> None:
        backend.bars.write_bars({"AAA": make_series("AAA")}, "test")
        backend.close()
        again = backend.reopen()
        try:
            assert_same_series(again.bars.read_bars(["AAA"])["AAA"], make_series("AAA"))
        finally:
            again.close()

    def test_the_first_write_after_reopening_succeeds(self, backend: Stores) -> None:
        backend.bars.write_bars({"AAA": make_series("AAA")}, "test")
        backend.close()
        again = backend.reopen()
        try:
            assert again.bars.write_bars({"BBB": make_series("BBB")}, "test") == 5
            assert again.quarantine.write_quarantine(make_quarantined("BBB"), "test") == 3
        finally:
            again.close()


class TestRuns:
    def test_a_started_run_is_running(self, backend: Stores) -> None:
        backend.runs.start_run(make_record())
        assert backend.runs.get_run("run-1") == make_record()
        assert backend.runs.orders("run-1") == []
        assert backend.runs.fills("run-1") == []

    def test_a_duplicate_run_id_is_refused(self, backend: Stores) -> None:
        backend.runs.start_run(make_record())
        with pytest.raises(StoreIntegrityError, match="already exists"):
            backend.runs.start_run(make_record(started_ns=5))
        assert backend.runs.get_run("run-1") == make_record()

    def test_completing_writes_orders_fills_and_summary(self, backend: Stores) -> None:
        orders, fills = make_orders_and_fills()
        backend.runs.start_run(make_record())
        summary = {"sharpe": np.float64(1.25), "trades": 3, "equity": [1.0, 1.1]}
        backend.runs.complete_run("run-1", orders, fills, summary, finished_ns=2_000)
        record = backend.runs.get_run("run-1")
        assert record is not None
        assert (record.status, record.finished_ns) == ("completed", 2_000)
        assert record.summary == {"equity": [1.0, 1.1], "sharpe": 1.25, "trades": 3}
        assert backend.runs.orders("run-1") == orders
        assert backend.runs.fills("run-1") == fills

    def test_reconstructed_orders_keep_their_lifecycle_state(self, backend: Stores) -> None:
        orders, fills = make_orders_and_fills()
        backend.runs.start_run(make_record())
        backend.runs.complete_run("run-1", orders, fills, {}, finished_ns=2_000)
        filled, pending, rejected = backend.runs.orders("run-1")
        assert filled.status is OrderStatus.FILLED
        assert pending.status is OrderStatus.PENDING_CANCEL
        pending.reject_request()
        assert pending.status is OrderStatus.PARTIALLY_FILLED
        assert rejected.reject_reason == "no liquidity"

    def test_a_summary_with_nan_round_trips(self, backend: Stores) -> None:
        backend.runs.start_run(make_record())
        backend.runs.complete_run("run-1", [], [], {"sharpe": float("nan")}, finished_ns=9)
        record = backend.runs.get_run("run-1")
        assert record is not None and math.isnan(record.summary["sharpe"])

    def test_failing_marks_the_run_failed_with_the_reason(self, backend: Stores) -> None:
        backend.runs.start_run(make_record())
        backend.runs.fail_run("run-1", "strategy raised ZeroDivisionError", finished_ns=3_000)
        record = backend.runs.get_run("run-1")
        assert record is not None
        assert (record.status, record.error, record.finished_ns) == (
            "failed",
            "strategy raised ZeroDivisionError",
            3_000,
        )

    def test_a_duplicate_exec_id_rolls_the_completion_back(self, backend: Stores) -> None:
        orders, fills = make_orders_and_fills()
        backend.runs.start_run(make_record())
        with pytest.raises(StoreIntegrityError, match="completing run 'run-1'"):
            backend.runs.complete_run("run-1", orders, [*fills, fills[0]], {"x": 1}, finished_ns=9)
        assert backend.runs.get_run("run-1") == make_record()
        assert backend.runs.orders("run-1") == []
        assert backend.runs.fills("run-1") == []
        backend.runs.complete_run("run-1", orders, fills, {"x": 1}, finished_ns=9)
        assert len(backend.runs.fills("run-1")) == 3

    def test_a_summary_that_is_not_json_leaves_the_run_running(self, backend: Stores) -> None:
        backend.runs.start_run(make_record())
        with pytest.raises(StoreError, match="JSON"):
            backend.runs.complete_run("run-1", [], [], {"when": object()}, finished_ns=9)
        assert backend.runs.get_run("run-1") == make_record()

    @pytest.mark.parametrize("finish", ["complete", "fail"])
    def test_only_a_running_run_can_finish(self, backend: Stores, finish: str) -> None:
        def finish_run(run_id: str) -> None:
            if finish == "complete":
                backend.runs.complete_run(run_id, [], [], {}, finished_ns=10)
            else:
                backend.runs.fail_run(run_id, "boom", finished_ns=10)

        with pytest.raises(StoreIntegrityError, match="no such run"):
            finish_run("ghost")
        backend.runs.start_run(make_record())
        backend.runs.fail_run("run-1", "first failure", finished_ns=5)
        with pytest.raises(StoreIntegrityError, match="expected status 'running', was 'failed'"):
            finish_run("run-1")

    def test_runs_are_listed_newest_first(self, backend: Stores) -> None:
        for run_id, started in [("a", 30), ("b", 10), ("c", 20), ("d", 20)]:
            backend.runs.start_run(make_record(run_id, started_ns=started))
        assert [r.run_id for r in backend.runs.list_runs()] == ["a", "d", "c", "b"]
        assert [r.run_id for r in backend.runs.list_runs(limit=1)] == ["a"]
        assert backend.runs.list_runs(limit=0) == []
        assert backend.runs.get_run("nope") is None


class TestQuarantine:
    def test_quarantined_rows_round_trip_with_nan_and_reasons(self, backend: Stores) -> None:
        rows = make_quarantined("AAA") + make_quarantined("BBB", 1, reason="price_jump")
        assert backend.quarantine.write_quarantine(rows, "csv:/data/a.csv") == 4
        entries = backend.quarantine.read_quarantine()
        assert [e.source for e in entries] == ["csv:/data/a.csv"] * 4
        stored = [e.bar for e in entries]
        assert [(b.symbol, b.ts_ns) for b in stored] == [(r.symbol, r.ts_ns) for r in rows]
        assert math.isnan(stored[0].open) and math.isnan(stored[3].open)
        assert [repr(bar) for bar in stored] == [repr(row) for row in rows]  # NaN-aware

    def test_quarantining_the_same_rows_again_adds_nothing(self, backend: Stores) -> None:
        rows = make_quarantined("AAA")
        backend.quarantine.write_quarantine(rows, "src")
        backend.quarantine.write_quarantine(rows, "src")
        assert backend.quarantine.quarantine_counts() == {"AAA": 3}
        backend.quarantine.write_quarantine(rows[:1], "other-src")
        assert backend.quarantine.quarantine_counts() == {"AAA": 4}

    def test_reads_filter_by_symbol_and_limit(self, backend: Stores) -> None:
        backend.quarantine.write_quarantine(
            make_quarantined("AAA") + make_quarantined("BBB", 2), "src"
        )
        assert {e.bar.symbol for e in backend.quarantine.read_quarantine(["BBB"])} == {"BBB"}
        assert len(backend.quarantine.read_quarantine(limit=2)) == 2
        assert backend.quarantine.read_quarantine([]) == []
        assert backend.quarantine.quarantine_counts() == {"AAA": 3, "BBB": 2}

    def test_a_row_without_a_reason_is_refused_and_nothing_is_written(
        self, backend: Stores
    ) -> None:
        rows = make_quarantined("AAA")
        reasonless = [rows[0], rows[1].__class__(**{**_fields(rows[1]), "reasons": ()})]
        with pytest.raises(StoreIntegrityError, match="no reason"):
            backend.quarantine.write_quarantine(reasonless, "src")
        assert backend.quarantine.quarantine_counts() == {}

    def test_a_repeated_key_in_one_batch_is_refused(self, backend: Stores) -> None:
        row = make_quarantined("AAA", 1)[0]
        with pytest.raises(StoreIntegrityError, match="appears twice"):
            backend.quarantine.write_quarantine([row, row], "src")


def _fields(bar) -> dict:
    return {name: getattr(bar, name) for name in bar.__slots__}
