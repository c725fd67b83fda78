"""The simulated venue's direct face: validation, next-bar-open matching, TIF, fees, amends."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emp.adapters.fix_sim import SimulatedVenue, SimulatedVenueConfig
from emp.adapters.fix_sim.matcher import MatchTerms, fill_price
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
from emp.domain.orders import OrderSide, OrderType, TimeInForce
from emp.ports.simulated_venue import SimulatedVenuePort
from emp.ports.venue import VenuePort
from tests.fakes.clock import FakeClock

T0 = 1_700_000_000_000_000_000
MINUTE = 60_000_000_000
BUY, SELL = OrderSide.BUY, OrderSide.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET


def registry() -> InstrumentRegistry:
    return InstrumentRegistry(
        [
            Instrument(symbol="AAPL", tick_size=0.01, lot_size=1.0),
            Instrument(symbol="ES", tick_size=0.25, lot_size=1.0),
            Instrument(symbol="BLOCK", tick_size=0.01, lot_size=100.0),
        ]
    )


def make_venue(**config: float | None) -> tuple[SimulatedVenue, FakeClock]:
    clock = FakeClock(T0)
    return SimulatedVenue(registry(), clock, SimulatedVenueConfig(**config)), clock


def bar(i: int, o: float, h: float, low: float, c: float, v: float = 1e6, symbol="AAPL") -> Bar:
    return Bar(symbol, T0 + i * MINUTE, o, h, low, c, v)


def submit(cl_id: str = "C1", **overrides: object) -> SubmitOrder:
    terms: dict = {
        "client_order_id": cl_id,
        "symbol": "AAPL",
        "side": BUY,
        "quantity": 100.0,
        "order_type": MARKET,
        "limit_price": None,
        "time_in_force": TimeInForce.GTC,
    }
    terms.update(overrides)
    return SubmitOrder(**terms)


def limit(cl_id: str, side: OrderSide, price: float, **overrides: object) -> SubmitOrder:
    return submit(cl_id, side=side, order_type=LIMIT, limit_price=price, **overrides)


def cancel(orig: str, cl_id: str = "X1", **overrides: object) -> CancelOrder:
    terms: dict = {
        "client_order_id": cl_id,
        "orig_client_order_id": orig,
        "symbol": "AAPL",
        "side": BUY,
    }
    terms.update(overrides)
    return CancelOrder(**terms)


def replace(
    orig: str, new: str, quantity: float, price: float | None, **kw: object
) -> ReplaceOrder:
    terms: dict = {
        "client_order_id": new,
        "orig_client_order_id": orig,
        "symbol": "AAPL",
        "side": BUY,
        "quantity": quantity,
        "limit_price": price,
    }
    terms.update(kw)
    return ReplaceOrder(**terms)


def fills(events: list[OrderEvent]) -> list[tuple[float, float]]:
    """(quantity, price) of every fill, in order."""
    return [(e.fill.quantity, e.fill.price) for e in events if isinstance(e, OrderFilled)]


def kinds(events: list[OrderEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


class TestPorts:
    def test_it_is_a_simulated_venue_and_a_venue(self) -> None:
        venue, _ = make_venue()
        assert isinstance(venue, SimulatedVenuePort)
        assert isinstance(venue, VenuePort)


class TestSubmissionValidation:
    def test_a_valid_order_is_accepted_with_a_venue_id_at_clock_time(self) -> None:
        venue, clock = make_venue()
        clock.advance_to(T0 + 5)
        venue.submit_order(submit("C1"))
        assert venue.drain_events() == [
            OrderAccepted(client_order_id="C1", venue_order_id="SIM-1", ts_ns=T0 + 5)
        ]

    @pytest.mark.parametrize(
        ("command", "code", "words"),
        [
            (submit(symbol="TSLA"), RejectCode.UNKNOWN_SYMBOL, "unknown symbol 'TSLA'"),
            (submit(quantity=0.0), RejectCode.INCORRECT_QUANTITY, "greater than 0"),
            (submit(quantity=-5.0), RejectCode.INCORRECT_QUANTITY, "greater than 0"),
            (submit(quantity=math.nan), RejectCode.INCORRECT_QUANTITY, "greater than 0"),
            (submit(quantity=10.5), RejectCode.INCORRECT_QUANTITY, "lot size"),
            (submit(symbol="BLOCK", quantity=150.0), RejectCode.INCORRECT_QUANTITY, "lot size"),
            (limit("C1", BUY, 100.005), RejectCode.INVALID_PRICE_INCREMENT, "tick size"),
            (limit("C1", BUY, 0.0), RejectCode.INVALID_PRICE_INCREMENT, "> 0"),
            (limit("C1", BUY, -1.0), RejectCode.INVALID_PRICE_INCREMENT, "> 0"),
            (limit("C1", BUY, 100.1, symbol="ES"), RejectCode.INVALID_PRICE_INCREMENT, "tick"),
            (submit(limit_price=100.0), RejectCode.UNSUPPORTED_CHARACTERISTIC, "MARKET"),
            (submit(order_type=LIMIT), RejectCode.UNSUPPORTED_CHARACTERISTIC, "LIMIT"),
        ],
    )
    def test_an_invalid_order_is_rejected_with_its_fix_reason_code(
        self, command: SubmitOrder, code: int, words: str
    ) -> None:
        venue, _ = make_venue()
        venue.submit_order(command)
        [event] = venue.drain_events()
        assert isinstance(event, OrderRejected)
        assert (event.client_order_id, event.code, event.ts_ns) == ("C1", code, T0)
        assert words in event.reason

    def test_a_reused_client_order_id_is_rejected_as_duplicate(self) -> None:
        venue, _ = make_venue()
        venue.submit_order(submit("C1"))
        venue.submit_order(submit("C1"))
        events = venue.drain_events()
        assert isinstance(events[1], OrderRejected)
        assert events[1].code == RejectCode.DUPLICATE_ORDER

    def test_an_id_freed_by_a_replace_cannot_be_reused(self) -> None:
        venue, _ = make_venue()
        venue.submit_order(limit("C1", BUY, 99.0))
        venue.replace_order(replace("C1", "C2", 100.0, 98.0))
        venue.submit_order(submit("C1"))
        rejected = venue.drain_events()[-1]
        assert isinstance(rejected, OrderRejected)
        assert rejected.code == RejectCode.DUPLICATE_ORDER

    def test_a_rejected_order_never_trades_and_uses_no_venue_id(self) -> None:
        venue, _ = make_venue()
        venue.submit_order(submit("BAD", quantity=-1.0))
        venue.submit_order(submit("C1"))
        venue.on_bar(bar(0, 100, 101, 99, 100))
        events = venue.drain_events()
        assert events[1] == OrderAccepted(client_order_id="C1", venue_order_id="SIM-1", ts_ns=T0)
        assert [e.client_order_id for e in events if isinstance(e, OrderFilled)] == ["C1"]


class TestNextBarOpen:
    def test_an_order_never_fills_on_the_bar_current_when_it_was_sent(self) -> None:
        venue, _ = make_venue()
        venue.on_bar(bar(0, 100, 105, 95, 101))
        venue.submit_order(submit("C1"))
        venue.on_bar(bar(0, 100, 105, 95, 101))  # the same bar again
        assert fills(venue.drain_events()) == []
        venue.on_bar(bar(1, 102, 103, 101, 102))
        assert fills(venue.drain_events()) == [(100.0, 102.0)]

    def test_fills_carry_the_bar_time_and_deterministic_ids(self) -> None:
        venue, _ = make_venue()
        venue.submit_order(submit("C1"))
        venue.submit_order(submit("C2", side=SELL, quantity=30.0))
        venue.drain_events()
        venue.on_bar(bar(1, 50, 51, 49, 50))
        first, second = venue.drain_events()
        assert isinstance(first, OrderFilled)
        assert isinstance(second, OrderFilled)
        assert (first.fill.exec_id, first.fill.client_order_id, first.ts_ns) == (
            "SIM-E1",
            "C1",
            T0 + MINUTE,
        )
        assert (second.fill.exec_id, second.fill.side, second.fill.quantity) == ("SIM-E2", SELL, 30)

    def test_bars_of_another_symbol_do_not_touch_the_order(self) -> None:
        venue, _ = make_venue()
        venue.submit_order(submit("C1"))
        venue.on_bar(bar(1, 4000, 4001, 3999, 4000, symbol="ES"))
        assert venue.drain_events()[1:] == []
        venue.on_bar(bar(1, 100, 101, 99, 100))
        assert fills(venue.drain_events()) == [(100.0, 100.0)]

    def test_a_filled_order_does_not_fill_again(self) -> None:
        venue, _ = make_venue()
        venue.submit_order(submit("C1"))
        venue.on_bar(bar(1, 100, 101, 99, 100))
        venue.on_bar(bar(2, 100, 101, 99, 100))
        assert len(fills(venue.drain_events())) == 1


class TestMarketOrders:
    def test_slippage_moves_buys_up_and_sells_down_from_the_open(self) -> None:
        venue, _ = make_venue(slippage_bps=10.0)
        venue.submit_order(submit("B"))
        venue.submit_order(submit("S", side=SELL))
        venue.on_bar(bar(1, 200.0, 201, 199, 200))
        assert fills(venue.drain_events()) == [
            (100.0, 200.0 * (1 + 10 / 10_000)),
            (100.0, 200.0 * (1 - 10 / 10_000)),
        ]


class TestLimitOrders:
    @pytest.mark.parametrize(
        ("side", "price", "the_bar", "expected"),
        [
            (BUY, 100.0, bar(1, 99.5, 101, 99, 100), 99.5),  # open through the limit
            (BUY, 100.0, bar(1, 100.0, 101, 99, 100), 100.0),  # open at the limit
            (BUY, 100.0, bar(1, 101.0, 102, 99.9, 101), 100.0),  # only the low touches
            (BUY, 100.0, bar(1, 101.0, 102, 100.01, 101), None),  # never reached
            (SELL, 100.0, bar(1, 100.5, 101, 99, 100), 100.5),
            (SELL, 100.0, bar(1, 99.0, 100.2, 98, 99), 100.0),
            (SELL, 100.0, bar(1, 99.0, 99.99, 98, 99), None),
        ],
    )
    def test_limit_fill_price_rules(self, side, price, the_bar, expected) -> None:
        venue, _ = make_venue(slippage_bps=50.0)  # limit orders never slip
        venue.submit_order(limit("C1", side, price))
        venue.on_bar(the_bar)
        got = fills(venue.drain_events())
        assert got == ([] if expected is None else [(100.0, expected)])

    def test_an_unreached_gtc_limit_keeps_working_until_reached(self) -> None:
        venue, _ = make_venue()
        venue.submit_order(limit("C1", BUY, 95.0))
        for i in range(1, 4):
            venue.on_bar(bar(i, 100, 101, 99, 100))
        venue.on_bar(bar(4, 100, 101, 94, 96))
        events = venue.drain_events()
        assert kinds(events) == ["OrderAccepted", "OrderFilled"]
        assert fills(events) == [(100.0, 95.0)]

    @given(
        side=st.sampled_from([BUY, SELL]),
        lo=st.floats(1.0, 1000.0),
        spread=st.floats(0.0, 100.0),
        open_at=st.floats(0.0, 1.0),
        limit_at=st.floats(-0.5, 1.5),
    )
    def test_a_limit_order_never_trades_through_its_limit_or_outside_the_bar(
        self, side, lo, spread, open_at, limit_at
    ) -> None:
        hi = lo + spread
        the_bar = Bar("AAPL", T0, lo + (hi - lo) * open_at, hi, lo, lo, 1e6)
        limit_price = max(lo + (hi - lo) * limit_at, 0.01)
        terms = MatchTerms(side, LIMIT, limit_price, TimeInForce.GTC, 1.0)
        price = fill_price(terms, the_bar, slippage_bps=25.0)
        if price is None:
            reachable = lo <= limit_price if side is BUY else hi >= limit_price
            assert not reachable
            return
        assert lo <= price <= hi
        assert price <= limit_price if side is BUY else price >= limit_price


class TestParticipationCap:
    def test_the_cap_splits_an_order_into_partial_fills_until_complete(self) -> None:
        venue, _ = make_venue(max_volume_participation=0.1)
        venue.submit_order(submit("C1", quantity=250.0))
        for i in range(1, 5):
            venue.on_bar(bar(i, 100 + i, 110, 90, 100, v=1000))
        events = venue.drain_events()
        assert fills(events) == [(100.0, 101.0), (100.0, 102.0), (50.0, 103.0)]
        assert kinds(events) == ["OrderAccepted", "OrderFilled", "OrderFilled", "OrderFilled"]

    def test_the_cap_is_rounded_down_to_the_lot_size(self) -> None:
        venue, _ = make_venue(max_volume_participation=0.15)
        venue.submit_order(submit("C1", symbol="BLOCK", quantity=300.0))
        venue.on_bar(bar(1, 10, 11, 9, 10, v=1000, symbol="BLOCK"))
        assert fills(venue.drain_events()) == [(100.0, 10.0)]

    def test_a_bar_too_thin_for_one_lot_fills_nothing(self) -> None:
        venue, _ = make_venue(max_volume_participation=0.1)
        venue.submit_order(submit("C1", symbol="BLOCK", quantity=100.0))
        venue.on_bar(bar(1, 10, 11, 9, 10, v=999, symbol="BLOCK"))
        assert fills(venue.drain_events()) == []


class TestTimeInForce:
    def test_a_day_order_expires_after_its_first_eligible_bar(self) -> None:
        venue, _ = make_venue()
        venue.on_bar(bar(0, 100, 101, 99, 100))
        venue.submit_order(limit("C1", BUY, 90.0, time_in_force=TimeInForce.DAY))
        venue.on_bar(bar(1, 100, 101, 99, 100))
        venue.on_bar(bar(2, 100, 101, 80, 100))  # would have filled
        events = venue.drain_events()
        assert events[1:] == [OrderExpired(client_order_id="C1", ts_ns=T0 + MINUTE)]

    def test_a_partly_filled_day_order_expires_the_rest(self) -> None:
        venue, _ = make_venue(max_volume_participation=0.1)
        venue.submit_order(submit("C1", quantity=250.0, time_in_force=TimeInForce.DAY))
        venue.on_bar(bar(1, 100, 101, 99, 100, v=1000))
        events = venue.drain_events()
        assert kinds(events) == ["OrderAccepted", "OrderFilled", "OrderExpired"]
        assert fills(events) == [(100.0, 100.0)]

    def test_a_gtc_order_works_across_bars(self) -> None:
        venue, _ = make_venue(max_volume_participation=0.01)
        venue.submit_order(submit("C1", quantity=30.0, time_in_force=TimeInForce.GTC))
        for i in range(1, 5):
            venue.on_bar(bar(i, 100, 101, 99, 100, v=1000))
        events = venue.drain_events()
        assert fills(events) == [(10.0, 100.0)] * 3
        assert not any(isinstance(e, OrderExpired | OrderCanceled) for e in events)

    def test_ioc_fills_what_it_can_on_its_first_bar_and_cancels_the_rest(self) -> None:
        venue, _ = make_venue(max_volume_participation=0.1)
        venue.submit_order(submit("C1", quantity=250.0, time_in_force=TimeInForce.IOC))
        venue.on_bar(bar(1, 100, 101, 99, 100, v=1000))
        venue.on_bar(bar(2, 100, 101, 99, 100, v=1000))
        events = venue.drain_events()
        assert kinds(events) == ["OrderAccepted", "OrderFilled", "OrderCanceled"]
        assert fills(events) == [(100.0, 100.0)]
        assert events[2].ts_ns == T0 + MINUTE

    def test_an_unreached_ioc_limit_is_canceled_without_a_fill(self) -> None:
        venue, _ = make_venue()
        venue.submit_order(limit("C1", BUY, 90.0, time_in_force=TimeInForce.IOC))
        venue.on_bar(bar(1, 100, 101, 99, 100))
        assert kinds(venue.drain_events()) == ["OrderAccepted", "OrderCanceled"]

    def test_fok_is_canceled_entirely_when_the_bar_cannot_fill_it(self) -> None:
        venue, _ = make_venue(max_volume_participation=0.1)
        venue.submit_order(submit("C1", quantity=250.0, time_in_force=TimeInForce.FOK))
        venue.on_bar(bar(1, 100, 101, 99, 100, v=1000))
        events = venue.drain_events()
        assert kinds(events) == ["OrderAccepted", "OrderCanceled"]
        assert isinstance(events[1], OrderCanceled)
        assert "FOK" in events[1].reason

    def test_fok_fills_completely_when_the_bar_can(self) -> None:
        venue, _ = make_venue(max_volume_participation=0.1)
        venue.submit_order(submit("C1", quantity=100.0, time_in_force=TimeInForce.FOK))
        venue.on_bar(bar(1, 100, 101, 99, 100, v=1000))
        events = venue.drain_events()
        assert kinds(events) == ["OrderAccepted", "OrderFilled"]
        assert fills(events) == [(100.0, 100.0)]


class TestFees:
    def test_fee_is_bps_of_notional_plus_per_share(self) -> None:
        venue, _ = make_venue(commission_bps=2.0, commission_per_share=0.005)
        venue.submit_order(submit("C1", quantity=100.0))
        venue.on_bar(bar(1, 50.0, 51, 49, 50))
        [fill] = [e.fill for e in venue.drain_events() if isinstance(e, OrderFilled)]
        assert fill.fee == pytest.approx(2.0 * 5000.0 / 10_000 + 0.005 * 100, rel=1e-12)

    def test_minimum_commission_applies_to_each_fill(self) -> None:
        venue, _ = make_venue(
            commission_per_share=0.001, min_commission=1.0, max_volume_participation=0.1
        )
        venue.submit_order(submit("C1", quantity=200.0))
        venue.on_bar(bar(1, 50.0, 51, 49, 50, v=1000))
        venue.on_bar(bar(2, 50.0, 51, 49, 50, v=1000))
        fees = [e.fill.fee for e in venue.drain_events() if isinstance(e, OrderFilled)]
        assert fees == [1.0, 1.0]

    def test_no_fee_by_default(self) -> None:
        venue, _ = make_venue()
        venue.submit_order(submit("C1"))
        venue.on_bar(bar(1, 50.0, 51, 49, 50))
        assert [e.fill.fee for e in venue.drain_events() if isinstance(e, OrderFilled)] == [0.0]


class TestCancel:
    def test_a_working_order_is_canceled_and_no_longer_trades(self) -> None:
        venue, clock = make_venue()
        venue.submit_order(submit("C1"))
        clock.advance_to(T0 + 7)
        venue.cancel_order(cancel("C1"))
        venue.on_bar(bar(1, 100, 101, 99, 100))
        events = venue.drain_events()
        assert kinds(events) == ["OrderAccepted", "OrderCanceled"]
        assert (events[1].client_order_id, events[1].ts_ns) == ("C1", T0 + 7)

    def test_canceling_an_unknown_order_is_rejected(self) -> None:
        venue, _ = make_venue()
        venue.cancel_order(cancel("NOPE", cl_id="X9"))
        [event] = venue.drain_events()
        assert isinstance(event, OrderCancelRejected)
        assert (event.client_order_id, event.orig_client_order_id) == ("X9", "NOPE")
        assert "unknown order" in event.reason

    @pytest.mark.parametrize("end", ["filled", "canceled", "expired"])
    def test_canceling_a_finished_order_is_rejected(self, end: str) -> None:
        venue, _ = make_venue()
        tif = TimeInForce.DAY if end == "expired" else TimeInForce.GTC
        venue.submit_order(limit("C1", BUY, 100.0 if end == "filled" else 1.0, time_in_force=tif))
        if end == "canceled":
            venue.cancel_order(cancel("C1", cl_id="X0"))
        venue.on_bar(bar(1, 100, 101, 99, 100))
        venue.drain_events()
        venue.cancel_order(cancel("C1"))
        [event] = venue.drain_events()
        assert isinstance(event, OrderCancelRejected)
        assert "already" in event.reason

    def test_a_cancel_naming_the_wrong_side_is_rejected(self) -> None:
        venue, _ = make_venue()
        venue.submit_order(submit("C1"))
        venue.cancel_order(cancel("C1", side=SELL))
        assert isinstance(venue.drain_events()[-1], OrderCancelRejected)


class TestReplace:
    def test_a_working_order_continues_under_its_new_id_and_terms(self) -> None:
        venue, clock = make_venue()
        venue.submit_order(limit("C1", BUY, 90.0))
        clock.advance_to(T0 + 3)
        venue.replace_order(replace("C1", "C2", 50.0, 100.0))
        venue.on_bar(bar(1, 99.0, 101, 98, 100))
        events = venue.drain_events()
        assert events[1] == OrderReplaced(
            orig_client_order_id="C1",
            client_order_id="C2",
            quantity=50.0,
            limit_price=100.0,
            ts_ns=T0 + 3,
        )
        [fill] = [e.fill for e in events if isinstance(e, OrderFilled)]
        assert (fill.client_order_id, fill.quantity, fill.price) == ("C2", 50.0, 99.0)

    def test_a_partly_filled_order_can_grow_and_keeps_its_fills(self) -> None:
        venue, _ = make_venue(max_volume_participation=0.1)
        venue.submit_order(submit("C1", quantity=150.0))
        venue.on_bar(bar(1, 100, 101, 99, 100, v=1000))
        venue.replace_order(replace("C1", "C2", 300.0, None))
        for i in range(2, 6):
            venue.on_bar(bar(i, 100, 101, 99, 100, v=1000))
        assert [q for q, _ in fills(venue.drain_events())] == [100.0, 100.0, 100.0]

    @pytest.mark.parametrize(
        ("command", "words"),
        [
            (replace("C1", "C2", 40.0, 95.0), "filled quantity"),
            (replace("C1", "C2", 150.5, 95.0), "lot size"),
            (replace("C1", "C2", 200.0, 95.001), "tick size"),
            (replace("C1", "C2", 200.0, None), "LIMIT order needs"),
            (replace("C1", "C1", 200.0, 95.0), "already used"),
            (replace("NOPE", "C2", 200.0, 95.0), "unknown order"),
            (replace("C1", "C2", 200.0, 95.0, symbol="ES"), "request names"),
        ],
    )
    def test_an_invalid_replace_is_rejected_and_leaves_the_order_alone(
        self, command: ReplaceOrder, words: str
    ) -> None:
        venue, _ = make_venue(max_volume_participation=0.05)
        venue.submit_order(limit("C1", BUY, 100.0))
        venue.on_bar(bar(1, 100, 101, 99, 100, v=1000))  # fills 50 of 100
        venue.drain_events()
        venue.replace_order(command)
        [event] = venue.drain_events()
        assert isinstance(event, OrderCancelRejected)
        assert words in event.reason
        venue.on_bar(bar(2, 100, 101, 99, 100, v=1000))
        [after] = venue.drain_events()
        assert isinstance(after, OrderFilled)
        assert after.fill.client_order_id == "C1"

    def test_the_old_id_is_dead_after_a_replace(self) -> None:
        venue, _ = make_venue()
        venue.submit_order(limit("C1", BUY, 90.0))
        venue.replace_order(replace("C1", "C2", 100.0, 91.0))
        venue.cancel_order(cancel("C1"))
        event = venue.drain_events()[-1]
        assert isinstance(event, OrderCancelRejected)
        assert "replaced by 'C2'" in event.reason

    def test_a_market_order_cannot_be_given_a_price(self) -> None:
        venue, _ = make_venue()
        venue.submit_order(submit("C1"))
        venue.replace_order(replace("C1", "C2", 50.0, 100.0))
        event = venue.drain_events()[-1]
        assert isinstance(event, OrderCancelRejected)
        assert "MARKET" in event.reason


def scenario(venue: SimulatedVenue) -> list[OrderEvent]:
    venue.submit_order(submit("A", quantity=300.0))
    venue.submit_order(limit("B", SELL, 101.0))
    venue.on_bar(bar(1, 100, 102, 99, 101, v=1000))
    venue.replace_order(replace("B", "B2", 50.0, 102.0, side=SELL))
    venue.on_bar(bar(2, 101, 103, 100, 102, v=1000))
    return venue.drain_events()


class TestDeterminism:
    def test_the_same_inputs_give_the_same_events_and_ids(self) -> None:
        first = scenario(make_venue(max_volume_participation=0.2, commission_bps=1.0)[0])
        second = scenario(make_venue(max_volume_participation=0.2, commission_bps=1.0)[0])
        assert first == second
        exec_ids = [e.fill.exec_id for e in first if isinstance(e, OrderFilled)]
        assert exec_ids == [f"SIM-E{i}" for i in range(1, len(exec_ids) + 1)]
        venue_ids = [e.venue_order_id for e in first if isinstance(e, OrderAccepted)]
        assert venue_ids == ["SIM-1", "SIM-2"]

    def test_drain_returns_each_event_once(self) -> None:
        venue, _ = make_venue()
        venue.submit_order(submit("C1"))
        assert len(venue.drain_events()) == 1
        assert venue.drain_events() == []


class TestConfig:
    def test_defaults_charge_nothing_and_cap_nothing(self) -> None:
        config = SimulatedVenueConfig()
        assert (config.commission_bps, config.slippage_bps, config.max_volume_participation) == (
            0.0,
            0.0,
            None,
        )

    @pytest.mark.parametrize(
        "bad",
        [
            {"commission_bps": -1.0},
            {"commission_per_share": math.nan},
            {"min_commission": math.inf},
            {"slippage_bps": -0.1},
            {"slippage_bps": 10_000.0},
            {"max_volume_participation": 0.0},
            {"max_volume_participation": 1.5},
            {"max_volume_participation": math.nan},
        ],
    )
    def test_out_of_range_values_raise_invalid_configuration(self, bad: dict) -> None:
        with pytest.raises(InvalidConfiguration):
            SimulatedVenueConfig(**bad)

    def test_it_is_frozen_and_keyword_only(self) -> None:
        config = SimulatedVenueConfig(commission_bps=1.0)
        with pytest.raises(dataclasses.FrozenInstanceError):
            config.commission_bps = 2.0  # type: ignore[misc]
        with pytest.raises(TypeError):
            SimulatedVenueConfig(1.0)  # type: ignore[misc]
