"""A recorded FIX stream replayed into books: gap → stale → resync → replay; quarantine."""

from __future__ import annotations

import numpy as np

from emp.adapters.fix_codec.md_encode import encode_md
from emp.adapters.md_replay import FileReplayMarketData, write_raw_messages
from emp.domain.books import BookSynchronizer
from emp.domain.features.how import BookFrameRecorder
from emp.domain.instruments import InstrumentRegistry
from emp.domain.market_data import InstrumentRecovered, InstrumentWentStale, SnapshotRequested
from emp.ports.market_data import MarketDataPort
from tests.unit.domain.books.streams import INSTRUMENT, T0, increment_of, l2_stream, snapshot_of

INSTRUMENTS = InstrumentRegistry([INSTRUMENT])


def pump(port: FileReplayMarketData, sync: BookSynchronizer) -> list:
    events = []
    while not port.exhausted:
        for message in port.drain_events(limit=7):
            sync.on_message(message)
            for event in sync.drain_events():
                events.append(event)
                if isinstance(event, SnapshotRequested):
                    port.request_snapshot(event.symbol)
    return events


def reframe(raw: bytes) -> bytes:
    """Recompute BodyLength and CheckSum of an edited message (so only the edit is wrong)."""
    body = raw[raw.index(b"\x0135=") + 1 : raw.rindex(b"10=")]
    framed = b"8=FIX.4.4\x019=%d\x01" % len(body) + body
    return framed + b"10=%03d\x01" % (sum(framed) % 256)


def recording(tmp_path, *, lose: int | None = None, corrupt: int | None = None, separator=b"|"):
    """W, 40 X, a W (periodic refresh), 10 more X; returns the path and the final model."""
    messages, images = l2_stream(np.random.default_rng(5), 50)
    raws, seq, rpt = [], 1, 1
    raws.append(
        encode_md(
            snapshot_of(((), ()), seq_num=seq, ts_ns=T0, rpt_seq=0),
            sender_comp_id="V",
            target_comp_id="E",
        )
    )
    for i, message in enumerate(messages):
        seq += 1
        raw = encode_md(
            increment_of(message, seq_num=seq, ts_ns=T0 + i * 1_000_000, first_rpt=rpt),
            sender_comp_id="V",
            target_comp_id="E",
        )
        rpt += len(message[0])
        if i == corrupt:
            raw = reframe(raw.replace(b"\x01271=", b"\x01271=-", 1))
        if i != lose:
            raws.append(raw)
        if i == 39:
            seq += 1
            refresh = snapshot_of(images[i], seq_num=seq, ts_ns=T0 + i * 1_000_000, rpt_seq=rpt - 1)
            raws.append(encode_md(refresh, sender_comp_id="V", target_comp_id="E"))
    path = tmp_path / "stream.fix"
    write_raw_messages(path, raws, separator=separator)
    return path, images[-1]


class TestReplay:
    def test_a_clean_recording_rebuilds_the_exact_book(self, tmp_path):
        path, final = recording(tmp_path)
        port = FileReplayMarketData(path)
        assert isinstance(port, MarketDataPort)
        sync = BookSynchronizer(INSTRUMENTS)
        assert pump(port, sync) == []
        assert sync.book("ABC").image() == final and not sync.is_stale("ABC")
        assert sync.stats.gaps == 0 and sync.stats.messages == 52

    def test_soh_separated_recordings_replay_the_same(self, tmp_path):
        path, final = recording(tmp_path, separator=b"\x01")
        sync = BookSynchronizer(INSTRUMENTS)
        pump(FileReplayMarketData(path), sync)
        assert sync.book("ABC").image() == final

    def test_a_lost_message_marks_the_book_stale_until_the_next_snapshot_then_it_is_exact(
        self, tmp_path
    ):
        path, final = recording(tmp_path, lose=20)
        port = FileReplayMarketData(path)
        sync = BookSynchronizer(INSTRUMENTS)
        events = pump(port, sync)
        kinds = [type(e) for e in events if not type(e).__name__.startswith("Trade")]
        assert kinds == [InstrumentWentStale, SnapshotRequested, InstrumentRecovered]
        assert "MsgSeqNum gap" in events[0].reason
        assert port.snapshot_requests == ["ABC"]
        assert sync.book("ABC").image() == final and not sync.is_stale("ABC")

    def test_a_malformed_message_is_quarantined_and_the_book_resynchronised(self, tmp_path):
        path, final = recording(tmp_path, corrupt=12)
        quarantine = tmp_path / "quarantine.fix"
        port = FileReplayMarketData(path, quarantine_path=quarantine)
        sync = BookSynchronizer(INSTRUMENTS)
        events = pump(port, sync)
        assert len(port.quarantined) == 1 and port.quarantined[0].tag == 271
        assert quarantine.read_bytes().count(b"\n") == 1 and b"271=-" in quarantine.read_bytes()
        assert "malformed message quarantined" in events[0].reason
        assert sync.stats.gaps == 0  # its MsgSeqNum was consumed, not counted as lost
        assert sync.book("ABC").image() == final and not sync.is_stale("ABC")

    def test_unsubscribed_instruments_are_passed_over(self, tmp_path):
        path, _ = recording(tmp_path)
        port = FileReplayMarketData(path)
        request = port.subscribe(["XYZ"])
        sync = BookSynchronizer(INSTRUMENTS)
        pump(port, sync)
        assert sync.state("ABC").value == "awaiting_snapshot" and sync.stats.gaps == 0
        port.unsubscribe(request)


class TestCompiledReplay:
    """`replay_into` (the kernel) gives what the port path gives, message for message."""

    def both(self, path, **port_options):
        slow_port = FileReplayMarketData(path, **port_options)
        slow = BookSynchronizer(INSTRUMENTS)
        events = pump(slow_port, slow)
        fast_port = FileReplayMarketData(path, **port_options)
        fast = BookSynchronizer(INSTRUMENTS)
        run = fast_port.replay_into(fast, depth=3)
        return (slow_port, slow, events), (fast_port, fast, fast.drain_events(), run)

    def test_a_clean_recording_gives_the_same_book_through_the_kernel(self, tmp_path):
        path, final = recording(tmp_path)
        (_, slow, _), (port, fast, events, run) = self.both(path)
        assert events == [] and port.exhausted and run.handbacks == 1
        assert fast.book("ABC").image() == final == slow.book("ABC").image()
        assert fast.stats == slow.stats

    def test_a_lost_and_a_corrupt_message_recover_the_same_way(self, tmp_path):
        for k, options in enumerate(({"lose": 20}, {"corrupt": 12})):
            (tmp_path / str(k)).mkdir()
            path, final = recording(tmp_path / str(k), **options)
            quarantine = tmp_path / str(k) / "q.fix"
            (slow_port, slow, slow_events), (port, fast, events, _run) = self.both(
                path, quarantine_path=quarantine
            )
            assert events == slow_events and fast.stats == slow.stats
            assert port.snapshot_requests == slow_port.snapshot_requests == ["ABC"]
            assert [q.tag for q in port.quarantined] == [q.tag for q in slow_port.quarantined]
            assert fast.book("ABC").image() == final and not fast.is_stale("ABC")

    def test_depth_frames_equal_the_recorder_s_frames(self, tmp_path):
        path, _ = recording(tmp_path, lose=20)
        fast = BookSynchronizer(INSTRUMENTS)
        run = FileReplayMarketData(path).replay_into(fast, depth=3)
        frames = run.book_frames(fast, "ABC")
        slow = BookSynchronizer(INSTRUMENTS)
        recorder = BookFrameRecorder(3)
        port = FileReplayMarketData(path)
        while not port.exhausted:
            for message in port.drain_events(limit=7):
                slow.on_message(message)
                recorder.record(message.ts_ns, slow.book("ABC"), stale=slow.is_stale("ABC"))
        expected = recorder.frames()
        for name in ("ts_ns", "bid_px", "bid_sz", "ask_px", "ask_sz", "stale"):
            np.testing.assert_array_equal(getattr(frames, name), getattr(expected, name), name)

    def test_unsubscribed_instruments_are_passed_over_by_the_kernel_too(self, tmp_path):
        path, _ = recording(tmp_path)
        port = FileReplayMarketData(path)
        port.subscribe(["XYZ"])
        sync = BookSynchronizer(INSTRUMENTS)
        port.replay_into(sync)
        assert sync.state("ABC").value == "awaiting_snapshot" and sync.stats.gaps == 0
