"""Book updates inside the bar event engine: merge order, book-walking fills, latency,
risk refusals, equity marks and determinism (emp.app.engine_book)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emp.adapters.book_sim import BookSimulatedVenue, BookVenueConfig
from emp.adapters.clocks import ManualClock
from emp.app.engine import BarEventEngine, RunResult
from emp.domain.bars import Bar, BarSeries
from emp.domain.errors import StrategyError, UnknownInstrument
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.matching import BookSnapshot, InvalidMarketData, MarketUpdate, TradePrint
from emp.domain.orders import OrderSide, OrderStatus, OrderType, TimeInForce
from emp.domain.risk import MaxPosition, RiskManager
from emp.domain.strategies.book_imbalance import BookImbalance, imbalance
from emp.domain.strategy import OrderIntent, Strategy, StrategyContext
from tests.fakes.venue import FakeNextOpenVenue

SYMBOL = "ABC"
MS = 1_000_000
T0 = 1_700_000_000_000_000_000
INSTRUMENTS = InstrumentRegistry([Instrument(symbol=SYMBOL, tick_size=0.01)])


def book(ts: int, asks: Sequence[tuple[float, float]], bids=((99.99, 100.0),)) -> BookSnapshot:
    return BookSnapshot(symbol=SYMBOL, ts_ns=ts, bids=tuple(bids), asks=tuple(asks))


def market(side: OrderSide, quantity: float) -> OrderIntent:
    return OrderIntent(
        symbol=SYMBOL,
        side=side,
        quantity=quantity,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.IOC,
    )


class Recorder(Strategy):
    """Logs every event it sees; ``script(n, update, ctx)`` decides on the n-th update."""

    name = "recorder"

    def __init__(
        self,
        script: Callable[[int, MarketUpdate, StrategyContext], Sequence[OrderIntent]] | None = None,
    ) -> None:
        self.script = script
        self.seen: list[tuple[str, int]] = []
        self.positions: list[float] = []
        self._n = 0

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Sequence[OrderIntent]:
        self.seen.append(("bar", bar.ts_ns))
        return ()

    def on_book(self, update: MarketUpdate, ctx: StrategyContext) -> Sequence[OrderIntent]:
        self.seen.append(("book", update.ts_ns))
        self.positions.append(ctx.position(update.symbol))
        n, self._n = self._n, self._n + 1
        assert ctx.ts_ns == update.ts_ns
        return self.script(n, update, ctx) if self.script is not None else ()


def on_first(intent: OrderIntent):
    return lambda n, update, ctx: [intent] if n == 0 else []


def run_book(
    strategy: Strategy,
    updates: Sequence[MarketUpdate],
    *,
    bars: dict[str, BarSeries] | None = None,
    config: BookVenueConfig | None = None,
    risk: RiskManager | None = None,
    cash: float = 1_000_000.0,
) -> RunResult:
    clock = ManualClock(0)
    engine = BarEventEngine(
        bars=bars or {},
        instruments=INSTRUMENTS,
        strategy=strategy,
        risk=risk or RiskManager(),
        venue=BookSimulatedVenue(INSTRUMENTS, clock, config),
        clock=clock,
        initial_cash=cash,
        book_updates=updates,
    )
    return engine.run()


def bars_at(times: Sequence[int], price: float = 100.0) -> dict[str, BarSeries]:
    n = len(times)
    return {
        SYMBOL: BarSeries.from_arrays(
            SYMBOL,
            ts_ns=list(times),
            open=np.full(n, price),
            high=np.full(n, price + 1),
            low=np.full(n, price - 1),
            close=np.full(n, price),
            volume=np.full(n, 1_000.0),
        )
    }


ASKS = ((100.01, 50.0), (100.02, 50.0), (100.03, 100.0))


class TestMergeOrder:
    def test_updates_at_or_before_a_bar_come_before_that_bars_step(self):
        strategy = Recorder()
        bar_times = [T0 + 10, T0 + 20, T0 + 30]
        updates = [book(T0 + t, ASKS) for t in (5, 10, 15, 30, 35)]
        clock = ManualClock(0)
        result = BarEventEngine(
            bars=bars_at(bar_times),
            instruments=INSTRUMENTS,
            strategy=strategy,
            risk=RiskManager(),
            venue=FakeNextOpenVenue(),
            clock=clock,
            initial_cash=1_000.0,
            book_updates=updates,
        ).run()
        assert strategy.seen == [
            ("book", T0 + 5),
            ("book", T0 + 10),
            ("bar", T0 + 10),
            ("book", T0 + 15),
            ("bar", T0 + 20),
            ("book", T0 + 30),
            ("bar", T0 + 30),
            ("book", T0 + 35),
        ]
        assert (result.ts_ns - T0).tolist() == [5, 10, 15, 20, 30, 35]

    def test_updates_sharing_a_time_give_one_equity_point(self):
        updates = [book(T0, ASKS), book(T0, ASKS), book(T0 + 1, ASKS)]
        result = run_book(Recorder(), updates)
        assert (result.ts_ns - T0).tolist() == [0, 1]

    def test_bars_with_an_empty_update_stream_give_the_bar_loops_result(self):
        def buy_first(n, bar, ctx):
            return [market(OrderSide.BUY, 5)] if n == 0 else []

        class BarBuyer(Strategy):
            name = "bar_buyer"

            def __init__(self) -> None:
                self.n = 0

            def on_bar(self, bar, ctx):
                self.n += 1
                return buy_first(self.n - 1, bar, ctx)

        times = [T0 + i * MS for i in range(6)]
        results = []
        for updates in (None, []):
            clock = ManualClock(0)
            results.append(
                BarEventEngine(
                    bars=bars_at(times),
                    instruments=INSTRUMENTS,
                    strategy=BarBuyer(),
                    risk=RiskManager(),
                    venue=FakeNextOpenVenue(),
                    clock=clock,
                    initial_cash=1_000.0,
                    book_updates=updates,
                ).run()
            )
        plain, merged = results
        np.testing.assert_array_equal(plain.ts_ns, merged.ts_ns)
        np.testing.assert_array_equal(plain.equity, merged.equity)
        assert [f.price for f in plain.fills] == [f.price for f in merged.fills]

    def test_updates_out_of_time_order_are_refused(self):
        with pytest.raises(InvalidMarketData, match="time order"):
            run_book(Recorder(), [book(T0 + 2, ASKS), book(T0 + 1, ASKS)])

    def test_an_update_for_an_unknown_instrument_is_refused(self):
        stray = BookSnapshot(symbol="XYZ", ts_ns=T0, bids=(), asks=())
        with pytest.raises(UnknownInstrument):
            run_book(Recorder(), [stray])

    def test_a_strategy_raising_in_on_book_is_a_strategy_error_naming_the_update(self):
        def boom(n, update, ctx):
            raise ValueError("bad book")

        with pytest.raises(StrategyError, match=r"on_book on ABC BookSnapshot at ts_ns="):
            run_book(Recorder(boom), [book(T0, ASKS)])


class TestBookWalkingFills:
    def test_a_market_order_decided_on_an_update_walks_that_update_s_book(self):
        later = ((100.05, 30.0), (100.06, 40.0), (100.08, 100.0))
        updates = [book(T0, ASKS), book(T0 + MS, later), book(T0 + 2 * MS, later)]
        strategy = Recorder(on_first(market(OrderSide.BUY, 120)))
        result = run_book(strategy, updates)
        # sent at the update's time (no latency): it meets that book, best first, before
        # the next update replaces it
        assert [(f.price, f.quantity) for f in result.fills] == [
            (100.01, 50.0),
            (100.02, 50.0),
            (100.03, 20.0),
        ]
        assert result.fills[0].ts_ns == T0
        assert strategy.positions == [0.0, 120.0, 120.0]
        assert result.portfolio.quantity(SYMBOL) == 120.0
        assert result.orders[0].status is OrderStatus.FILLED

    def test_what_the_displayed_depth_cannot_fill_is_canceled(self):
        updates = [book(T0, ASKS), book(T0 + MS, ASKS)]
        result = run_book(Recorder(on_first(market(OrderSide.BUY, 500))), updates)
        assert sum(f.quantity for f in result.fills) == 200.0
        assert result.orders[0].status is OrderStatus.CANCELED

    def test_the_entry_latency_decides_which_book_the_order_meets(self):
        config = BookVenueConfig(entry_latency_ns=5 * MS)
        books = [
            book(T0, ASKS),  # the order is decided now, leaves now, arrives at +5 ms
            book(T0 + 1 * MS, ASKS),
            book(T0 + 3 * MS, ((101.00, 500.0),)),  # in force when it arrives
            book(T0 + 11 * MS, ((102.00, 500.0),)),
        ]
        strategy = Recorder(on_first(market(OrderSide.BUY, 10)))
        result = run_book(strategy, books, config=config)
        assert [(f.price, f.quantity) for f in result.fills] == [(101.00, 10.0)]
        assert result.fills[0].ts_ns == T0 + 5 * MS
        assert strategy.positions == [0.0, 0.0, 0.0, 10.0]

    def test_a_trade_print_marks_the_position_and_the_equity_curve(self):
        updates = [
            book(T0, ASKS),
            book(T0 + MS, ASKS),
            TradePrint(
                symbol=SYMBOL, ts_ns=T0 + 2 * MS, price=101.0, quantity=1, aggressor=OrderSide.BUY
            ),
        ]
        result = run_book(Recorder(on_first(market(OrderSide.BUY, 10))), updates)
        cost = 10 * 100.01
        assert result.equity.tolist() == pytest.approx(
            [1_000_000.0, 1_000_000.0 - cost + 10 * 100.0, 1_000_000.0 - cost + 10 * 101.0]
        )
        # the middle point: marked at the mid of (99.99, 100.01)

    def test_a_risk_refusal_rejects_the_order_before_the_venue(self):
        updates = [book(T0, ASKS), book(T0 + MS, ASKS)]
        result = run_book(
            Recorder(on_first(market(OrderSide.BUY, 120))),
            updates,
            risk=RiskManager(rules=[MaxPosition(100)]),
        )
        assert result.fills == []
        assert result.risk_rejections == 1
        assert result.orders[0].status is OrderStatus.REJECTED
        assert "max_position" in (result.orders[0].reject_reason or "")

    def test_an_order_with_no_price_to_check_against_is_rejected_by_risk(self):
        one_sided = BookSnapshot(symbol=SYMBOL, ts_ns=T0, bids=(), asks=ASKS)
        result = run_book(Recorder(on_first(market(OrderSide.BUY, 1))), [one_sided])
        assert result.risk_rejections == 1 and result.fills == []

    def test_the_same_inputs_and_seed_give_the_same_run(self):
        config = BookVenueConfig(entry_latency_ns=MS, report_latency_ns=MS, latency_sigma=0.5)
        rng = np.random.default_rng(7)
        updates = [
            book(T0 + i * MS, ((100.01 + 0.01 * int(rng.integers(0, 5)), 40.0), (100.10, 500.0)))
            for i in range(60)
        ]

        def flip(n, update, ctx):
            if n % 7:
                return []
            side = OrderSide.SELL if ctx.position(SYMBOL) > 0 else OrderSide.BUY
            return [market(side, 25)]

        first = run_book(Recorder(flip), updates, config=config)
        second = run_book(Recorder(flip), updates, config=config)
        assert [(f.ts_ns, f.price, f.quantity) for f in first.fills] == [
            (f.ts_ns, f.price, f.quantity) for f in second.fills
        ]
        assert len(first.fills) > 4
        np.testing.assert_array_equal(first.equity, second.equity)


class TestBookImbalanceStrategy:
    def test_imbalance_sums_the_best_levels_of_each_side(self):
        snap = book(T0, ((100.01, 10.0), (100.02, 30.0)), bids=((99.99, 60.0), (99.98, 100.0)))
        assert imbalance(snap, 1) == pytest.approx((60 - 10) / 70)
        assert imbalance(snap, 2) == pytest.approx((160 - 40) / 200)
        assert imbalance(book(T0, ()), 5) is None

    def test_it_goes_long_on_heavy_bids_and_short_on_heavy_asks(self):
        heavy_bids = ((99.99, 900.0),)
        heavy_asks = ((100.01, 900.0),)
        updates = [
            book(T0, ((100.01, 100.0),), bids=heavy_bids),
            book(T0 + MS, ((100.01, 100.0),), bids=heavy_bids),
            book(T0 + 2 * MS, heavy_asks, bids=((99.99, 100.0),)),
            book(T0 + 3 * MS, heavy_asks, bids=((99.99, 300.0),)),
        ]
        result = run_book(BookImbalance(units=50), updates)
        assert [(f.side, f.quantity) for f in result.fills] == [
            (OrderSide.BUY, 50.0),
            (OrderSide.SELL, 100.0),
        ]
        assert result.portfolio.quantity(SYMBOL) == -50.0


class TestNoLookAhead:
    def test_book_imbalance_decisions_up_to_t_do_not_depend_on_updates_after_t(self):
        rng = np.random.default_rng(11)
        updates = [
            book(
                T0 + i * MS,
                tuple((round(100.01 + 0.01 * k, 2), float(rng.integers(1, 200))) for k in range(3)),
                bids=tuple(
                    (round(99.99 - 0.01 * k, 2), float(rng.integers(1, 200))) for k in range(3)
                ),
            )
            for i in range(120)
        ]

        def decisions(upto: int):
            result = run_book(BookImbalance(units=10, threshold=0.3), updates[:upto])
            return [(o.created_ns, o.side, o.quantity) for o in result.orders]

        full = decisions(len(updates))
        assert len(full) >= 4
        for last in (1, 17, 60, 61, 119):
            t = updates[last - 1].ts_ns
            assert decisions(last) == [d for d in full if d[0] <= t]


# ------------------------------------------------------------------ properties
_ladders = st.lists(
    st.tuples(
        st.lists(st.integers(1, 60), min_size=1, max_size=4),  # ask sizes, best first
        st.lists(st.integers(1, 60), min_size=1, max_size=4),  # bid sizes, best first
        st.integers(0, 3),  # ask offset in ticks above 100.01
        st.sampled_from([None, "buy", "sell"]),
        st.integers(1, 150),  # order size
    ),
    min_size=2,
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ladders)
def test_position_is_the_sum_of_fills_and_no_fill_exceeds_the_displayed_depth(rows):
    updates = []
    for i, (asks, bids, offset, _, _) in enumerate(rows):
        ask0 = 10_001 + offset
        updates.append(
            book(
                T0 + i * MS,
                tuple((round((ask0 + k) * 0.01, 2), float(s)) for k, s in enumerate(asks)),
                bids=tuple((round((9_999 - k) * 0.01, 2), float(s)) for k, s in enumerate(bids)),
            )
        )

    def script(n, update, ctx):
        action, size = rows[n][3], rows[n][4]
        if action is None:
            return []
        return [market(OrderSide.BUY if action == "buy" else OrderSide.SELL, size)]

    result = run_book(Recorder(script), updates)
    assert result.portfolio.quantity(SYMBOL) == pytest.approx(
        sum(f.signed_quantity for f in result.fills)
    )
    orders = {o.client_order_id: o for o in result.orders}
    for order_id in {f.client_order_id for f in result.fills}:
        order = orders[order_id]
        # decided on update k, matched against update k's displayed book (no latency)
        k = (order.created_ns - T0) // MS
        shown = updates[k].asks if order.side is OrderSide.BUY else updates[k].bids
        displayed = dict(shown)
        fills = [f for f in result.fills if f.client_order_id == order_id]
        for fill in fills:
            assert fill.quantity <= displayed[fill.price] + 1e-9
        assert sum(f.quantity for f in fills) <= min(order.quantity, sum(displayed.values()))
