"""BookSimulatedVenue: bar backtests on the venue simulator's book matching engine."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.adapters.book_sim import BookSimulatedVenue, BookVenueConfig
from emp.adapters.clocks import ManualClock
from emp.domain.bars import Bar
from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder
from emp.domain.errors import InvalidConfiguration
from emp.domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    RejectCode,
)
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.matching import QueueModel, TradePrint
from emp.domain.orders import OrderSide, OrderStatus, OrderType, TimeInForce
from emp.ports.simulated_venue import SimulatedVenuePort

MIN = 60_000_000_000
DAY = 86_400_000_000_000
T0 = 20_000 * DAY  # midnight UTC, so a minute bar's day is known
INSTRUMENTS = InstrumentRegistry([Instrument(symbol="X", tick_size=0.01, lot_size=1.0)])


def bar(i: int, *, open_=100.0, high=100.5, low=99.5, close=100.2, volume=1_000.0, step=MIN) -> Bar:
    return Bar("X", T0 + i * step, open_, high, low, close, volume)


def venue(**config: object) -> BookSimulatedVenue:
    options = {"size_per_level": 100.0, **config}
    return BookSimulatedVenue(INSTRUMENTS, ManualClock(T0), BookVenueConfig(**options))


def market(cid: str, quantity: float, side: OrderSide = OrderSide.BUY) -> SubmitOrder:
    return SubmitOrder(client_order_id=cid, symbol="X", side=side, quantity=quantity)


def limit(
    cid: str,
    quantity: float,
    price: float,
    side: OrderSide = OrderSide.BUY,
    tif: TimeInForce = TimeInForce.DAY,
) -> SubmitOrder:
    return SubmitOrder(
        client_order_id=cid,
        symbol="X",
        side=side,
        quantity=quantity,
        order_type=OrderType.LIMIT,
        limit_price=price,
        time_in_force=tif,
    )


def fills(events: list[OrderEvent], cid: str | None = None) -> list[OrderFilled]:
    return [
        e
        for e in events
        if isinstance(e, OrderFilled) and (cid is None or e.client_order_id == cid)
    ]


def average_price(events: list[OrderFilled]) -> float:
    quantity = sum(e.fill.quantity for e in events)
    return sum(e.fill.quantity * e.fill.price for e in events) / quantity


def run(sim: BookSimulatedVenue, commands: list[SubmitOrder], *bars: Bar) -> list[OrderEvent]:
    """Bar 0, then ``commands`` (decided on its close), then ``bars``; every event."""
    sim.on_bar(bar(0))
    for command in commands:
        sim.submit_order(command)
    events = sim.drain_events()
    for later in bars or (bar(1),):
        sim.on_bar(later)
        events += sim.drain_events()
    return events


class TestThePort:
    def test_the_book_venue_is_a_simulated_venue_port(self):
        assert isinstance(venue(), SimulatedVenuePort)

    def test_an_order_decided_on_a_bar_is_not_answered_before_the_next_bar(self):
        sim = venue()
        sim.on_bar(bar(0))
        sim.submit_order(market("m", 10))
        assert sim.drain_events() == []
        sim.on_bar(bar(1))
        events = sim.drain_events()
        assert isinstance(events[0], OrderAccepted)
        assert events[0].ts_ns == bar(1).ts_ns


class TestDepthWalk:
    def test_a_big_market_order_walks_several_levels_at_a_worse_average_price(self):
        small = fills(run(venue(), [market("small", 50)]))
        big = fills(run(venue(), [market("big", 350)]))
        assert {e.fill.price for e in small} == {100.01}  # the best ask: open + one tick
        assert [e.fill.price for e in big] == [100.01, 100.02, 100.03, 100.04]
        assert [e.fill.quantity for e in big] == [100.0, 100.0, 100.0, 50.0]
        assert average_price(big) > average_price(small)

    def test_a_market_sell_walks_down_the_bids(self):
        sold = fills(run(venue(), [market("s", 250, OrderSide.SELL)]))
        assert [e.fill.price for e in sold] == [100.0, 99.99, 99.98]

    def test_what_the_displayed_depth_cannot_fill_is_canceled(self):
        events = run(venue(levels=3), [market("m", 500)])
        assert sum(e.fill.quantity for e in fills(events)) == 300.0
        assert isinstance(events[-1], OrderCanceled)
        assert "liquidity" in events[-1].reason

    def test_depth_follows_the_bar_volume_when_no_size_is_given(self):
        sim = venue(size_per_level=None, volume_fraction_per_level=0.05)
        got = fills(run(sim, [market("m", 100)], bar(1, volume=1_000.0)))
        assert [e.fill.quantity for e in got] == [50.0, 50.0]  # 5% of 1000 per level

    def test_after_quiet_bars_an_order_meets_the_book_of_the_bar_it_arrives_in(self):
        sim = venue()
        for i in range(6):  # nothing of ours works: these bars need no replay
            sim.on_bar(bar(i, open_=100.0 + i, high=101.0 + i, low=99.0 + i, close=100.5 + i))
        sim.submit_order(market("m", 150))
        sim.on_bar(bar(6, open_=90.0, high=90.5, low=89.5, close=90.2))
        got = fills(sim.drain_events(), "m")
        assert [(e.fill.quantity, e.fill.price) for e in got] == [(100.0, 90.01), (50.0, 90.02)]

    def test_a_wider_spread_costs_a_market_order_more(self):
        narrow = fills(run(venue(spread_ticks=1), [market("m", 10)]))
        wide = fills(run(venue(spread_ticks=4), [market("m", 10)]))
        assert wide[0].fill.price > narrow[0].fill.price


class TestQueue:
    # Bar 1 opens at 100 with 100 displayed at each bid; close >= open, so half the
    # volume first sells down to the low: 100 at 100.00, then the queue at 99.99.
    def passive_fill(self, volume: float, queue: QueueModel = QueueModel.RISK_AVERSE) -> float:
        sim = venue(queue_model=queue)
        events = run(sim, [limit("p", 10, 99.99)], bar(1, low=99.9, volume=volume))
        return sum(e.fill.quantity for e in fills(events, "p"))

    def test_a_passive_order_waits_behind_the_displayed_size(self):
        assert self.passive_fill(volume=2 * 190) == 0.0  # 190 sold: 90 of the 100 ahead

    def test_a_passive_order_fills_once_enough_volume_trades_through(self):
        assert self.passive_fill(volume=2 * 205) == 5.0  # 205 sold: 100 + 100 ahead, 5 ours
        assert self.passive_fill(volume=2 * 300) == 10.0

    def test_at_the_front_of_the_queue_it_fills_on_the_first_trade_at_its_price(self):
        assert self.passive_fill(volume=2 * 110, queue=QueueModel.FRONT) == 10.0

    def quiet_then_sold(self, quiet_close: float) -> float:
        sim = venue()
        quiet = bar(1, low=100.0, high=100.02, close=quiet_close, volume=2.0)
        events = run(sim, [limit("p", 10, 99.99, tif=TimeInForce.GTC)], quiet)
        assert fills(events, "p") == []  # nothing traded at 99.99
        sim.on_bar(bar(2, low=99.9, volume=2 * 205))  # requoted at the open, then sold
        return sum(e.fill.quantity for e in fills(sim.drain_events(), "p"))

    def test_a_passive_order_keeps_its_place_while_its_level_is_requoted(self):
        assert self.quiet_then_sold(quiet_close=100.0) == 5.0  # still 100 ahead

    def test_size_that_leaves_the_level_ahead_of_the_order_moves_it_up(self):
        # The book closes around 100.20: the size at 99.99 leaves, and the next open's
        # size there joins behind the order, which is now first.
        assert self.quiet_then_sold(quiet_close=100.2) == 10.0

    def test_a_trade_print_fed_between_bars_fills_a_resting_order(self):
        sim = venue(queue_model=QueueModel.FRONT)
        quiet = bar(1, low=100.0, close=99.99, volume=2.0)  # closes with 99.99 the best bid
        run(sim, [limit("p", 10, 99.99, tif=TimeInForce.GTC)], quiet)
        print_ = TradePrint(
            symbol="X",
            ts_ns=bar(1).ts_ns + MIN // 2,
            price=99.99,
            quantity=4.0,
            aggressor=OrderSide.SELL,
        )
        sim.feed(print_)
        got = fills(sim.drain_events(), "p")
        assert [(e.fill.quantity, e.ts_ns) for e in got] == [(4.0, print_.ts_ns)]


class TestLatency:
    def test_an_order_reaches_the_engine_only_after_its_entry_latency(self):
        latency = MIN // 2
        events = run(venue(entry_latency_ns=latency), [market("m", 10)])
        arrival = bar(1).ts_ns + latency
        assert events[0] == OrderAccepted(
            client_order_id="m", venue_order_id="BOOK-1", ts_ns=arrival
        )
        assert all(e.ts_ns >= arrival for e in fills(events))

    def test_an_order_slower_than_a_bar_fills_in_a_later_bar(self):
        latency = MIN + MIN // 2
        sim = venue(entry_latency_ns=latency)
        assert run(sim, [market("m", 10)], bar(1)) == []
        sim.on_bar(bar(2))
        got = fills(sim.drain_events(), "m")
        assert got and got[0].ts_ns == bar(1).ts_ns + latency

    def test_reports_come_back_after_the_report_latency(self):
        sim = venue(report_latency_ns=MIN * 2)
        assert run(sim, [market("m", 10)]) == []
        sim.on_bar(bar(2))
        assert sim.drain_events() == []
        sim.on_bar(bar(3))
        events = sim.drain_events()
        assert [type(e) for e in events] == [OrderAccepted, OrderFilled]
        assert events[1].ts_ns == bar(1).ts_ns  # stamped when the engine filled it

    def test_a_late_order_meets_the_book_as_the_bar_left_it(self):
        # The up sweep (two thirds into the bar) clears the asks up to the high; an
        # order arriving after it meets the displayed size that is left.
        early = fills(run(venue(), [market("m", 10)], bar(1, high=100.03)))
        late_sim = venue(entry_latency_ns=(MIN * 5) // 6)
        late = fills(run(late_sim, [market("m", 10)], bar(1, high=100.03)))
        assert late[0].fill.price > early[0].fill.price


class TestDecisionTime:
    def test_an_order_decided_on_a_fed_update_leaves_at_its_time(self):
        from emp.domain.matching import BookSnapshot

        sim = venue(entry_latency_ns=1_000)
        update = BookSnapshot(
            symbol="X", ts_ns=T0 + 5, bids=((99.99, 10.0),), asks=((100.01, 10.0),)
        )
        sim.feed(update)
        sim.submit_order(market("m", 1))
        assert sim.exchange.next_due_ns() == T0 + 5 + 1_000  # on its way, not held

    def test_an_order_decided_on_a_bar_waits_for_the_next_market_input(self):
        from emp.domain.matching import BookSnapshot

        sim = venue()
        update = BookSnapshot(
            symbol="X", ts_ns=T0 + 5, bids=((99.99, 10.0),), asks=((100.01, 10.0),)
        )
        sim.feed(update)
        sim.on_bar(bar(1))  # the latest input is a bar again: a decision on its close
        sim.submit_order(market("m", 1))
        assert sim.exchange.next_due_ns() is None
        sim.on_bar(bar(2))
        assert fills(sim.drain_events(), "m")[0].ts_ns == bar(2).ts_ns


class TestRequests:
    def rest(self, sim: BookSimulatedVenue, tif: TimeInForce = TimeInForce.DAY) -> None:
        run(sim, [limit("p", 10, 99.0, tif=tif)], bar(1))

    def test_a_resting_order_is_canceled_on_request(self):
        sim = venue()
        self.rest(sim)
        sim.cancel_order(
            CancelOrder(
                client_order_id="c", orig_client_order_id="p", symbol="X", side=OrderSide.BUY
            )
        )
        sim.on_bar(bar(2))
        (event,) = sim.drain_events()
        assert isinstance(event, OrderCanceled) and event.client_order_id == "p"
        assert sim.engine.order("p").status is OrderStatus.CANCELED

    def test_a_cancel_of_an_unknown_order_is_rejected(self):
        sim = venue()
        sim.on_bar(bar(0))
        sim.cancel_order(
            CancelOrder(
                client_order_id="c", orig_client_order_id="nope", symbol="X", side=OrderSide.BUY
            )
        )
        sim.on_bar(bar(1))
        (event,) = sim.drain_events()
        assert isinstance(event, OrderCancelRejected) and event.orig_client_order_id == "nope"

    def test_a_replace_moves_the_order_and_the_new_id_can_be_canceled(self):
        sim = venue()
        self.rest(sim)
        sim.replace_order(
            ReplaceOrder(
                client_order_id="p2",
                orig_client_order_id="p",
                symbol="X",
                side=OrderSide.BUY,
                quantity=20,
                limit_price=99.5,
            )
        )
        sim.cancel_order(
            CancelOrder(
                client_order_id="c", orig_client_order_id="p2", symbol="X", side=OrderSide.BUY
            )
        )
        sim.on_bar(bar(2))
        replaced, canceled = sim.drain_events()
        assert replaced == OrderReplaced(
            orig_client_order_id="p",
            client_order_id="p2",
            quantity=20,
            limit_price=99.5,
            ts_ns=bar(2).ts_ns,
        )
        assert isinstance(canceled, OrderCanceled) and canceled.client_order_id == "p2"

    def test_an_order_off_the_lot_grid_is_rejected(self):
        events = run(venue(), [market("m", 1.5)])
        assert [type(e) for e in events] == [OrderRejected]
        assert events[0].code == RejectCode.INCORRECT_QUANTITY

    def test_an_order_for_an_unlisted_symbol_is_rejected_with_the_next_bar(self):
        sim = venue()
        sim.on_bar(bar(0))
        sim.submit_order(
            SubmitOrder(client_order_id="u", symbol="NOPE", side=OrderSide.BUY, quantity=1)
        )
        sim.on_bar(bar(1))
        (event,) = sim.drain_events()
        assert isinstance(event, OrderRejected) and event.code == RejectCode.UNKNOWN_SYMBOL

    def test_a_resting_day_order_expires_when_the_date_changes(self):
        sim = venue()
        self.rest(sim)
        sim.on_bar(bar(2))
        assert sim.drain_events() == []
        sim.on_bar(Bar("X", T0 + DAY, 100, 100.5, 99.5, 100.2, 1_000))
        (event,) = sim.drain_events()
        assert isinstance(event, OrderExpired) and event.ts_ns == T0 + DAY - 1

    def test_a_gtc_order_survives_the_date_change(self):
        sim = venue()
        self.rest(sim, TimeInForce.GTC)
        sim.on_bar(Bar("X", T0 + DAY, 100, 100.5, 99.5, 100.2, 1_000))
        assert sim.drain_events() == []
        assert sim.engine.order("p").status is OrderStatus.NEW


class TestCosts:
    def test_fills_pay_the_bar_venues_commission_formula(self):
        sim = venue(commission_bps=10.0, commission_per_share=0.01, commission_fixed=1.0)
        (filled,) = fills(run(sim, [market("m", 10)]))
        assert filled.fill.fee == pytest.approx(10 * 100.01 * 10 / 10_000 + 0.1 + 1.0)

    def test_the_minimum_commission_applies_to_small_fills(self):
        sim = venue(commission_bps=1.0, min_commission=5.0)
        (filled,) = fills(run(sim, [market("m", 10)]))
        assert filled.fill.fee == 5.0


class TestDeterminism:
    def scenario(self, seed: int) -> list[OrderEvent]:
        sim = venue(
            entry_latency_ns=MIN // 4, report_latency_ns=MIN // 8, latency_sigma=0.8, seed=seed
        )
        sim.on_bar(bar(0))
        events: list[OrderEvent] = []
        for i in range(1, 12):
            sim.submit_order(market(f"m{i}", 30 * i, OrderSide.BUY if i % 2 else OrderSide.SELL))
            sim.submit_order(limit(f"l{i}", 20, 99.99 - 0.01 * (i % 3), tif=TimeInForce.GTC))
            sim.on_bar(bar(i, low=99.9, volume=400.0 + 50 * i))
            events += sim.drain_events()
        return events

    def test_the_same_seed_gives_identical_events(self):
        assert self.scenario(7) == self.scenario(7)
        assert len(self.scenario(7)) > 30

    def test_another_seed_gives_other_timings(self):
        first = [e.ts_ns for e in self.scenario(7)]
        second = [e.ts_ns for e in self.scenario(8)]
        assert first != second


class TestConfiguration:
    @pytest.mark.parametrize(
        "options",
        [
            {"levels": 0},
            {"spread_ticks": 0},
            {"size_per_level": 0.0},
            {"volume_fraction_per_level": 1.5},
            {"entry_latency_ns": -1},
            {"latency_sigma": 0.5},  # log-normal needs medians > 0
            {"commission_bps": float("nan")},
            {"queue_model": "SOMEWHERE"},
            {"bar_duration_ns": -5},
        ],
    )
    def test_invalid_settings_are_refused(self, options):
        with pytest.raises(InvalidConfiguration):
            BookVenueConfig(**options)

    def test_a_queue_model_may_be_named_by_its_value(self):
        assert BookVenueConfig(queue_model="FRONT").queue_model is QueueModel.FRONT


order_specs = st.lists(
    st.tuples(
        st.sampled_from([OrderSide.BUY, OrderSide.SELL]),
        st.integers(min_value=1, max_value=800),
        st.one_of(st.none(), st.integers(min_value=-6, max_value=6)),  # ticks from the open
        st.sampled_from([TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC]),
    ),
    min_size=1,
    max_size=12,
)


class TestInvariants:
    @settings(max_examples=60, deadline=None)
    @given(
        specs=order_specs,
        volumes=st.lists(st.integers(min_value=0, max_value=3_000), min_size=2, max_size=5),
        latency=st.integers(min_value=0, max_value=2 * MIN),
    )
    def test_fills_never_exceed_an_order_and_quantity_is_conserved(self, specs, volumes, latency):
        sim = venue(entry_latency_ns=latency)
        sim.on_bar(bar(0))
        quantities: dict[str, float] = {}
        for n, (side, quantity, offset, tif) in enumerate(specs):
            cid = f"o{n}"
            quantities[cid] = float(quantity)
            if offset is None:
                sim.submit_order(market(cid, quantity, side))
            else:
                sim.submit_order(limit(cid, quantity, round(100 + 0.01 * offset, 2), side, tif))
        events = sim.drain_events()
        for i, volume in enumerate(volumes, start=1):
            sim.on_bar(bar(i, low=99.94, high=100.06, volume=float(volume)))
            events += sim.drain_events()
        filled = {cid: 0.0 for cid in quantities}
        for event in fills(events):
            filled[event.client_order_id] += event.fill.quantity
        for cid, quantity in quantities.items():
            assert filled[cid] <= quantity
            state = sim.engine.order(cid)
            if state is None:  # not yet arrived (latency)
                assert filled[cid] == 0.0
                continue
            assert state.filled_quantity == filled[cid]
            assert state.filled_quantity + state.leaves_quantity == quantity or state.status in (
                OrderStatus.CANCELED,
                OrderStatus.EXPIRED,
            )
            done = [
                e for e in events if e.client_order_id == cid and not isinstance(e, OrderFilled)
            ]
            assert isinstance(done[0], OrderAccepted)
            assert len(done) <= 2  # accepted, then at most one final report


class TestFillLiquidity:
    def test_a_market_order_takes_liquidity_against_the_mid_of_the_book_it_walked(self):
        sim = venue()
        events = run(sim, [market("big", 350)])
        walked = fills(events, "big")
        assert len(walked) == 4
        for event in walked:
            mid, aggressive = sim.fill_liquidity[event.fill.exec_id]
            assert aggressive is True
            assert mid == pytest.approx(100.005)  # the open's ladder: 100.00 / 100.01
            assert event.fill.price > mid  # a buy pays above the mid

    def test_a_resting_order_filled_by_sellers_provided_liquidity(self):
        sim = venue(queue_model=QueueModel.FRONT)
        events = run(sim, [limit("p", 10, 99.99)], bar(1, low=99.9, volume=2 * 110))
        (event,) = fills(events, "p")
        mid, aggressive = sim.fill_liquidity[event.fill.exec_id]
        assert aggressive is False
        assert mid is not None and event.fill.price < mid  # bought below the mid: an edge
