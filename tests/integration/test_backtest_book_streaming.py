"""`emp backtest --book` streams its recording: parsed once into an on-disk spool, then
read back a chunk at a time while the engine runs; the report is the one the list-based
run (every update held in memory) wrote, and the spool is gone after the run."""

from __future__ import annotations

import functools
import gc
import json
import tempfile
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from emp.app import backtest_book, book_spool
from emp.app.backtest import BacktestRequest
from emp.app.backtest_book import recorded_book_updates
from emp.app.engine_book import update_price
from emp.domain.errors import InvalidConfiguration
from emp.domain.matching import BookSnapshot, MarketUpdate, TradePrint
from tests.integration.test_backtest_book_data import record_session
from tests.unit.app.test_backtest_book import backtest

VOLATILE = {"run_id", "created_utc"}


class ListSpool:
    """The list-based path the spool replaced: every update in memory, facts from the list."""

    def __init__(self, **_: Any) -> None:
        self.updates: list[MarketUpdate] = []

    def __enter__(self) -> ListSpool:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def write(self, updates: Iterable[MarketUpdate]) -> None:
        self.updates = list(updates)

    def _chosen(self, symbols: Collection[str] | None) -> list[MarketUpdate]:
        return [u for u in self.updates if symbols is None or u.symbol in symbols]

    def count(self, symbols: Collection[str] | None = None) -> int:
        return len(self._chosen(symbols))

    def time_range(self, symbols: Collection[str] | None = None) -> tuple[int, int] | None:
        chosen = self._chosen(symbols)
        return (chosen[0].ts_ns, chosen[-1].ts_ns) if chosen else None

    def marks(self, symbol: str) -> tuple[np.ndarray, np.ndarray]:
        marks = [(u.ts_ns, update_price(u)) for u in self.updates if u.symbol == symbol]
        priced = [(ts, p) for ts, p in marks if p is not None]
        return (
            np.asarray([ts for ts, _ in priced], dtype=np.int64),
            np.asarray([p for _, p in priced], dtype=float),
        )

    def read(self, symbols: Collection[str] | None = None) -> list[MarketUpdate]:
        return self._chosen(symbols)


def stable(value: Any) -> Any:
    """A report without what differs between two runs of the same thing (ids, clock time)."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def report_of(folder: Path) -> dict:
    return json.loads(next((folder / "reports").rglob("report.json")).read_text())


def live_updates() -> int:
    """Book updates alive now. By exact type: ``isinstance`` would ask every object for its
    class, and some (torch's deprecated module attributes) warn when asked."""
    kinds = {BookSnapshot, TradePrint}
    return sum(type(o) in kinds for o in gc.get_objects())


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "abc.fix"
    record_session(path)
    return path


@pytest.fixture
def spool_area(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system temporary directory, moved where a test can see what is left in it."""
    area = tmp_path / "tmp"
    area.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(area))
    return area


class TestSameReportAsTheListBasedRun:
    @pytest.mark.parametrize(
        "extra",
        [
            {"params": {"units": 50, "every": 5}},
            {"params": {"units": 50, "every": 3}, "symbols": ["ABC"], "latency_us": 20_000},
        ],
        ids=["plain", "symbol-and-latency"],
    )
    def test_the_streamed_report_is_the_list_based_one(
        self, tmp_path, recording, monkeypatch, extra
    ):
        request = BacktestRequest(strategy="book_imbalance", book_file=recording, **extra)
        streamed = backtest(tmp_path / "streamed", request)
        with monkeypatch.context() as patch:
            patch.setattr(backtest_book, "BookSpool", ListSpool)
            listed = backtest(tmp_path / "listed", request)
        assert streamed.json_line() == listed.json_line()
        assert streamed.json_line()["n_trades"] >= 1
        assert stable(report_of(tmp_path / "streamed")) == stable(report_of(tmp_path / "listed"))

    def test_the_reports_count_and_range_are_the_recordings(self, tmp_path, recording):
        updates, _ = recorded_book_updates(recording, levels=5, tick_size=0.01, lot_size=1.0)
        request = BacktestRequest(strategy="book_imbalance", book_file=recording, book_levels=5)
        backtest(tmp_path, request)
        config = report_of(tmp_path)["identity"]["config"]
        assert config["book"]["updates"] == len(updates) > 100
        assert config["range_ns"] == [updates[0].ts_ns, updates[-1].ts_ns]


class TestStreaming:
    def test_a_run_holds_about_one_chunk_of_updates_at_a_time(
        self, tmp_path, recording, monkeypatch
    ):
        chunk = 16
        seen: list[int] = []
        dump, load = book_spool._dump_chunk, book_spool._load_chunks

        def dumping(rows, handle):
            seen.append(live_updates())
            dump(rows, handle)

        def loading(handle):
            for rows in load(handle):
                seen.append(live_updates())
                yield rows

        monkeypatch.setattr(book_spool, "_dump_chunk", dumping)
        monkeypatch.setattr(book_spool, "_load_chunks", loading)
        monkeypatch.setattr(
            backtest_book, "BookSpool", functools.partial(book_spool.BookSpool, chunk_size=chunk)
        )
        gc.collect()
        before = live_updates()
        request = BacktestRequest(
            strategy="book_imbalance", book_file=recording, params={"units": 50, "every": 5}
        )
        outcome = backtest(tmp_path, request)
        total = report_of(tmp_path)["identity"]["config"]["book"]["updates"]
        assert total > 8 * chunk
        assert len(seen) > 2 * (total // chunk)  # every chunk written, then read back
        assert max(seen) - before <= chunk
        assert outcome.json_line()["n_trades"] >= 1


class TestTheSpoolIsRemoved:
    def test_after_a_run(self, tmp_path, recording, spool_area, monkeypatch):
        during: list[list[Path]] = []
        load = book_spool._load_chunks

        def loading(handle):
            during.append(list(spool_area.glob("emp-book-spool-*")))
            yield from load(handle)

        monkeypatch.setattr(book_spool, "_load_chunks", loading)
        backtest(tmp_path, BacktestRequest(strategy="book_imbalance", book_file=recording))
        assert during and len(during[0]) == 1  # the spool was there while the run read it
        assert list(spool_area.glob("emp-book-spool-*")) == []

    def test_after_a_run_that_fails(self, tmp_path, recording, spool_area, monkeypatch):
        def failing(self, progress=None):
            raise RuntimeError("the engine broke")

        monkeypatch.setattr(backtest_book.BarEventEngine, "run", failing)
        with pytest.raises(RuntimeError, match="the engine broke"):
            backtest(tmp_path, BacktestRequest(strategy="book_imbalance", book_file=recording))
        assert list(spool_area.glob("emp-book-spool-*")) == []

    def test_after_a_symbol_filter_that_leaves_nothing(self, tmp_path, recording, spool_area):
        request = BacktestRequest(strategy="book_imbalance", book_file=recording, symbols=["XYZ"])
        with pytest.raises(InvalidConfiguration, match="has no book data for XYZ"):
            backtest(tmp_path, request)
        assert list(spool_area.glob("emp-book-spool-*")) == []
