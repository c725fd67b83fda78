"""The compiled decode-and-apply kernel: identical books, events and errors to the Python path."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.adapters.fix_codec.md_encode import encode_md
from emp.adapters.fix_codec.md_kernel import (
    APPLIED,
    DUPLICATE,
    NO_TICK,
    PYTHON,
    KernelBookFeed,
    kernel_verdict,
)
from emp.adapters.fix_codec.md_session import decode_market_data
from emp.domain.books import BookConfig, BookSynchronizer
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.market_data import (
    InstrumentWentStale,
    MdEntries,
    MdIncrement,
    MdSnapshot,
    SnapshotRequested,
    TradeReported,
)
from tests.unit.adapters.test_md_codec import TestMalformedMessages, x_entry, x_message
from tests.unit.domain.books.streams import INSTRUMENT, T0, increment_of, l2_stream, snapshot_of

INSTRUMENTS = InstrumentRegistry([INSTRUMENT, Instrument(symbol="XYZ", tick_size=0.5)])


def encoded(message) -> bytes:
    return encode_md(message, sender_comp_id="V", target_comp_id="E")


def reframe(raw: bytes) -> bytes:
    """Recompute BodyLength and CheckSum of an edited message (so only the edit is wrong)."""
    body = raw[raw.index(b"\x0135=") + 1 : raw.rindex(b"\x0110=") + 1]
    framed = b"8=FIX.4.4\x019=%d\x01" % len(body) + body
    return framed + b"10=%03d\x01" % (sum(framed) % 256)


def python_path(raws: list[bytes], sync: BookSynchronizer) -> None:
    for raw in raws:
        sync.on_message(decode_market_data(raw))


def stream(
    seed: int,
    messages: int,
    *,
    far_prob: float = 0.0,
    lose: int | None = None,
    repeat: int | None = None,
    corrupt: int | None = None,
    refresh: int | None = None,
    trade_every: int = 0,
) -> list[bytes]:
    """W then X messages of a random valid L2 stream, with optional faults."""
    bodies, images = l2_stream(np.random.default_rng(seed), messages, far_prob=far_prob)
    raws = [encoded(snapshot_of(((), ()), seq_num=1, ts_ns=T0, rpt_seq=0))]
    seq, rpt = 1, 1
    for i, body in enumerate(bodies):
        seq += 1
        actions, types, prices, sizes = (list(c) for c in body)
        if trade_every and i % trade_every == 0:
            actions.append(0)
            types.append(2)
            prices.append(prices[0] + 0.003)
            sizes.append(5.0)
        message = increment_of(
            (actions, types, prices, sizes), seq_num=seq, ts_ns=T0 + i * 1000, first_rpt=rpt
        )
        rpt += len(actions)
        raw = encoded(message)
        if i == corrupt:
            raw = reframe(raw.replace(b"\x01271=", b"\x01271=x", 1))
        if i != lose:
            raws.append(raw)
        if i == repeat:
            raws.append(raw)
        if i == refresh:
            seq += 1
            snapshot = snapshot_of(images[i], seq_num=seq, ts_ns=T0 + i * 1000, rpt_seq=rpt - 1)
            raws.append(encoded(snapshot))
    return raws


def assert_same_books(kernel: BookSynchronizer, python: BookSynchronizer) -> None:
    assert kernel.symbols == python.symbols
    for symbol in python.symbols:
        assert kernel.state(symbol) is python.state(symbol), symbol
        assert kernel.book(symbol).image() == python.book(symbol).image(), symbol
        assert (
            kernel.book(symbol).bbo() == python.book(symbol).bbo()
            or np.isnan(python.book(symbol).bbo()).any()
        )
        kernel.book(symbol).check_invariants()
    assert kernel.stats == python.stats


class TestSameAsThePythonPath:
    @settings(max_examples=25, deadline=None)
    @given(
        seed=st.integers(0, 10_000),
        far=st.sampled_from([0.0, 0.05]),
        fault=st.sampled_from(["none", "lose", "repeat", "corrupt"]),
        at=st.integers(0, 28),
        trades=st.sampled_from([0, 3]),
    )
    def test_books_equal_the_python_books_after_every_message(self, seed, far, fault, at, trades):
        raws = stream(
            seed, 30, far_prob=far, refresh=29 if fault != "none" else None,
            trade_every=trades, **({fault: at} if fault != "none" else {}),
        )  # fmt: skip
        python = BookSynchronizer(INSTRUMENTS)
        kernel = BookSynchronizer(INSTRUMENTS)
        feed = KernelBookFeed(kernel)
        for raw in raws:
            python.on_message(decode_market_data(raw))
            feed.feed(raw)
            assert_same_books(kernel, python)
            assert kernel.drain_events() == python.drain_events()
        assert feed.disagreements == 0

    @settings(max_examples=25, deadline=None)
    @given(seed=st.integers(0, 10_000), fault=st.sampled_from(["none", "lose", "corrupt"]))
    def test_one_buffer_gives_the_python_bbo_after_every_message(self, seed, fault):
        raws = stream(seed, 60, refresh=50, **({fault: 20} if fault != "none" else {}))
        kernel = BookSynchronizer(INSTRUMENTS)
        run = KernelBookFeed(kernel).feed(b"\n".join(r.replace(b"\x01", b"|") for r in raws))
        python = BookSynchronizer(INSTRUMENTS)
        bid_px, ask_px = run.bbo_prices(kernel)
        for i, raw in enumerate(raws):
            python.on_message(decode_market_data(raw))
            bid, bid_size, ask, ask_size = python.book("ABC").bbo()
            assert run.slot[i] == 0
            np.testing.assert_array_equal(
                [bid_px[i], run.bid_size[i], ask_px[i], run.ask_size[i]],
                [bid, bid_size, ask, ask_size],
            )
        assert_same_books(kernel, python)
        assert kernel.drain_events() == python.drain_events()
        if fault == "none":  # while stale, Python buffers the increments
            assert (run.status == APPLIED).sum() == len(raws) - 1

    def test_the_kernel_writes_into_the_book_s_own_grid_array(self):
        raws = stream(3, 10)
        sync = BookSynchronizer(INSTRUMENTS)
        KernelBookFeed(sync).feed(raws[0])
        grid = sync.book("ABC").grid
        before = grid.copy()
        run = KernelBookFeed(sync).feed(b"\n".join(raws[1:]))
        assert sync.book("ABC").grid is grid and not np.array_equal(grid, before)
        assert (run.status == APPLIED).all() and run.handbacks == 0


class TestHandbacks:
    def test_a_malformed_message_is_quarantined_and_the_book_goes_stale_as_in_python(self):
        raws = stream(5, 20, corrupt=8, refresh=15)
        kernel = BookSynchronizer(INSTRUMENTS)
        quarantined = []
        run = KernelBookFeed(kernel, on_quarantined=quarantined.append).feed(b"\n".join(raws))
        python = BookSynchronizer(INSTRUMENTS)
        python_path(raws, python)
        (bad,) = run.quarantined
        assert bad.index == 9 and bad.kernel_tag == 271 and bad.message.tag == 271
        assert raws[9][bad.offset : bad.offset + 2] == b"x1"
        assert quarantined == [bad.message] and run.status[9] == PYTHON
        events = kernel.drain_events()
        assert events == python.drain_events()
        assert isinstance(events[0], InstrumentWentStale) and isinstance(
            events[1], SnapshotRequested
        )
        assert_same_books(kernel, python)

    def test_duplicates_are_dropped_and_gaps_resynchronised_as_in_python(self):
        raws = stream(6, 30, repeat=4, refresh=20)
        raws.pop(12)
        kernel = BookSynchronizer(INSTRUMENTS)
        run = KernelBookFeed(kernel).feed(b"\n".join(raws))
        python = BookSynchronizer(INSTRUMENTS)
        python_path(raws, python)
        assert run.status[6] == DUPLICATE and kernel.stats.duplicates == 1
        assert kernel.stats.gaps == 1 and kernel.stats.recoveries == 1
        assert kernel.drain_events() == python.drain_events()
        assert_same_books(kernel, python)

    def test_trades_become_trade_events_in_order(self):
        raws = stream(7, 12, trade_every=4)
        kernel = BookSynchronizer(INSTRUMENTS)
        run = KernelBookFeed(kernel).feed(b"\n".join(raws))
        python = BookSynchronizer(INSTRUMENTS)
        python_path(raws, python)
        events = kernel.drain_events()
        assert events == python.drain_events() and len(events) == 3
        assert all(isinstance(e, TradeReported) for e in events) and run.handbacks == 1

    def test_unknown_instruments_are_counted_as_ignored_after_the_first_message(self):
        other = MdEntries(
            actions=[0], types=[0], prices=[1.0], sizes=[1.0], symbols=["NOPE"], rpt_seqs=[1]
        )
        raws = [encoded(MdIncrement(entries=other, seq_num=s, ts_ns=T0)) for s in (1, 2, 3)]
        sync = BookSynchronizer(INSTRUMENTS)
        run = KernelBookFeed(sync).feed(b"\n".join(raws))
        assert sync.stats.ignored_entries == 3 and sync.stats.messages == 3
        assert run.handbacks == 1 and run.bid_tick[2] == NO_TICK

    def test_two_instruments_keep_their_own_books_and_series(self):
        abc = stream(8, 10)
        xyz = [
            encoded(
                MdSnapshot(
                    symbol="XYZ",
                    entries=MdEntries(
                        actions=[0, 0], types=[0, 1], prices=[10.0, 10.5], sizes=[1.0, 2.0],
                        symbols=["XYZ", "XYZ"],
                    ),
                    seq_num=s, ts_ns=T0, rpt_seq=0,
                )
            )
            for s in (100, 101)
        ]  # fmt: skip
        config_free = BookSynchronizer(INSTRUMENTS, config=BookConfig(check_msg_seq_num=False))
        python = BookSynchronizer(INSTRUMENTS, config=BookConfig(check_msg_seq_num=False))
        raws = abc[:5] + xyz[:1] + abc[5:] + xyz[1:]
        run = KernelBookFeed(config_free).feed(b"\n".join(raws))
        python_path(raws, python)
        assert_same_books(config_free, python)
        assert run.symbols == ("ABC", "XYZ") and run.slot[5] == 1 and run.bid_size[5] == 1.0


class TestFraming:
    def test_pipe_and_soh_lines_crlf_and_blank_lines_frame_like_the_recording_reader(self):
        raws = stream(9, 6)
        lines = [raws[0], raws[1].replace(b"\x01", b"|"), b"", raws[2] + b"\r", *raws[3:]]
        sync = BookSynchronizer(INSTRUMENTS)
        run = KernelBookFeed(sync).feed(b"\n".join(lines) + b"\n\n")
        python = BookSynchronizer(INSTRUMENTS)
        python_path(raws, python)
        assert len(run) == len(raws)
        assert_same_books(sync, python)

    def test_back_to_back_messages_are_split_after_their_checksum(self):
        raws = stream(10, 8)
        sync = BookSynchronizer(INSTRUMENTS)
        run = KernelBookFeed(sync).feed(b"".join(raws), back_to_back=True)
        python = BookSynchronizer(INSTRUMENTS)
        python_path(raws, python)
        assert len(run) == len(raws) and run.handbacks == 1
        assert_same_books(sync, python)


class TestKernelVerdicts:
    @pytest.mark.parametrize(
        "case", list(TestMalformedMessages.CASES), ids=list(TestMalformedMessages.CASES)
    )
    def test_the_stream_path_quarantines_each_malformed_case_exactly_as_python(self, case):
        build, tag = TestMalformedMessages.CASES[case]
        raw = build()
        start = encoded(snapshot_of((((100.0, 5),), ((100.02, 5),)), seq_num=6, ts_ns=T0))
        kernel = BookSynchronizer(INSTRUMENTS)
        run = KernelBookFeed(kernel).feed(start + b"\n" + raw)
        python = BookSynchronizer(INSTRUMENTS)
        python_path([start, raw], python)
        assert kernel.drain_events() == python.drain_events()
        assert_same_books(kernel, python)
        if case != "wrong MsgType":  # 35=D on a stream is another message, not an error
            (bad,) = run.quarantined
            assert bad.kernel_tag == tag == bad.message.tag
            assert kernel.is_stale("ABC")

    def test_valid_messages_are_ok_and_unusual_ones_handed_back(self):
        ok = encoded(increment_of(([0], [0], [1.5], [2.0]), seq_num=1, ts_ns=T0, first_rpt=1))
        assert kernel_verdict(ok).status == "ok"
        with_id = MdIncrement(
            entries=MdEntries(
                actions=[0], types=[0], prices=[1.5], sizes=[2.0], symbols=["ABC"],
                entry_ids=["o1"],
            ),
            seq_num=1, ts_ns=T0,
        )  # fmt: skip
        assert kernel_verdict(encoded(with_id)).status == "handback"
        long_price = x_message(x_entry(px="1.50000000000000000000001"))
        assert kernel_verdict(long_price).status == "handback"
        assert kernel_verdict(x_message(x_entry(symbol="A=B"))).status == "handback"


class TestCompilation:
    def test_importing_the_kernel_module_does_not_import_numba(self):
        code = (
            "import sys, emp.adapters.fix_codec.md_kernel, emp.adapters.md_replay;"
            "print('numba' in sys.modules)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        assert out.strip() == "False"
