"""The simulated venue's backtest options: close-of-bar fills, fixed commission, spread."""

from __future__ import annotations

import pytest

from emp.adapters.fix_sim import FillModel, MockFixVenue, SimulatedVenue, SimulatedVenueConfig
from emp.domain.bars import Bar
from emp.domain.commands import SubmitOrder
from emp.domain.errors import InvalidConfiguration
from emp.domain.events import OrderExpired, OrderFilled
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.orders import OrderSide, OrderType, TimeInForce
from tests.fakes.clock import FakeClock

T0 = 1_700_000_000_000_000_000
MINUTE = 60_000_000_000


def venue(face=SimulatedVenue, **config):
    clock = FakeClock(T0)
    instruments = InstrumentRegistry([Instrument(symbol="AAA", tick_size=0.01)])
    return face(instruments, clock, SimulatedVenueConfig(**config)), clock


def bar(i: int, o: float, h: float, low: float, c: float, v: float = 1e6) -> Bar:
    return Bar("AAA", T0 + i * MINUTE, o, h, low, c, v)


def order(cl_id="C1", side=OrderSide.BUY, qty=100.0, price=None, tif=TimeInForce.DAY):
    kind = OrderType.MARKET if price is None else OrderType.LIMIT
    return SubmitOrder(
        client_order_id=cl_id,
        symbol="AAA",
        side=side,
        quantity=qty,
        order_type=kind,
        limit_price=price,
        time_in_force=tif,
    )


def fills(events) -> list[tuple[float, float, int]]:
    return [
        (e.fill.quantity, e.fill.price, e.fill.ts_ns) for e in events if isinstance(e, OrderFilled)
    ]


class TestCloseOfBarFills:
    @pytest.mark.parametrize("face", [SimulatedVenue, MockFixVenue])
    def test_a_market_order_sent_during_a_bar_fills_at_its_close_at_once(self, face):
        sim, _ = venue(face, fill_model="close")
        sim.on_bar(bar(0, 100, 102, 99, 101))
        sim.submit_order(order())
        assert fills(sim.drain_events()) == [(100.0, 101.0, T0)]
        sim.on_bar(bar(1, 105, 106, 104, 105))
        assert fills(sim.drain_events()) == []  # filled once, never again

    def test_next_open_is_the_default_and_waits_for_the_next_bar(self):
        sim, _ = venue()
        assert sim.config.fill_model is FillModel.NEXT_OPEN
        sim.on_bar(bar(0, 100, 102, 99, 101))
        sim.submit_order(order())
        assert fills(sim.drain_events()) == []
        sim.on_bar(bar(1, 105, 106, 104, 105))
        assert fills(sim.drain_events()) == [(100.0, 105.0, T0 + MINUTE)]

    def test_an_order_before_any_bar_waits_for_the_first_bar_open(self):
        sim, _ = venue(fill_model="close")
        sim.submit_order(order())
        sim.on_bar(bar(0, 100, 102, 99, 101))
        assert fills(sim.drain_events()) == [(100.0, 100.0, T0)]

    def test_slippage_and_half_the_spread_move_a_close_fill_against_the_trader(self):
        sim, _ = venue(fill_model="close", slippage_bps=10.0, spread_bps=20.0)
        sim.on_bar(bar(0, 100, 102, 99, 100))
        sim.submit_order(order("B"))
        sim.submit_order(order("S", side=OrderSide.SELL))
        (buy, sell) = fills(sim.drain_events())
        assert buy[1] == pytest.approx(100 * (1 + 20 / 10_000))
        assert sell[1] == pytest.approx(100 * (1 - 20 / 10_000))

    def test_an_unmarketable_day_limit_at_the_close_expires(self):
        sim, _ = venue(fill_model="close")
        sim.on_bar(bar(0, 100, 102, 99, 101))
        sim.submit_order(order(price=100.0))
        events = sim.drain_events()
        assert fills(events) == [] and isinstance(events[-1], OrderExpired)

    def test_an_unmarketable_gtc_limit_works_on_later_bars(self):
        sim, _ = venue(fill_model="close")
        sim.on_bar(bar(0, 100, 102, 99, 101))
        sim.submit_order(order(price=100.0, tif=TimeInForce.GTC))
        assert fills(sim.drain_events()) == []
        sim.on_bar(bar(1, 101, 101, 99.5, 100.5))
        assert fills(sim.drain_events()) == [(100.0, 100.0, T0 + MINUTE)]

    def test_the_participation_cap_applies_to_the_close_bar(self):
        sim, _ = venue(fill_model="close", max_volume_participation=0.1)
        sim.on_bar(bar(0, 100, 102, 99, 101, v=500))
        sim.submit_order(order(qty=100, tif=TimeInForce.GTC))
        assert fills(sim.drain_events()) == [(50.0, 101.0, T0)]

    def test_an_unknown_fill_model_is_refused(self):
        with pytest.raises(InvalidConfiguration, match="next_open, close"):
            SimulatedVenueConfig(fill_model="vwap")


class TestCosts:
    def test_a_fixed_commission_is_added_to_every_fill(self):
        sim, _ = venue(commission_bps=1.0, commission_fixed=2.5)
        sim.submit_order(order())
        sim.on_bar(bar(0, 100, 102, 99, 101))
        (event,) = [e for e in sim.drain_events() if isinstance(e, OrderFilled)]
        assert event.fill.fee == pytest.approx(100 * 100 * 1e-4 + 2.5)

    def test_the_minimum_commission_still_floors_the_total(self):
        sim, _ = venue(commission_fixed=1.0, min_commission=5.0)
        sim.submit_order(order())
        sim.on_bar(bar(0, 100, 102, 99, 101))
        (event,) = [e for e in sim.drain_events() if isinstance(e, OrderFilled)]
        assert event.fill.fee == 5.0

    def test_market_orders_cross_half_the_spread_at_the_open(self):
        sim, _ = venue(spread_bps=10.0)
        sim.submit_order(order())
        sim.on_bar(bar(0, 100, 102, 99, 101))
        assert fills(sim.drain_events())[0][1] == pytest.approx(100.05)

    def test_limit_orders_do_not_pay_the_spread(self):
        sim, _ = venue(spread_bps=10.0)
        sim.submit_order(order(price=100.0))
        sim.on_bar(bar(0, 100, 102, 99, 101))
        assert fills(sim.drain_events())[0][1] == 100.0

    @pytest.mark.parametrize(
        "field, value",
        [("commission_fixed", -1.0), ("spread_bps", float("nan")), ("spread_bps", 20_000.0)],
    )
    def test_invalid_costs_are_refused(self, field, value):
        with pytest.raises(InvalidConfiguration, match="spread_bps|commission_fixed"):
            SimulatedVenueConfig(**{field: value})
