"""Market replay smoke test: a recorded day of book data through the whole core loop.

A seeded L2 feed for one 6.5-hour session (3,000 FIX 35=W/X messages) is recorded to a file
with the FIX codec, then replayed: file → :class:`FileReplayMarketData` →
:class:`BookSynchronizer` (the book) → :class:`BookFrameRecorder` and ``depth_features``
(causal features) → an order-book-imbalance strategy → the :class:`RiskManager` → the
domain :class:`MatchingEngine` (market IOC orders walk the displayed book) → the portfolio
and trade log. Invariants are checked after every message and every fill.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from emp.adapters.fix_codec.md_encode import encode_md
from emp.adapters.md_replay import FileReplayMarketData, write_raw_messages
from emp.domain.books import BookSynchronizer
from emp.domain.commands import SubmitOrder
from emp.domain.events import OrderFilled, OrderRejected
from emp.domain.features.how import BookFrameRecorder, depth_features
from emp.domain.instruments import InstrumentRegistry
from emp.domain.market_data import EntryType, SnapshotRequested
from emp.domain.matching import BookSnapshot, MatchingConfig, MatchingEngine
from emp.domain.orders import OrderSide, OrderType, TimeInForce
from emp.domain.portfolio import Portfolio
from emp.domain.risk import AccountSnapshot, MaxPosition, RiskCheckInput, RiskManager
from emp.domain.strategy import OrderIntent
from emp.domain.trades import TradeLog
from tests.unit.domain.books.streams import INSTRUMENT, T0, increment_of, l2_stream, snapshot_of

SYMBOL = INSTRUMENT.symbol
INSTRUMENTS = InstrumentRegistry([INSTRUMENT])
MESSAGES = 3_000
SESSION_NS = int(6.5 * 3600 * 1e9)
DECIDE_EVERY = 20  # messages
UNITS, CAP = 100.0, 150.0
THRESHOLD = 0.1
CASH = 1_000_000.0


def record_day(path) -> None:
    """The recording: a snapshot of an empty book, then the day's increments."""
    messages, _ = l2_stream(np.random.default_rng(2026), MESSAGES)
    raws = [
        encode_md(
            snapshot_of(((), ()), seq_num=1, ts_ns=T0, rpt_seq=0),
            sender_comp_id="V",
            target_comp_id="E",
        )
    ]
    rpt = 1
    for i, message in enumerate(messages):
        increment = increment_of(
            message, seq_num=i + 2, ts_ns=T0 + (i + 1) * (SESSION_NS // MESSAGES), first_rpt=rpt
        )
        raws.append(encode_md(increment, sender_comp_id="V", target_comp_id="E"))
        rpt += len(message[0])
    write_raw_messages(path, raws)


class Loop:
    """The core loop with its invariants (one instrument)."""

    def __init__(self) -> None:
        self.sync = BookSynchronizer(INSTRUMENTS)
        self.frames = BookFrameRecorder(depth=5)
        self.venue = MatchingEngine(INSTRUMENTS, MatchingConfig(commission_bps=1.0))
        self.risk = RiskManager(rules=[MaxPosition(CAP)])
        self.portfolio = Portfolio(CASH)
        self.trades = TradeLog()
        self.fills: list = []
        self.decisions = self.refused = self.sequence = 0
        self.traded_cash = 0.0  # Σ signed quantity × price, to check cash independently

    def on_message(self, message, port: FileReplayMarketData) -> None:
        self.sync.on_message(message)
        for event in self.sync.drain_events():
            if isinstance(event, SnapshotRequested):
                port.request_snapshot(event.symbol)
        ts = message.ts_ns
        book = self.sync.book(SYMBOL)
        stale = self.sync.is_stale(SYMBOL)
        self.frames.record(ts, book, stale=stale)
        bids = tuple((lv.price, lv.size) for lv in book.depth(EntryType.BID, 10))
        asks = tuple((lv.price, lv.size) for lv in book.depth(EntryType.OFFER, 10))
        self.check_book(bids, asks)
        # displayed liquidity for the venue; own orders are IOC, so nothing of ours rests
        assert self.venue.apply(BookSnapshot(symbol=SYMBOL, ts_ns=ts, bids=bids, asks=asks)) == []
        if bids and asks:
            self.portfolio.mark(SYMBOL, (bids[0][0] + asks[0][0]) / 2.0)
        if self.sync.stats.messages % DECIDE_EVERY == 0 and not stale and bids and asks:
            self.decide(ts, bids, asks)
        self.check_account()

    def decide(self, ts: int, bids: tuple, asks: tuple) -> None:
        self.decisions += 1
        account = AccountSnapshot.from_portfolio(self.portfolio, ts_ns=ts)
        assert self.risk.on_bar(account) == ()
        features = depth_features(self.frames.frames(), [ts])
        imbalance = float(features["imbalance"][0])
        if math.isnan(imbalance):
            return
        position = self.portfolio.quantity(SYMBOL)
        target = UNITS if imbalance > THRESHOLD else -UNITS if imbalance < -THRESHOLD else position
        if target == position:
            return
        side = OrderSide.BUY if target > position else OrderSide.SELL
        intent = OrderIntent(symbol=SYMBOL, side=side, quantity=abs(target - position))
        mid = (bids[0][0] + asks[0][0]) / 2.0
        decision = self.risk.check(
            RiskCheckInput(
                intent=intent,
                position=position,
                open_buy_quantity=0.0,
                open_sell_quantity=0.0,
                reference_price=mid,
                equity=self.portfolio.equity,
                strategy="imbalance",
                ts_ns=ts,
                lot_size=INSTRUMENT.lot_size,
                context=self.risk.context,
            )
        )
        if not decision.approved:
            self.refused += 1
            return
        self.sequence += 1
        command = SubmitOrder(
            client_order_id=f"imb-{self.sequence}",
            symbol=SYMBOL,
            side=side,
            quantity=decision.quantity_for(intent.quantity),
            order_type=OrderType.MARKET,
            time_in_force=TimeInForce.IOC,
            strategy="imbalance",
            ts_ns=ts,
        )
        reports = self.venue.submit(command, now_ns=ts)
        assert not any(isinstance(r.event, OrderRejected) for r in reports)
        filled = [r.event.fill for r in reports if isinstance(r.event, OrderFilled)]
        self.check_walk(side, command.quantity, filled, bids if side is OrderSide.SELL else asks)
        for fill in filled:
            realized = self.portfolio.apply_fill(fill)
            self.trades.record(fill, realized, self.portfolio.quantity(SYMBOL))
            self.fills.append(fill)
            self.traded_cash += fill.signed_quantity * fill.price

    # ---------------------------------------------------------------- invariants
    @staticmethod
    def check_book(bids: tuple, asks: tuple) -> None:
        assert all(size > 0 for _, size in bids + asks)
        assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True)
        assert [p for p, _ in asks] == sorted(p for p, _ in asks)
        if bids and asks:
            assert bids[0][0] < asks[0][0], "the book is locked or crossed"

    @staticmethod
    def check_walk(side: OrderSide, quantity: float, fills: list, levels: tuple) -> None:
        """A market order walks the displayed levels best first, never beyond their size."""
        displayed = dict(levels)
        prices = [f.price for f in fills]
        assert prices == (sorted(prices) if side is OrderSide.BUY else sorted(prices)[::-1])
        for fill in fills:
            assert fill.price in displayed
            assert fill.quantity <= displayed[fill.price] + 1e-9
            assert fill.fee == pytest.approx(fill.quantity * fill.price * 1.0 / 10_000)
        assert sum(f.quantity for f in fills) <= min(quantity, sum(displayed.values())) + 1e-9

    def check_account(self) -> None:
        portfolio = self.portfolio
        position = portfolio.quantity(SYMBOL)
        assert position == pytest.approx(sum(f.signed_quantity for f in self.fills))
        assert abs(position) <= CAP
        assert portfolio.cash == pytest.approx(CASH - self.traded_cash - portfolio.fees_paid)
        identity = CASH + portfolio.realized_pnl + portfolio.unrealized_pnl - portfolio.fees_paid
        assert portfolio.equity == pytest.approx(identity, rel=1e-12)


def test_a_recorded_day_runs_through_book_features_strategy_risk_venue_and_portfolio(tmp_path):
    path = tmp_path / "abc-day.fix"
    record_day(path)
    port = FileReplayMarketData(path)
    loop = Loop()
    while not port.exhausted:
        for message in port.drain_events(limit=64):
            loop.on_message(message, port)
    assert loop.sync.stats.messages == MESSAGES + 1 and loop.sync.stats.gaps == 0
    assert loop.decisions == MESSAGES // DECIDE_EVERY
    assert len(loop.fills) >= 6 and len(loop.trades.closed) >= 3
    assert loop.venue.open_orders() == []  # IOC: nothing of ours is left resting
    # the features were causal: recomputed from the whole day, the values at a decision
    # time equal those the strategy saw then (frames after it never change them)
    frames = loop.frames.frames()
    at = frames.ts_ns[:: DECIDE_EVERY * 5]
    whole = depth_features(frames, at)["imbalance"]
    partial = [depth_features(frames.until(t), [t])["imbalance"][0] for t in at.tolist()]
    np.testing.assert_array_equal(whole, np.asarray(partial))
