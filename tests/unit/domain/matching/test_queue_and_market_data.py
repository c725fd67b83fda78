"""Liquidity from market data: displayed size, trade prints, queue position, bar replay."""

from __future__ import annotations

import numpy as np
import pytest

from emp.domain.bars import Bar
from emp.domain.matching import (
    BookSnapshot,
    InvalidMarketData,
    QueueModel,
    SyntheticLiquidity,
    TradePrint,
    bar_updates,
)
from emp.domain.orders import OrderSide, OrderStatus
from tests.unit.domain.matching.builders import (
    BUY,
    INSTRUMENT,
    SELL,
    SYMBOL,
    book,
    engine,
    fills,
    limit,
)


def _print(quantity: float, price: float, aggressor=SELL, ts_ns: int = 5) -> TradePrint:
    return TradePrint(
        symbol=SYMBOL, ts_ns=ts_ns, price=price, quantity=quantity, aggressor=aggressor
    )


def _resting_bid_behind(model: QueueModel, displayed: float = 100):
    venue = engine(model)
    venue.apply(book(bids=((99.0, displayed),), asks=((99.01, 100),)))
    venue.submit(limit("own", BUY, 10, 99.0), now_ns=1)
    return venue


class TestQueuePosition:
    def test_an_own_order_queues_behind_the_size_displayed_when_it_arrived(self):
        venue = _resting_bid_behind(QueueModel.RISK_AVERSE)
        assert fills(venue.apply(_print(100, 99.0))) == []
        assert fills(venue.apply(_print(4, 99.0))) == [(4.0, 99.0)]

    def test_the_front_model_fills_the_own_order_on_the_first_trade(self):
        venue = _resting_bid_behind(QueueModel.FRONT)
        assert fills(venue.apply(_print(4, 99.0))) == [(4.0, 99.0)]

    def test_risk_averse_size_that_disappears_is_taken_from_behind(self):
        venue = _resting_bid_behind(QueueModel.RISK_AVERSE)
        venue.apply(book(bids=((99.0, 150),), asks=((99.01, 100),)))  # +50 behind us
        venue.apply(book(bids=((99.0, 60),), asks=((99.01, 100),)))  # 90 canceled
        # 50 joined behind and left first; 40 of the 100 ahead left too: 60 remain ahead.
        assert fills(venue.apply(_print(60, 99.0))) == []
        assert fills(venue.apply(_print(1, 99.0))) == [(1.0, 99.0)]

    def test_proportional_cancels_move_the_own_order_forward(self):
        venue = _resting_bid_behind(QueueModel.PROPORTIONAL)
        venue.apply(book(bids=((99.0, 200),), asks=((99.01, 100),)))  # 100 ahead, 100 behind
        venue.apply(book(bids=((99.0, 100),), asks=((99.01, 100),)))  # 100 canceled: 50/50
        assert fills(venue.apply(_print(51, 99.0))) == [(1.0, 99.0)]

    def test_a_trade_print_through_the_level_fills_the_own_order_at_its_price(self):
        venue = _resting_bid_behind(QueueModel.RISK_AVERSE)
        reports = venue.apply(_print(500, 98.5))
        assert fills(reports) == [(10.0, 99.0)]
        assert reports[-1].state.status is OrderStatus.FILLED


class TestSnapshots:
    def test_displayed_size_sets_the_depth(self):
        venue = engine()
        venue.apply(book(bids=((99.0, 100), (98.99, 50)), asks=((99.01, 70),)))
        assert venue.book(SYMBOL).depth(BUY) == [(9900, 100), (9899, 50)]
        venue.apply(book(bids=((98.99, 20),), asks=()))
        assert venue.book(SYMBOL).depth(BUY) == [(9899, 20)]
        assert venue.book(SYMBOL).depth(SELL) == []

    def test_new_asks_through_an_own_bid_fill_it_at_its_limit(self):
        venue = engine()
        venue.submit(limit("own", BUY, 30, 100.0), now_ns=1)
        reports = venue.apply(book(asks=((99.95, 10), (100.0, 10), (100.05, 10)), ts_ns=9))
        assert fills(reports) == [(10.0, 100.0), (10.0, 100.0)]
        assert reports[-1].event.ts_ns == 9
        assert venue.book(SYMBOL).is_crossed() is False
        assert venue.book(SYMBOL).best_ask() == 10005

    @pytest.mark.parametrize(
        "snapshot",
        [
            book(bids=((99.005, 10),)),
            book(bids=((99.0, -1),)),
            book(bids=((99.0, 10),), asks=((99.0, 10),)),
            book(bids=((98.0, 10), (99.0, 10))),
            BookSnapshot(symbol="NOPE", ts_ns=0),
        ],
    )
    def test_malformed_market_data_is_refused(self, snapshot):
        with pytest.raises(InvalidMarketData):
            engine().apply(snapshot)


class TestSources:
    def test_synthetic_liquidity_replays_exactly_under_the_same_seed(self):
        def run(seed: int):
            source = SyntheticLiquidity(INSTRUMENT, np.random.default_rng(seed), start_price=50)
            return [u for t in range(20) for u in source.step(t)]

        assert run(3) == run(3)
        assert run(3) != run(4)

    def test_synthetic_snapshots_are_never_crossed_and_lie_on_the_tick_grid(self):
        source = SyntheticLiquidity(INSTRUMENT, np.random.default_rng(1), start_price=50)
        venue = engine()
        for t in range(200):
            for update in source.step(t):
                venue.apply(update)
            assert not venue.book(SYMBOL).is_crossed()

    def test_a_bar_fills_a_resting_bid_inside_its_range_and_not_one_below_it(self):
        venue = engine()
        venue.submit(limit("inside", BUY, 10, 99.5), now_ns=0)
        venue.submit(limit("below", BUY, 10, 98.0), now_ns=0)
        bar = Bar(symbol=SYMBOL, ts_ns=10, open=100, high=101, low=99, close=100.5, volume=1000)
        reports = [r for u in bar_updates(bar, INSTRUMENT, levels=3) for r in venue.apply(u)]
        assert fills(reports, "inside") == [(10.0, 99.5)]
        assert fills(reports, "below") == []
        assert all(r.event.ts_ns == 10 for r in reports)

    def test_a_bar_replay_leaves_a_book_around_the_close(self):
        venue = engine()
        bar = Bar(symbol=SYMBOL, ts_ns=10, open=100, high=101, low=99, close=100.5, volume=1000)
        for update in bar_updates(bar, INSTRUMENT, levels=2, size_per_level=30):
            venue.apply(update)
        assert venue.book(SYMBOL).depth(OrderSide.BUY) == [(10050, 30), (10049, 30)]
        assert venue.book(SYMBOL).depth(OrderSide.SELL) == [(10051, 30), (10052, 30)]
