"""Invariants of the matching engine under random order flow and market data (hypothesis)."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from emp.domain.commands import SubmitOrder
from emp.domain.events import OrderCancelRejected, OrderFilled, OrderReplaced
from emp.domain.matching import (
    CancelRejectReason,
    MatchingEngine,
    MatchReport,
    QueueModel,
    TradePrint,
)
from emp.domain.orders import OrderSide, OrderStatus, OrderType, TimeInForce
from tests.unit.domain.matching.builders import SYMBOL, book, cancel, engine, replace

sides = st.sampled_from([OrderSide.BUY, OrderSide.SELL])
ticks = st.integers(9_990, 10_010)
lots = st.integers(1, 30)

submit_op = st.tuples(
    st.just("submit"),
    st.sampled_from(["A", "B"]),
    sides,
    st.sampled_from([OrderType.LIMIT, OrderType.LIMIT, OrderType.MARKET]),
    st.sampled_from(list(TimeInForce)),
    ticks,
    lots,
)
cancel_op = st.tuples(st.just("cancel"), st.integers(0, 40))
replace_op = st.tuples(st.just("replace"), st.integers(0, 40), ticks, lots)
snapshot_op = st.tuples(st.just("snapshot"), ticks, st.integers(1, 5), lots, lots)
print_op = st.tuples(st.just("print"), sides, ticks, lots)
own_only = st.lists(st.one_of(submit_op, cancel_op, replace_op), min_size=1, max_size=60)
with_market = st.lists(
    st.one_of(submit_op, cancel_op, replace_op, snapshot_op, print_op), min_size=1, max_size=60
)
models = st.sampled_from(list(QueueModel))


class Run:
    """Plays operations and keeps every report, checking invariants after each one."""

    def __init__(self, venue: MatchingEngine) -> None:
        self.venue = venue
        self.reports: list[MatchReport] = []
        self.ids: list[tuple[str, str, OrderSide]] = []  # (owner, client id, side) submitted
        self.successor: dict[tuple[str, str], str] = {}
        self.quantity: dict[tuple[str, str], float] = {}
        self.clock = 0

    def current(self, owner: str, cid: str) -> str:
        while (owner, cid) in self.successor:
            cid = self.successor[(owner, cid)]
        return cid

    def play(self, op: tuple) -> list[MatchReport]:
        self.clock += 1
        now = self.clock
        kind = op[0]
        out: list[MatchReport] = []
        if kind == "submit":
            _, owner, side, order_type, tif, price, qty = op
            cid = f"o{len(self.ids)}"
            self.ids.append((owner, cid, side))
            command = SubmitOrder(
                client_order_id=cid,
                symbol=SYMBOL,
                side=side,
                quantity=float(qty),
                order_type=order_type,
                limit_price=price / 100 if order_type is OrderType.LIMIT else None,
                time_in_force=tif,
            )
            self.quantity[(owner, cid)] = float(qty)
            out = self.venue.submit(command, now_ns=now, owner=owner)
        elif kind in ("cancel", "replace") and self.ids:
            owner, cid, side = self.ids[op[1] % len(self.ids)]
            target = self.current(owner, cid)
            if kind == "cancel":
                out = self.venue.cancel(cancel(f"x{now}", target, side), now_ns=now, owner=owner)
            else:
                new = f"r{now}"
                command = replace(new, target, side, float(op[3]), op[2] / 100)
                out = self.venue.replace(command, now_ns=now, owner=owner)
                if any(isinstance(r.event, OrderReplaced) for r in out):
                    self.successor[(owner, target)] = new
                    self.quantity[(owner, new)] = float(op[3])
        elif kind == "snapshot":
            _, mid, width, bid_size, ask_size = op
            out = self.venue.apply(
                book(
                    bids=((mid / 100, bid_size), ((mid - 1) / 100, bid_size)),
                    asks=(((mid + width) / 100, ask_size),),
                    ts_ns=now,
                )
            )
        elif kind == "print":
            _, side, price, qty = op
            out = self.venue.apply(
                TradePrint(
                    symbol=SYMBOL, ts_ns=now, price=price / 100, quantity=qty, aggressor=side
                )
            )
        self.reports.extend(out)
        self.check()
        return out

    def check(self) -> None:
        venue = self.venue
        ob = venue.book(SYMBOL)
        assert not ob.is_crossed(), "the book is crossed after matching"
        filled: dict[tuple[str, str], float] = defaultdict(float)
        for report in self.reports:
            if isinstance(report.event, OrderFilled):
                filled[(report.owner, report.event.client_order_id)] += report.event.fill.quantity
        for owner, cid in filled:
            state = venue.order(cid, owner)
            assert state is not None
            assert state.filled_quantity <= state.quantity + 1e-9, "overfilled"
        # Fills follow an order through its replacements.
        for owner, cid, _ in self.ids:
            chain = [cid]
            while (owner, chain[-1]) in self.successor:
                chain.append(self.successor[(owner, chain[-1])])
            state = venue.order(chain[-1], owner)
            if state is None or state.order_id is None:
                continue
            total = sum(filled.get((owner, link), 0.0) for link in chain)
            assert abs(total - state.filled_quantity) < 1e-9, "fills and CumQty disagree"
            assert state.filled_quantity <= self.quantity[(owner, chain[-1])] + 1e-9
            resting = sum(
                e.lots
                for level in (*ob.bids.levels.values(), *ob.asks.levels.values())
                for e in level.queue
                if e.order is not None
                and e.order.client_order_id == chain[-1]
                and e.order.owner == owner
            )
            expected = state.leaves_quantity if state.order_type is OrderType.LIMIT else 0
            assert resting == expected, "the book and the order's leaves disagree"
        external = sum(
            level.external_lots for level in (*ob.bids.levels.values(), *ob.asks.levels.values())
        )
        counters = venue.liquidity
        assert counters.added - counters.removed - counters.traded == external


class TestInvariants:
    @settings(max_examples=150, deadline=None)
    @given(ops=with_market, model=models)
    def test_book_fills_and_displayed_size_stay_consistent(self, ops, model):
        run = Run(engine(model))
        for op in ops:
            run.play(op)

    @settings(max_examples=150, deadline=None)
    @given(ops=own_only)
    def test_own_orders_alone_buy_exactly_what_they_sell(self, ops):
        run = Run(engine())
        for op in ops:
            run.play(op)
        bought = sum(
            r.event.fill.quantity
            for r in run.reports
            if isinstance(r.event, OrderFilled) and r.event.fill.side is OrderSide.BUY
        )
        sold = sum(
            r.event.fill.quantity
            for r in run.reports
            if isinstance(r.event, OrderFilled) and r.event.fill.side is OrderSide.SELL
        )
        assert bought == sold

    @settings(max_examples=100, deadline=None)
    @given(ops=with_market, model=models)
    def test_cancel_of_a_filled_order_is_rejected(self, ops, model):
        run = Run(engine(model))
        for op in ops:
            run.play(op)
        for owner, cid, side in run.ids:
            state = run.venue.order(cid, owner)
            if state is not None and state.status is OrderStatus.FILLED:
                (report,) = run.venue.cancel(cancel("late", cid, side), now_ns=10**6, owner=owner)
                assert isinstance(report.event, OrderCancelRejected)
                assert report.cancel_reject_reason == CancelRejectReason.TOO_LATE_TO_CANCEL
                assert run.venue.order(cid, owner).status is OrderStatus.FILLED


resting_orders = st.lists(st.tuples(st.integers(9_995, 10_000), lots), min_size=1, max_size=25)


class TestPriceTimePriority:
    @settings(max_examples=200, deadline=None)
    @given(orders=resting_orders, taker_lots=st.integers(1, 400), model=models)
    def test_a_taker_fills_better_prices_first_then_earlier_orders(self, orders, taker_lots, model):
        venue = engine(model)
        for i, (price, qty) in enumerate(orders):
            command = SubmitOrder(
                client_order_id=f"b{i}",
                symbol=SYMBOL,
                side=OrderSide.BUY,
                quantity=float(qty),
                order_type=OrderType.LIMIT,
                limit_price=price / 100,
            )
            venue.submit(command, now_ns=i, owner="M")
        taker = SubmitOrder(
            client_order_id="t", symbol=SYMBOL, side=OrderSide.SELL, quantity=float(taker_lots)
        )
        reports = venue.submit(taker, now_ns=1_000, owner="T")
        got = {
            r.event.client_order_id: r.event.fill.quantity
            for r in reports
            if isinstance(r.event, OrderFilled) and r.owner == "M"
        }
        priority = sorted(range(len(orders)), key=lambda i: (-orders[i][0], i))
        left = float(taker_lots)
        for i in priority:  # each order gets all it can before the next gets anything
            expected = min(left, float(orders[i][1]))
            assert got.get(f"b{i}", 0.0) == expected
            left -= expected
        taker_prices = [
            r.event.fill.price
            for r in reports
            if isinstance(r.event, OrderFilled) and r.owner == "T"
        ]
        assert taker_prices == sorted(taker_prices, reverse=True)
