"""Live market data over real quickfix: a subscriber that survives a venue restart, an
order-level (L3) feed, and recordings of live sessions that replay to the same books."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import quickfix

from emp.adapters.clocks import SystemClock
from emp.adapters.fix_codec.md_encode import encode_md
from emp.adapters.fix_codec.md_session import decode_market_data
from emp.adapters.fix_quickfix import (
    Backoff,
    QuickfixVenue,
)
from emp.adapters.fix_quickfix.md_dictionary import md_data_dictionary
from emp.adapters.fix_quickfix.md_publisher import MarketDataVenueServer, md_message
from emp.adapters.fix_quickfix.md_recording import SessionRecording, renumbered
from emp.adapters.fix_quickfix.md_subscriber import SESSION_LOST, QuickfixMarketData
from emp.adapters.md_replay import FileReplayMarketData, normalize_line
from emp.app.md_commands import pump
from emp.domain.books import BookSynchronizer, FeedState, L3Book
from emp.domain.commands import CancelOrder, SubmitOrder
from emp.domain.market_data import (
    InstrumentRecovered,
    InstrumentWentStale,
    MdEntries,
    MdSnapshot,
)
from emp.domain.orders import OrderSide, OrderType
from emp.ports.market_data import MarketDataUnavailable
from tests.integration.fix.conftest import PASSWORD, FixLab, free_port
from tests.integration.fix.md_lab import (
    INSTRUMENTS,
    MD_INSTRUMENTS,
    OTHER,
    SYMBOL,
    client_session,
    credentials,
    md_venue_config,
    random_book,
)


class LiveLab:
    """A market-data venue that can be killed and restarted on its port, a subscriber
    (reconnecting fast, recording what it receives) and optionally an order session."""

    def __init__(self, root: Path, *, order_level: bool = False) -> None:
        self.root = root
        self.clock = SystemClock()
        self.port = free_port()
        self.order_level = order_level
        self.server: MarketDataVenueServer | None = None
        self.orders: QuickfixVenue | None = None
        self.start_venue(seed=0)
        self.recording = SessionRecording(root / "live.fix").open()
        self.md = QuickfixMarketData(
            client_session(self.port, "EMPMD", root / "md"),
            clock=self.clock,
            instruments=MD_INSTRUMENTS,
            credentials=credentials(),
            backoff=Backoff(initial_s=0.05, max_s=0.2),
            on_raw=self.recording,
        )
        self.md.start()
        self.md.wait_logged_on(10)

    def start_venue(self, seed: int) -> MarketDataVenueServer:
        server = MarketDataVenueServer(
            md_venue_config(self.port, self.root / "venue"),  # the store kept across restarts
            instruments=INSTRUMENTS,
            clock=self.clock,
            initial_market=[random_book(np.random.default_rng(seed), 1)],
            order_level=self.order_level,
        )
        server.start()
        self.server = server
        return server

    def kill_venue(self) -> None:
        assert self.server is not None
        self.server.stop()
        self.server = None

    @property
    def venue(self) -> MarketDataVenueServer:
        assert self.server is not None
        return self.server

    def order_client(self) -> QuickfixVenue:
        self.orders = QuickfixVenue(
            client_session(self.port, "EMP", self.root / "orders"),
            clock=self.clock,
            credentials=credentials(),
        )
        self.orders.start()
        self.orders.wait_logged_on(10)
        return self.orders

    def synced(self, symbol: str = SYMBOL) -> bool:
        books = self.md.books
        return (
            self.server is not None
            and not books.is_stale(symbol)
            and books.book(symbol).image() == self.venue.book_image(symbol)
        )

    def stop(self) -> None:
        try:
            if self.orders is not None:
                self.orders.stop()
            self.md.stop()
            self.recording.close()
        finally:
            if self.server is not None:
                self.server.stop()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveLab]:
    lab = LiveLab(tmp_path)
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def l3(tmp_path: Path) -> Iterator[LiveLab]:
    lab = LiveLab(tmp_path, order_level=True)
    try:
        yield lab
    finally:
        lab.stop()


def replayed_books(path: Path) -> BookSynchronizer:
    """A recording replayed as `emp md replay` does (MsgSeqNum checked)."""
    sync = BookSynchronizer(MD_INSTRUMENTS)
    pump(FileReplayMarketData(path), sync)
    return sync


def feed_changes(lab: LiveLab, rng: np.random.Generator, n: int, *, first_ts: int) -> None:
    for i in range(n):
        symbol = (SYMBOL, OTHER)[i % 3 == 2]
        lab.venue.feed(random_book(rng, first_ts + i, symbol))
        assert lab.md.wait_until(lambda: lab.synced(SYMBOL) and lab.synced(OTHER), 15), (
            f"the books differ from the venue's after change {i}"
        )


class TestReconnect:
    def test_a_restarted_venue_is_rejoined_and_the_books_resync_to_it(self, live: LiveLab) -> None:
        threads_before = {t.ident for t in threading.enumerate()}
        live.md.subscribe([SYMBOL, OTHER])
        assert live.md.wait_until(lambda: live.synced(SYMBOL) and live.synced(OTHER), 15)
        feed_changes(live, np.random.default_rng(1), 6, first_ts=10)
        live.kill_venue()  # logs every session out, then stops
        assert live.md.wait_until(lambda: live.md.sessions_lost == 1, 15)
        assert live.md.books.is_stale(SYMBOL) and live.md.books.is_stale(OTHER)
        stale = [e for e in live.md.book_events if isinstance(e, InstrumentWentStale)]
        assert {e.symbol for e in stale} == {SYMBOL, OTHER}
        assert all(e.reason == SESSION_LOST for e in stale)

        live.start_venue(seed=5)  # another market, its RptSeq series starts again at 0
        assert live.md.wait_until(lambda: live.synced(SYMBOL) and live.synced(OTHER), 30), (
            "the books never resynced to the restarted venue"
        )
        assert live.md.logons == 2 and live.md.resyncs == 2
        assert live.md.reconnect_delays[0] == 0.05
        recovered = [e for e in live.md.book_events if isinstance(e, InstrumentRecovered)]
        assert {e.symbol for e in recovered} == {SYMBOL, OTHER}
        feed_changes(live, np.random.default_rng(2), 6, first_ts=100)
        assert live.md.total_stats().gaps == 0

        live.md.stop()
        left = [
            t
            for t in threading.enumerate()
            if t.ident not in threads_before and t.name == "emp-fix-reconnect"
        ]
        assert left == [], f"threads left running: {left}"
        # two Logons later, the subscriber's store and logs still hold no password
        leaked = [p for p in (live.root / "md").rglob("*") if p.is_file()
                  and PASSWORD.encode() in p.read_bytes()]  # fmt: skip
        assert leaked == []

        # The recording of both sessions replays to the books the subscriber ended with.
        live.recording.close()
        replay = replayed_books(live.root / "live.fix")
        for symbol in (SYMBOL, OTHER):
            assert replay.state(symbol) is FeedState.LIVE
            assert replay.book(symbol).image() == live.md.books.book(symbol).image()
        assert replay.stats.gaps == 1  # the one hole left where the session was lost

    def test_a_session_that_logs_out_loses_its_subscriptions_at_the_venue(
        self, live: LiveLab
    ) -> None:
        live.md.subscribe([SYMBOL])
        assert live.md.wait_until(live.synced, 15)
        assert live.venue.md_subscriptions(SYMBOL) == 1
        live.md.stop()
        assert live.md.wait_until(lambda: live.venue.md_subscriptions(SYMBOL) == 0, 15)


class TestPriceLevels:
    def test_increments_carry_the_md_price_level_the_subscriber_checks(self, live: LiveLab) -> None:
        live.md.subscribe([SYMBOL, OTHER])
        assert live.md.wait_until(lambda: live.synced(SYMBOL) and live.synced(OTHER), 15)
        feed_changes(live, np.random.default_rng(4), 5, first_ts=10)
        live.recording.close()
        lines = (live.root / "live.fix").read_bytes().splitlines()
        increments = [line for line in lines if b"|35=X|" in line]
        assert increments and all(b"|1023=" in line for line in increments)
        assert live.md.books.stats.inconsistencies == 0


class TestOrderLevel:
    def test_the_subscribers_order_book_aggregates_to_the_venues_book(self, l3: LiveLab) -> None:
        l3.md.subscribe([SYMBOL])
        assert l3.md.wait_until(l3.synced, 15)
        rng = np.random.default_rng(8)
        orders = l3.order_client()
        steps: list[SubmitOrder | CancelOrder | None] = [None] * 12
        steps[3] = SubmitOrder(
            client_order_id="rest1",
            symbol=SYMBOL,
            side=OrderSide.BUY,
            quantity=7,
            order_type=OrderType.LIMIT,
            limit_price=99.99,
        )
        steps[6] = SubmitOrder(
            client_order_id="take1", symbol=SYMBOL, side=OrderSide.BUY, quantity=3
        )
        steps[9] = CancelOrder(
            client_order_id="cxl1",
            orig_client_order_id="rest1",
            symbol=SYMBOL,
            side=OrderSide.BUY,
        )
        for i, step in enumerate(steps):
            before = l3.venue.order_image(SYMBOL)
            if step is None:
                l3.venue.feed(random_book(rng, 10 + i))
            elif isinstance(step, SubmitOrder):
                orders.submit_order(step)
            else:
                orders.cancel_order(step)
            if step is not None:  # the venue's book moves when it has taken the order
                assert l3.md.wait_until(
                    lambda before=before: l3.venue.order_image(SYMBOL) != before, 15
                ), i

            def same_orders() -> bool:
                book = l3.md.books.order_book(SYMBOL)
                return (
                    l3.synced()
                    and book is not None
                    and book.image() == l3.venue.order_image(SYMBOL)
                )

            assert l3.md.wait_until(same_orders, 15), f"the order books differ after step {i}"
            if i == 3:  # our resting bid is in the feed under the venue's OrderID
                book = l3.md.books.order_book(SYMBOL)
                assert book is not None
                (own,) = [q for q in book.queue(0, 99.99) if "-O" in q[0]]
                assert own[1] == 7.0
        book = l3.md.books.order_book(SYMBOL)
        assert isinstance(book, L3Book)
        book.check_invariants()
        assert len(book) > l3.md.books.book(SYMBOL).level_count(0)  # more orders than levels
        assert l3.md.books.stats.gaps == 0 and l3.md.books.stats.inconsistencies == 0

        # The order-level recording replays to the same orders.
        l3.recording.close()
        replay = replayed_books(l3.root / "live.fix")
        replayed = replay.order_book(SYMBOL)
        assert replayed is not None and replayed.image() == book.image()


class TestRefusals:
    def test_wrong_credentials_are_refused_at_logon_and_not_retried(self, live: LiveLab) -> None:
        md = QuickfixMarketData(
            client_session(live.port, "EMP", live.root / "wrong"),
            clock=live.clock,
            instruments=MD_INSTRUMENTS,
            credentials=credentials("not-it"),
            backoff=Backoff(initial_s=0.05, max_s=0.1),
        )
        with md, pytest.raises(MarketDataUnavailable, match="the venue refused our Logon"):
            md.wait_logged_on(5)
        assert md.reconnect_delays == []

    def test_a_venue_without_market_data_refuses_the_request_in_words(self, tmp_path: Path) -> None:
        lab = FixLab(tmp_path)
        try:
            server = lab.server(clients=("EMPMD",))
            md = QuickfixMarketData(
                client_session(server.config.port, "EMPMD", tmp_path / "md"),
                clock=lab.clock,
                instruments=MD_INSTRUMENTS,
                credentials=credentials(),
            )
            lab._stops.append(md.stop)
            md.start()
            md.wait_logged_on(10)
            md.subscribe([SYMBOL])
            assert md.wait_until(lambda: bool(md.refused_requests))
            assert "MsgType" in md.refused_requests[0]
        finally:
            lab.stop_all()


class TestRecording:
    def test_renumbering_keeps_the_message_valid_and_changes_only_its_sequence_number(
        self,
    ) -> None:
        snapshot = MdSnapshot(
            symbol=SYMBOL,
            entries=MdEntries(actions=[0], types=[0], prices=[99.5], sizes=[5.0], symbols=[SYMBOL]),
            seq_num=7,
            ts_ns=1_700_000_000_000_000_000,
            rpt_seq=3,
        )
        raw = encode_md(snapshot, sender_comp_id="EMPSIM", target_comp_id="EMPMD")
        again = decode_market_data(renumbered(raw, 12345))
        assert isinstance(again, MdSnapshot)
        assert again.seq_num == 12345
        assert (again.rpt_seq, list(again.entries.prices)) == (3, [99.5])
        assert renumbered(raw, 7) == raw

    def test_a_new_session_leaves_one_sequence_number_out(self, tmp_path: Path) -> None:
        raws = [
            encode_md(
                MdSnapshot(
                    symbol=SYMBOL,
                    entries=MdEntries(actions=[], types=[], prices=[], sizes=[], symbols=[]),
                    seq_num=40 + i,
                    ts_ns=1_700_000_000_000_000_000,
                ),
                sender_comp_id="EMPSIM",
                target_comp_id="EMPMD",
            )
            for i in range(3)
        ]
        with SessionRecording(tmp_path / "r.fix") as recording:
            recording(raws[0], 1)
            recording(raws[1], 1)
            recording(raws[2], 2)
        lines = (tmp_path / "r.fix").read_bytes().splitlines()
        assert [decode_market_data(normalize_line(x)).seq_num for x in lines] == [1, 2, 4]


class TestDictionary:
    def test_an_order_level_snapshot_keeps_its_entry_ids_through_the_md_dictionary(
        self, tmp_path: Path
    ) -> None:
        body = [(55, SYMBOL), (83, "4"), (268, "2")]
        body += [(269, "0"), (270, "99.5"), (271, "5"), (278, "M1")]
        body += [(269, "1"), (270, "100.5"), (271, "6"), (278, "M2")]
        message = md_message("W", body)
        header = message.getHeader()
        for tag, value in ((49, "EMPSIM"), (56, "EMPMD"), (34, "7"), (52, "20260101-00:00:00")):
            header.setField(quickfix.StringField(tag, value))
        patched = quickfix.DataDictionary(str(md_data_dictionary(tmp_path)))
        parsed = quickfix.Message(message.toString(), patched, True)
        assert parsed.groupCount(268) == 2
        snapshot = decode_market_data(parsed.toString().encode())
        assert isinstance(snapshot, MdSnapshot)
        assert list(snapshot.entries.entry_ids or []) == ["M1", "M2"]
        assert snapshot.rpt_seq == 4
