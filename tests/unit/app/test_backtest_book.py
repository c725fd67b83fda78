"""The book-data backtest service (emp.app.backtest_book): a recording → book updates →
the event engine with the book venue → the report, without the installed script."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emp.adapters.fix_codec.md_encode import encode_md
from emp.adapters.md_replay import write_raw_messages
from emp.app.backtest import BacktestRequest, run_backtest
from emp.app.backtest_book import RecordedBookUpdates, recorded_book_updates
from emp.app.containers import build_container, close_stores
from emp.app.plugins import make_plugin_manager
from emp.app.settings import load_settings
from emp.domain.errors import InvalidConfiguration
from emp.domain.market_data import EntryType, MdEntries, MdIncrement, UpdateAction
from emp.domain.matching import BookSnapshot, TradePrint
from emp.domain.orders import OrderSide
from tests.integration.test_backtest_book_data import MESSAGES, record_session
from tests.unit.domain.books.streams import T0, increment_of, l2_stream, snapshot_of

IDS = {"sender_comp_id": "V", "target_comp_id": "E"}


def backtest(tmp_path: Path, request: BacktestRequest):
    settings = load_settings(db_path=tmp_path / "emp.duckdb", reports_dir=tmp_path / "reports")
    container = build_container(settings)
    catalog = make_plugin_manager(load_entrypoints=False)
    try:
        return run_backtest(settings, container, catalog, request)
    finally:
        close_stores(container, settings)


class TestRecordedBookUpdates:
    def test_each_update_is_the_live_books_best_levels_after_a_message(self, tmp_path):
        path = tmp_path / "abc.fix"
        record_session(path)
        updates, symbols = recorded_book_updates(path, levels=3, tick_size=0.01, lot_size=1.0)
        _, images = l2_stream(np.random.default_rng(2026), MESSAGES)
        expected = [((), ())]  # the empty book of the first snapshot
        for bids, asks in images:
            top = (bids[:3], asks[:3])
            if top != expected[-1]:
                expected.append(top)
        assert symbols == ["ABC"]
        assert all(isinstance(u, BookSnapshot) for u in updates)
        assert [(u.bids, u.asks) for u in updates] == expected
        times = [u.ts_ns for u in updates]
        assert times == sorted(times) and times[0] == T0

    def test_a_trade_entry_becomes_a_trade_print_with_its_aggressor_inferred(self, tmp_path):
        image = (((99.99, 10.0),), ((100.01, 10.0),))
        raws = [encode_md(snapshot_of(image, seq_num=1, ts_ns=T0, rpt_seq=0), **IDS)]
        for i, price in enumerate((100.01, 99.99)):
            entries = MdEntries(
                actions=[UpdateAction.NEW],
                types=[EntryType.TRADE],
                prices=[price],
                sizes=[3.0],
                symbols=["ABC"],
            )
            increment = MdIncrement(entries=entries, seq_num=i + 2, ts_ns=T0 + i + 1)
            raws.append(encode_md(increment, **IDS))
        path = tmp_path / "trades.fix"
        write_raw_messages(path, raws)
        updates, _ = recorded_book_updates(path, levels=5, tick_size=0.01, lot_size=1.0)
        trades = [u for u in updates if isinstance(u, TradePrint)]
        assert [(t.price, t.quantity, t.aggressor) for t in trades] == [
            (100.01, 3.0, OrderSide.BUY),
            (99.99, 3.0, OrderSide.SELL),
        ]


class TestBookBacktest:
    def test_a_recording_runs_book_imbalance_through_the_book_venue(self, tmp_path):
        path = tmp_path / "abc.fix"
        record_session(path)
        request = BacktestRequest(
            strategy="book_imbalance", book_file=path, params={"units": 50, "every": 5}
        )
        outcome = backtest(tmp_path, request)
        result = outcome.result
        assert len(result.fills) >= 3
        assert result.portfolio.quantity("ABC") == pytest.approx(
            sum(f.signed_quantity for f in result.fills)
        )
        assert np.all(np.diff(result.ts_ns) > 0)
        assert result.notes[0].startswith("book data:")
        assert outcome.json_line()["n_trades"] == len(result.trades) >= 1

    def test_bars_and_a_recording_together_are_refused(self, tmp_path):
        path = tmp_path / "abc.fix"
        record_session(path)
        request = BacktestRequest(strategy="book_imbalance", book_file=path, data_file=path)
        with pytest.raises(InvalidConfiguration, match="recording only"):
            backtest(tmp_path, request)

    def test_a_missing_recording_is_refused_with_its_path(self, tmp_path):
        request = BacktestRequest(strategy="book_imbalance", book_file=tmp_path / "none.fix")
        with pytest.raises(InvalidConfiguration, match="none.fix"):
            backtest(tmp_path, request)

    def test_a_recording_without_a_live_book_is_refused_with_its_path(self, tmp_path):
        messages, _ = l2_stream(np.random.default_rng(7), 20)
        raws = [
            encode_md(increment_of(m, seq_num=i + 2, ts_ns=T0 + i, first_rpt=1 + i), **IDS)
            for i, m in enumerate(messages)
        ]  # increments only: no snapshot ever makes the book live
        path = tmp_path / "stale.fix"
        write_raw_messages(path, raws)
        request = BacktestRequest(strategy="book_imbalance", book_file=path)
        with pytest.raises(InvalidConfiguration, match="stale.fix holds no live book data"):
            backtest(tmp_path, request)


class TestRecordedBookUpdatesStream:
    def test_updates_come_as_the_recording_is_read_and_symbols_once_it_ends(self, tmp_path):
        path = tmp_path / "abc.fix"
        record_session(path)
        recorded = RecordedBookUpdates(path, levels=3, tick_size=0.01, lot_size=1.0)
        stream = iter(recorded)
        first = next(stream)
        assert first.ts_ns == T0 and recorded.symbols == ["ABC"]
        rest = list(stream)
        listed, symbols = recorded_book_updates(path, levels=3, tick_size=0.01, lot_size=1.0)
        assert [first, *rest] == listed and symbols == recorded.symbols
