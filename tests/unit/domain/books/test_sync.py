"""BookSynchronizer: gaps mark books stale, snapshots plus buffered increments recover them."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.domain.books import BookSynchronizer, FeedState
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.market_data import (
    InstrumentRecovered,
    InstrumentWentStale,
    MdMessageQuarantined,
    MdOtherMessage,
    MdSnapshot,
    SnapshotRequested,
    TradeReported,
)
from tests.unit.domain.books.streams import (
    ASK,
    BID,
    CHANGE,
    INSTRUMENT,
    NEW,
    T0,
    increment_of,
    l2_stream,
    snapshot_of,
)

INSTRUMENTS = InstrumentRegistry([INSTRUMENT, Instrument(symbol="XYZ", tick_size=0.01)])
EMPTY = ((), ())


def kinds(events) -> list[str]:
    return [type(e).__name__ for e in events]


def live_sync(image=(((100.0, 5),), ((100.02, 5),)), rpt_seq: int = 10) -> BookSynchronizer:
    sync = BookSynchronizer(INSTRUMENTS)
    sync.on_message(snapshot_of(image, seq_num=1, ts_ns=T0, rpt_seq=rpt_seq))
    return sync


class TestRptSeqGaps:
    def test_a_rpt_seq_gap_marks_the_book_stale_and_requests_one_snapshot(self):
        sync = live_sync()
        sync.on_message(
            increment_of(([CHANGE], [BID], [100.0], [7]), seq_num=2, ts_ns=T0, first_rpt=12)
        )
        sync.on_message(
            increment_of(([CHANGE], [BID], [100.0], [8]), seq_num=3, ts_ns=T0, first_rpt=13)
        )
        events = sync.drain_events()
        assert kinds(events) == ["InstrumentWentStale", "SnapshotRequested"]
        assert "expected 11, was 12" in events[0].reason
        assert sync.is_stale("ABC") and sync.book("ABC").bbo()[1] == 5

    def test_the_snapshot_replays_only_the_buffered_increments_newer_than_itself(self):
        sync = live_sync()
        sync.on_message(
            increment_of(([CHANGE], [BID], [100.0], [7]), seq_num=2, ts_ns=T0, first_rpt=12)
        )
        sync.on_message(
            increment_of(
                ([NEW, NEW], [BID, ASK], [99.99, 100.03], [1, 2]), seq_num=3, ts_ns=T0, first_rpt=13
            )
        )
        snapshot = snapshot_of((((100.0, 7),), ((100.02, 5),)), seq_num=4, ts_ns=T0, rpt_seq=12)
        sync.drain_events()
        sync.on_message(snapshot)
        assert sync.state("ABC") is FeedState.LIVE
        assert sync.drain_events() == [InstrumentRecovered(symbol="ABC", seq_num=4, replayed=2)]
        assert sync.book("ABC").image() == (((100.0, 7), (99.99, 1)), ((100.02, 5), (100.03, 2)))
        sync.on_message(
            increment_of(([CHANGE], [ASK], [100.03], [9]), seq_num=5, ts_ns=T0, first_rpt=15)
        )
        assert not sync.is_stale("ABC") and sync.book("ABC").depth(ASK)[1].size == 9

    def test_a_hole_between_the_snapshot_and_the_buffer_keeps_it_stale_and_asks_again(self):
        sync = live_sync()
        sync.on_message(
            increment_of(([CHANGE], [BID], [100.0], [7]), seq_num=2, ts_ns=T0, first_rpt=15)
        )
        sync.drain_events()
        sync.on_message(
            snapshot_of((((100.0, 7),), ((100.02, 5),)), seq_num=3, ts_ns=T0, rpt_seq=12)
        )
        assert sync.is_stale("ABC")
        assert kinds(sync.drain_events()) == ["SnapshotRequested"]

    def test_entries_older_than_the_series_are_dropped_as_duplicates(self):
        sync = live_sync()
        sync.on_message(
            increment_of(
                ([CHANGE, CHANGE], [BID, BID], [100.0, 100.0], [6, 7]),
                seq_num=2,
                ts_ns=T0,
                first_rpt=10,
            )
        )
        assert not sync.is_stale("ABC") and sync.book("ABC").bbo()[1] == 7
        assert sync.stats.duplicates == 1

    def test_a_snapshot_older_than_the_live_book_is_ignored(self):
        sync = live_sync()
        sync.on_message(
            increment_of(([CHANGE], [BID], [100.0], [7]), seq_num=2, ts_ns=T0, first_rpt=11)
        )
        sync.on_message(
            snapshot_of((((100.0, 1),), ((100.02, 5),)), seq_num=3, ts_ns=T0, rpt_seq=9)
        )
        assert sync.book("ABC").bbo()[1] == 7

    def test_a_snapshot_without_rpt_seq_drops_the_buffer_and_is_trusted_alone(self):
        sync = live_sync()
        sync.on_message(
            increment_of(([CHANGE], [BID], [100.0], [7]), seq_num=2, ts_ns=T0, first_rpt=12)
        )
        sync.on_message(snapshot_of((((100.0, 3),), ((100.02, 5),)), seq_num=3, ts_ns=T0))
        assert not sync.is_stale("ABC") and sync.book("ABC").bbo()[1] == 3


class TestMsgSeqNumGaps:
    def test_a_msg_seq_num_gap_marks_every_live_book_stale(self):
        sync = live_sync()
        empty = snapshot_of(EMPTY, seq_num=2, ts_ns=T0)
        sync.on_message(MdSnapshot(symbol="XYZ", entries=empty.entries, seq_num=2, ts_ns=T0))
        sync.on_message(
            increment_of(([CHANGE], [BID], [100.0], [7]), seq_num=5, ts_ns=T0, first_rpt=11)
        )
        assert sync.is_stale("ABC") and sync.is_stale("XYZ")
        assert sync.stats.gaps == 1

    def test_a_repeated_msg_seq_num_is_ignored(self):
        sync = live_sync()
        sync.on_message(increment_of(([CHANGE], [BID], [100.0], [7]), seq_num=2, ts_ns=T0))
        sync.on_message(increment_of(([CHANGE], [BID], [100.0], [9]), seq_num=2, ts_ns=T0))
        assert sync.book("ABC").bbo()[1] == 7 and not sync.is_stale("ABC")

    def test_other_messages_on_the_stream_consume_their_number(self):
        sync = live_sync()
        sync.on_message(MdOtherMessage(seq_num=2, msg_type="0"))
        sync.on_message(
            increment_of(([CHANGE], [BID], [100.0], [7]), seq_num=3, ts_ns=T0, first_rpt=11)
        )
        assert not sync.is_stale("ABC")


class TestBadData:
    def test_an_update_contradicting_the_book_marks_it_stale_instead_of_corrupting_silently(self):
        sync = live_sync()
        sync.on_message(
            increment_of(([CHANGE], [BID], [98.0], [7]), seq_num=2, ts_ns=T0, first_rpt=11)
        )
        events = sync.drain_events()
        assert (
            isinstance(events[0], InstrumentWentStale)
            and "expected an existing level" in events[0].reason
        )
        assert events[1] == SnapshotRequested(symbol="ABC")

    def test_a_quarantined_message_naming_a_symbol_marks_only_that_book_stale(self):
        sync = live_sync()
        sync.on_message(MdMessageQuarantined(raw=b"x", reason="bad", seq_num=2, symbols=("ABC",)))
        assert sync.is_stale("ABC") and sync.state("XYZ") is FeedState.AWAITING_SNAPSHOT
        sync.on_message(increment_of(([CHANGE], [BID], [100.0], [7]), seq_num=3, ts_ns=T0))
        assert sync.stats.gaps == 0

    def test_a_quarantined_message_naming_nothing_marks_every_book_stale(self):
        sync = live_sync()
        sync.book("XYZ")
        sync.on_message(MdMessageQuarantined(raw=b"x", reason="bad"))
        assert sync.is_stale("ABC") and sync.is_stale("XYZ")

    def test_trades_are_reported_and_leave_the_book_alone(self):
        sync = live_sync()
        sync.on_message(
            increment_of(([NEW], [2], [100.01], [3]), seq_num=2, ts_ns=T0 + 5, first_rpt=11)
        )
        assert sync.drain_events() == [
            TradeReported(symbol="ABC", price=100.01, size=3, ts_ns=T0 + 5)
        ]
        assert sync.book("ABC").image() == (((100.0, 5),), ((100.02, 5),))


class TestRecoveryProperty:
    @settings(max_examples=25, deadline=None)
    @given(seed=st.integers(0, 2**32 - 1), lost=st.integers(1, 3), at=st.integers(5, 30))
    def test_after_any_lost_messages_a_later_snapshot_restores_the_exact_book(self, seed, lost, at):
        messages, images = l2_stream(np.random.default_rng(seed), 45)
        sync = BookSynchronizer(INSTRUMENTS)
        sync.on_message(snapshot_of(EMPTY, seq_num=1, ts_ns=T0, rpt_seq=0))
        rpt, seq = 1, 2
        snap_at = at + lost + 3
        for i, message in enumerate(messages):
            increment = increment_of(message, seq_num=seq, ts_ns=T0, first_rpt=rpt)
            rpt += len(message[0])
            seq += 1
            if at <= i < at + lost:
                continue  # lost on the wire
            sync.on_message(increment)
            if i == at + lost:
                assert sync.is_stale("ABC")
            if i == snap_at:
                sync.on_message(
                    snapshot_of(
                        images[i - 2], seq_num=seq, ts_ns=T0, rpt_seq=_rpt_after(messages, i - 2)
                    )
                )
                seq += 1
        assert not sync.is_stale("ABC")
        assert sync.book("ABC").image() == images[-1]


def _rpt_after(messages, index: int) -> int:
    return sum(len(m[0]) for m in messages[: index + 1])
