"""The book spool (emp.app.book_spool): updates parked on disk in chunks and read back
exactly, with the counts, time ranges and marks a run needs before it starts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emp.app import book_spool
from emp.app.backtest_book import recorded_book_updates
from emp.app.book_spool import BookSpool
from emp.app.engine_book import update_price
from emp.domain.errors import InvalidConfiguration
from emp.domain.matching import BookSnapshot, TradePrint
from emp.domain.orders import OrderSide
from tests.integration.test_backtest_book_data import record_session

SYMBOLS = ("AAA", "BBB", "CCC")
prices = st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False)
levels = st.lists(st.tuples(prices, prices), max_size=4).map(tuple)
snapshots = st.builds(
    BookSnapshot,
    symbol=st.sampled_from(SYMBOLS),
    ts_ns=st.integers(0, 2**62),
    bids=levels,
    asks=levels,
)
prints = st.builds(
    TradePrint,
    symbol=st.sampled_from(SYMBOLS),
    ts_ns=st.integers(0, 2**62),
    price=prices,
    quantity=prices,
    aggressor=st.sampled_from(OrderSide),
)
update_lists = st.lists(st.one_of(snapshots, prints), max_size=60)
PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
wanted_sets = st.none() | st.sets(st.sampled_from((*SYMBOLS, "ZZZ")))


class TestRoundTrip:
    @settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(updates=update_lists, chunk_size=st.integers(1, 7), wanted=wanted_sets)
    def test_the_updates_read_back_are_the_ones_written_levels_and_types_included(
        self, tmp_path, updates, chunk_size, wanted
    ):
        with BookSpool(directory=tmp_path, chunk_size=chunk_size) as spool:
            spool.write(updates)
            back = list(spool.read(wanted))
        expected = [u for u in updates if wanted is None or u.symbol in wanted]
        assert back == expected
        assert [type(u) for u in back] == [type(u) for u in expected]
        for got, want in zip(back, expected, strict=True):
            if isinstance(want, BookSnapshot):
                assert [type(x) for lv in got.bids + got.asks for x in lv] == [
                    type(x) for lv in want.bids + want.asks for x in lv
                ]

    def test_a_recordings_updates_round_trip_exactly(self, tmp_path):
        path = tmp_path / "abc.fix"
        record_session(path)
        updates, _ = recorded_book_updates(path, levels=5, tick_size=0.01, lot_size=1.0)
        with BookSpool(directory=tmp_path / "spool", chunk_size=100) as spool:
            spool.write(updates)
            assert list(spool.read()) == updates
            assert list(spool.read()) == updates  # read again, from the start


class TestFactsKeptInMemory:
    @settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(updates=update_lists, wanted=wanted_sets)
    def test_counts_and_time_ranges_are_those_of_the_chosen_updates_list(
        self, tmp_path, updates, wanted
    ):
        chosen = [u for u in updates if wanted is None or u.symbol in wanted]
        with BookSpool(directory=tmp_path, chunk_size=3) as spool:
            spool.write(updates)
            assert spool.count(wanted) == len(chosen)
            expected_range = (chosen[0].ts_ns, chosen[-1].ts_ns) if chosen else None
            assert spool.time_range(wanted) == expected_range
            assert spool.symbols == sorted({u.symbol for u in updates})

    @settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(updates=update_lists, symbol=st.sampled_from((*SYMBOLS, "ZZZ")))
    def test_marks_are_a_symbols_mids_and_trade_prices_in_order(self, tmp_path, updates, symbol):
        marks = [(u.ts_ns, update_price(u)) for u in updates if u.symbol == symbol]
        priced = [(ts, p) for ts, p in marks if p is not None]
        with BookSpool(directory=tmp_path, chunk_size=3) as spool:
            spool.write(updates)
            ts, closes = spool.marks(symbol)
        assert ts.dtype == np.int64 and closes.dtype == np.float64
        assert ts.tolist() == [t for t, _ in priced]
        assert closes.tolist() == [p for _, p in priced]


class TestChunks:
    def test_writing_holds_at_most_one_chunk_of_rows(self, tmp_path, monkeypatch):
        sizes: list[int] = []
        dump = book_spool._dump_chunk
        monkeypatch.setattr(
            book_spool, "_dump_chunk", lambda c, h: (sizes.append(len(c)), dump(c, h))
        )
        updates = [BookSnapshot(symbol="AAA", ts_ns=i) for i in range(23)]
        with BookSpool(directory=tmp_path, chunk_size=5) as spool:
            spool.write(iter(updates))
            assert list(spool.read()) == updates
        assert sizes == [5, 5, 5, 5, 3]

    def test_reading_loads_the_next_chunk_only_once_the_last_one_is_used(
        self, tmp_path, monkeypatch
    ):
        consumed = 0
        loaded_after: list[int] = []
        load = book_spool._load_chunks

        def watched(handle):
            for chunk in load(handle):
                loaded_after.append(consumed)
                yield chunk

        monkeypatch.setattr(book_spool, "_load_chunks", watched)
        updates = [BookSnapshot(symbol="AAA", ts_ns=i) for i in range(23)]
        with BookSpool(directory=tmp_path, chunk_size=5) as spool:
            spool.write(updates)
            for _ in spool.read():
                consumed += 1
        assert loaded_after == [0, 5, 10, 15, 20]

    def test_a_spool_is_written_once(self, tmp_path):
        with BookSpool(directory=tmp_path) as spool:
            spool.write([])
            with pytest.raises(InvalidConfiguration, match="written once"):
                spool.write([])

    def test_a_chunk_size_below_one_is_refused(self):
        with pytest.raises(InvalidConfiguration, match="expected a spool chunk size >= 1, was 0"):
            BookSpool(chunk_size=0)


class TestCleanUp:
    def test_the_spool_directory_is_removed_when_the_block_ends(self, tmp_path):
        with BookSpool(directory=tmp_path) as spool:
            spool.write([BookSnapshot(symbol="AAA", ts_ns=1)])
            where = spool.directory
            assert (where / "updates.pickle").is_file()
        assert not where.exists()
        assert list(tmp_path.iterdir()) == []

    def test_the_spool_directory_is_removed_when_the_block_fails(self, tmp_path):
        with pytest.raises(RuntimeError, match="boom"), BookSpool(directory=tmp_path) as spool:
            spool.write([BookSnapshot(symbol="AAA", ts_ns=1)])
            raise RuntimeError("boom")
        assert list(tmp_path.iterdir()) == []

    def test_a_closed_spool_refuses_to_be_read(self, tmp_path):
        with BookSpool(directory=tmp_path) as spool:
            spool.write([])
        with pytest.raises(InvalidConfiguration, match="open book spool"):
            list(spool.read())
