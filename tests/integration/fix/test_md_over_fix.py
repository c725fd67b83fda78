"""Market data over a real quickfix session: the served venue publishes W/X, EMP's
QuickfixMarketData subscribes and keeps its books equal to the venue's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import quickfix

from emp.adapters.clocks import SystemClock
from emp.adapters.fix_codec.md_session import decode_market_data
from emp.adapters.fix_quickfix import (
    QuickfixVenue,
)
from emp.adapters.fix_quickfix.config import installed_data_dictionary
from emp.adapters.fix_quickfix.md_publisher import (
    MarketDataVenueServer,
    md_data_dictionary,
    md_message,
)
from emp.adapters.fix_quickfix.md_subscriber import QuickfixMarketData
from emp.domain.books import FeedState
from emp.domain.commands import CancelOrder, SubmitOrder
from emp.domain.errors import InvalidConfiguration
from emp.domain.market_data import (
    InstrumentRecovered,
    InstrumentWentStale,
    MdIncrement,
    MdRequestRejected,
)
from emp.domain.orders import OrderSide, OrderType
from emp.ports.market_data import MarketDataPort
from tests.integration.fix.conftest import free_port
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


class MdLab:
    def __init__(self, root: Path) -> None:
        self.clock = SystemClock()
        self.root = root
        self._clients: list[QuickfixVenue] = []
        self.port = port = free_port()
        self.server = MarketDataVenueServer(
            md_venue_config(port, root / "venue"),
            instruments=INSTRUMENTS,
            clock=self.clock,
            initial_market=[random_book(np.random.default_rng(0), 1)],
        )
        self.server.start()
        self.md = QuickfixMarketData(
            client_session(port, "EMPMD", root / "md"),
            clock=self.clock,
            instruments=MD_INSTRUMENTS,
            credentials=credentials(),
        )
        self.md.start()
        self.md.wait_logged_on(10)

    def order_client(self) -> QuickfixVenue:
        """EMP's order session to the same venue (stopped with the lab)."""
        venue = QuickfixVenue(
            client_session(self.port, "EMP", self.root / "orders"),
            clock=self.clock,
            credentials=credentials(),
        )
        self._clients.append(venue)
        venue.start()
        venue.wait_logged_on(10)
        return venue

    def synced(self, symbol: str = SYMBOL) -> bool:
        books = self.md.books
        return (
            symbol in books.symbols
            and not books.is_stale(symbol)
            and books.book(symbol).image() == self.server.book_image(symbol)
        )

    def stop(self) -> None:
        try:
            for client in self._clients:
                client.stop()
            self.md.stop()
        finally:
            self.server.stop()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[MdLab]:
    lab = MdLab(tmp_path)
    try:
        yield lab
    finally:
        lab.stop()


class TestSubscription:
    def test_the_subscriber_is_a_market_data_port(self, lab: MdLab) -> None:
        assert isinstance(lab.md, MarketDataPort)

    def test_the_subscribers_book_equals_the_venues_after_every_change(self, lab: MdLab) -> None:
        lab.md.subscribe([SYMBOL])
        assert lab.md.wait_until(lab.synced), "the first snapshot never matched the venue"
        rng = np.random.default_rng(42)
        for i in range(40):
            lab.server.feed(random_book(rng, 10 + i))
            assert lab.md.wait_until(lab.synced), f"the book differs after change {i}"
            book = lab.md.books.book(SYMBOL)
            venue = lab.server.book_image(SYMBOL)
            assert book.bbo() == (venue[0][0][0], venue[0][0][1], venue[1][0][0], venue[1][0][1])
        assert lab.md.books.stats.gaps == 0
        assert lab.md.books.stats.quarantined == 0

    def test_two_books_in_one_request_each_follow_their_own_venue_book(self, lab: MdLab) -> None:
        lab.md.subscribe([SYMBOL, OTHER])
        assert lab.md.wait_until(lambda: lab.synced(SYMBOL) and lab.synced(OTHER))
        assert lab.md.books.book(OTHER).image() == ((), ())  # an empty book's snapshot
        rng = np.random.default_rng(11)
        for i in range(10):
            symbol = (SYMBOL, OTHER)[i % 2]
            lab.server.feed(random_book(rng, 400 + i, symbol))
            assert lab.md.wait_until(lambda: lab.synced(SYMBOL) and lab.synced(OTHER)), (
                f"the books differ after change {i} of {symbol}"
            )
        assert lab.md.books.stats.gaps == 0

    def test_own_orders_resting_filling_and_cancelled_reach_the_subscribers_book(
        self, lab: MdLab
    ) -> None:
        lab.md.subscribe([SYMBOL])
        assert lab.md.wait_until(lab.synced)
        orders = lab.order_client()
        start = lab.server.book_image(SYMBOL)
        first_bid, (best_ask, first_ask_size) = start[0][0][0], start[1][0]
        assert first_bid < 99.99
        seen_bids: list[tuple[float, float]] = []
        steps = [
            SubmitOrder(
                client_order_id="rest1",
                symbol=SYMBOL,
                side=OrderSide.BUY,
                quantity=7,
                order_type=OrderType.LIMIT,
                limit_price=99.99,
            ),
            SubmitOrder(client_order_id="take1", symbol=SYMBOL, side=OrderSide.BUY, quantity=2),
            CancelOrder(
                client_order_id="cxl1",
                orig_client_order_id="rest1",
                symbol=SYMBOL,
                side=OrderSide.BUY,
            ),
        ]
        for step in steps:
            before = lab.server.book_image(SYMBOL)
            if isinstance(step, SubmitOrder):
                orders.submit_order(step)
            else:
                orders.cancel_order(step)
            assert lab.md.wait_until(lambda b=before: lab.server.book_image(SYMBOL) != b), (
                f"the venue's book did not change after {step.client_order_id}"
            )
            assert lab.md.wait_until(lab.synced), f"the book differs after {step.client_order_id}"
            best = lab.md.books.book(SYMBOL).best_bid()
            if step.client_order_id == "rest1" and best is not None:
                seen_bids.append((best.price, best.size))
        bid_px, _, ask_px, ask_size = lab.md.books.book(SYMBOL).bbo()
        assert (bid_px, ask_px) == (first_bid, best_ask)
        assert ask_size == first_ask_size - 2  # the market buy took two lots
        assert seen_bids == [(99.99, 7.0)]

    def test_an_unknown_symbol_is_answered_with_a_request_reject(self, lab: MdLab) -> None:
        request_id = lab.md.subscribe(["NOPE"])
        assert lab.md.wait_until(lambda: bool(lab.md.rejects)), "no 35=Y arrived"
        (reject,) = lab.md.rejects
        assert isinstance(reject, MdRequestRejected)
        assert reject.request_id == request_id
        assert reject.reason_code == 0
        assert "NOPE" in reject.text

    def test_unsubscribing_stops_the_updates(self, lab: MdLab) -> None:
        request_id = lab.md.subscribe([SYMBOL])
        assert lab.md.wait_until(lab.synced)
        assert lab.server.md_subscriptions(SYMBOL) == 1
        lab.md.unsubscribe(request_id)
        assert lab.md.wait_until(lambda: lab.server.md_subscriptions(SYMBOL) == 0)
        sent = lab.server.md_messages_sent("EMPMD")
        rng = np.random.default_rng(7)
        for i in range(5):
            lab.server.feed(random_book(rng, 100 + i))
        assert lab.server.md_messages_sent("EMPMD") == sent
        assert lab.md.books.book(SYMBOL).image() != lab.server.book_image(SYMBOL)


class TestGapRecovery:
    def test_a_dropped_increment_makes_the_book_stale_then_a_snapshot_recovers_it(
        self, lab: MdLab
    ) -> None:
        lab.md.subscribe([SYMBOL])
        assert lab.md.wait_until(lab.synced)
        rng = np.random.default_rng(3)
        lab.server.drop_next_increment(SYMBOL)
        lab.server.feed(random_book(rng, 200))  # this X is lost
        lab.server.feed(random_book(rng, 201))  # this one reveals the gap
        assert lab.md.wait_until(lab.synced), "the book never recovered"
        kinds = [type(e) for e in lab.md.book_events]
        assert InstrumentWentStale in kinds
        assert InstrumentRecovered in kinds
        assert kinds.index(InstrumentWentStale) < kinds.index(InstrumentRecovered)
        assert lab.md.books.stats.gaps >= 1
        assert lab.md.books.state(SYMBOL) is FeedState.LIVE
        for i in range(5):
            lab.server.feed(random_book(rng, 300 + i))
            assert lab.md.wait_until(lab.synced), f"the book differs after change {i}"


_X_BODY = [
    (262, "r1"),
    (268, "2"),
    (279, "0"),
    (269, "0"),
    (55, SYMBOL),
    (270, "99.5"),
    (271, "5"),
    (83, "1"),
    (1023, "1"),
    (279, "2"),
    (269, "1"),
    (55, SYMBOL),
    (270, "100.5"),
    (271, "0"),
    (83, "2"),
]


def _x_text() -> str:
    message = md_message("X", _X_BODY)
    header = message.getHeader()
    for tag, value in ((49, "EMPSIM"), (56, "EMPMD"), (34, "7"), (52, "20260101-00:00:00")):
        header.setField(quickfix.StringField(tag, value))
    return message.toString()


class TestMarketDataDictionary:
    def test_the_stock_dictionary_splits_an_increment_group_at_rpt_seq(self) -> None:
        stock = quickfix.DataDictionary(str(installed_data_dictionary()))
        assert quickfix.Message(_x_text(), stock, True).groupCount(268) == 1

    def test_the_md_dictionary_keeps_rpt_seq_and_price_level_in_the_group(
        self, tmp_path: Path
    ) -> None:
        patched = quickfix.DataDictionary(str(md_data_dictionary(tmp_path)))
        parsed = quickfix.Message(_x_text(), patched, True)
        assert parsed.groupCount(268) == 2
        message = decode_market_data(parsed.toString().encode())
        assert isinstance(message, MdIncrement)
        assert list(message.entries.rpt_seqs or []) == [1, 2]
        assert list(message.entries.prices) == [99.5, 100.5]
        assert message.entries.levels is not None and message.entries.levels[0] == 1

    def test_a_dictionary_that_is_not_fix44_is_refused(self, tmp_path: Path) -> None:
        other = tmp_path / "other.xml"
        other.write_text("<fix major='5'></fix>")
        with pytest.raises(InvalidConfiguration, match="FIX 4.4 dictionary"):
            md_data_dictionary(tmp_path / "out", other)
