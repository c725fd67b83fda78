"""Average-cost accounting: hand-computed examples and invariants over random fill streams."""

from __future__ import annotations

import math
from collections import defaultdict
from itertools import count

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.domain.errors import InvalidConfiguration
from emp.domain.fills import Fill
from emp.domain.orders import OrderSide
from emp.domain.portfolio import Portfolio, Position

BUY, SELL = OrderSide.BUY, OrderSide.SELL
INITIAL_CASH = 1_000_000.0
SYMBOLS = ("AAA", "BBB", "CCC")
_exec_ids = count()


def fill(
    side: OrderSide, quantity: float, price: float, *, symbol: str = "AAA", fee: float = 0.0
) -> Fill:
    n = next(_exec_ids)
    return Fill(
        exec_id=f"E-{n}",
        client_order_id=f"C-{n}",
        symbol=symbol,
        side=side,
        quantity=quantity,
        price=price,
        fee=fee,
        ts_ns=n,
    )


def close_to(actual: float, expected: float, scale: float) -> bool:
    """Equal to 1e-6 relative to ``scale`` (the size of the money involved)."""
    return math.isclose(actual, expected, rel_tol=1e-6, abs_tol=1e-6 * scale)


# ------------------------------------------------------------------ strategies
fills_strategy = st.lists(
    st.tuples(
        st.sampled_from(SYMBOLS),
        st.sampled_from([BUY, SELL]),
        st.integers(min_value=1, max_value=50),  # lots
        st.integers(min_value=100, max_value=100_000),  # ticks of 0.01
        st.integers(min_value=0, max_value=500),  # fee in cents
    ),
    min_size=1,
    max_size=40,
)
LOT = 10.0


def to_fill(raw: tuple[str, OrderSide, int, int, int]) -> Fill:
    symbol, side, lots, ticks, fee_cents = raw
    return fill(side, lots * LOT, round(ticks * 0.01, 2), symbol=symbol, fee=fee_cents / 100)


class TestHandComputedExamples:
    def test_buy_then_partial_sell_realizes_on_the_sold_part(self) -> None:
        portfolio = Portfolio(10_000.0)
        assert portfolio.apply_fill(fill(BUY, 100, 10.0)) == 0.0
        realized = portfolio.apply_fill(fill(SELL, 50, 12.0))
        assert realized == pytest.approx(100.0)
        position = portfolio.position("AAA")
        assert position.quantity == 50.0
        assert position.average_price == 10.0
        assert portfolio.realized_pnl == pytest.approx(100.0)
        assert portfolio.cash == pytest.approx(10_000.0 - 1_000.0 + 600.0)

    def test_adding_to_a_long_moves_the_average_price(self) -> None:
        portfolio = Portfolio(10_000.0)
        portfolio.apply_fill(fill(BUY, 100, 10.0))
        portfolio.apply_fill(fill(BUY, 100, 12.0))
        assert portfolio.position("AAA").average_price == pytest.approx(11.0)
        assert portfolio.quantity("AAA") == 200.0

    def test_short_covered_lower_realizes_a_gain(self) -> None:
        portfolio = Portfolio(10_000.0)
        portfolio.apply_fill(fill(SELL, 100, 20.0))
        assert portfolio.position("AAA").average_price == 20.0
        realized = portfolio.apply_fill(fill(BUY, 40, 18.0))
        assert realized == pytest.approx(80.0)
        assert portfolio.quantity("AAA") == -60.0

    def test_flip_from_long_to_short_realizes_the_closed_part_only(self) -> None:
        portfolio = Portfolio(10_000.0)
        portfolio.apply_fill(fill(BUY, 100, 10.0))
        realized = portfolio.apply_fill(fill(SELL, 150, 12.0))
        assert realized == pytest.approx(200.0)  # 100 closed at +2
        position = portfolio.position("AAA")
        assert position.quantity == -50.0
        assert position.average_price == 12.0

    def test_flip_from_short_to_long_opens_the_rest_at_the_fill_price(self) -> None:
        portfolio = Portfolio(10_000.0)
        portfolio.apply_fill(fill(SELL, 30, 50.0))
        realized = portfolio.apply_fill(fill(BUY, 100, 55.0))
        assert realized == pytest.approx(-150.0)
        assert portfolio.quantity("AAA") == 70.0
        assert portfolio.position("AAA").average_price == 55.0

    def test_closing_exactly_leaves_a_flat_position_with_no_average(self) -> None:
        portfolio = Portfolio(10_000.0)
        portfolio.apply_fill(fill(BUY, 0.1, 10.0))
        portfolio.apply_fill(fill(BUY, 0.2, 10.0))
        portfolio.apply_fill(fill(SELL, 0.3, 11.0))
        position = portfolio.position("AAA")
        assert position.is_flat
        assert position.quantity == 0.0
        assert position.average_price == 0.0
        assert "AAA" not in portfolio.positions

    def test_fees_come_out_of_cash_and_are_tracked_apart(self) -> None:
        portfolio = Portfolio(10_000.0)
        portfolio.apply_fill(fill(BUY, 100, 10.0, fee=1.5))
        portfolio.apply_fill(fill(SELL, 100, 10.0, fee=2.5))
        assert portfolio.fees_paid == pytest.approx(4.0)
        assert portfolio.cash == pytest.approx(9_996.0)
        assert portfolio.realized_pnl == 0.0
        assert portfolio.equity == pytest.approx(9_996.0)

    def test_marks_drive_unrealized_pnl_market_value_and_exposure(self) -> None:
        portfolio = Portfolio(10_000.0)
        portfolio.apply_fill(fill(BUY, 100, 10.0, symbol="AAA"))
        portfolio.apply_fill(fill(SELL, 50, 20.0, symbol="BBB"))
        portfolio.mark_many({"AAA": 11.0, "BBB": 18.0})
        assert portfolio.unrealized_pnl == pytest.approx(100.0 + 100.0)
        assert portfolio.market_value("AAA") == pytest.approx(1_100.0)
        assert portfolio.market_value("BBB") == pytest.approx(-900.0)
        assert portfolio.gross_exposure == pytest.approx(2_000.0)
        assert portfolio.net_exposure == pytest.approx(200.0)
        assert portfolio.equity == pytest.approx(10_000.0 + 200.0)

    def test_first_fill_marks_the_symbol_at_its_price(self) -> None:
        portfolio = Portfolio(10_000.0)
        assert portfolio.mark_price("AAA") is None
        portfolio.apply_fill(fill(BUY, 1, 10.0))
        assert portfolio.mark_price("AAA") == 10.0

    def test_unknown_symbol_has_a_flat_position(self) -> None:
        portfolio = Portfolio(10_000.0)
        assert portfolio.quantity("ZZZ") == 0.0
        assert portfolio.position("ZZZ").is_flat
        assert portfolio.market_value("ZZZ") == 0.0

    @pytest.mark.parametrize("cash", [0.0, -1.0, math.nan, math.inf])
    def test_initial_cash_must_be_positive_and_finite(self, cash: float) -> None:
        with pytest.raises(InvalidConfiguration, match="initial cash"):
            Portfolio(cash)


class TestInvariants:
    @settings(max_examples=200, deadline=None)
    @given(raw_fills=fills_strategy)
    def test_equity_drops_by_exactly_the_fee_when_marked_at_the_fill_price(
        self, raw_fills: list[tuple[str, OrderSide, int, int, int]]
    ) -> None:
        portfolio = Portfolio(INITIAL_CASH)
        scale = INITIAL_CASH
        for raw in raw_fills:
            f = to_fill(raw)
            scale += f.notional
            portfolio.mark(f.symbol, f.price)
            before = portfolio.equity
            portfolio.apply_fill(f)
            assert close_to(portfolio.equity, before - f.fee, scale)

    @settings(max_examples=200, deadline=None)
    @given(
        raw_fills=fills_strategy,
        marks=st.lists(
            st.integers(min_value=100, max_value=100_000), min_size=len(SYMBOLS), max_size=3
        ),
    )
    def test_equity_is_initial_cash_plus_pnl_minus_fees_at_any_marks(
        self, raw_fills: list[tuple[str, OrderSide, int, int, int]], marks: list[int]
    ) -> None:
        portfolio = Portfolio(INITIAL_CASH)
        scale = INITIAL_CASH
        for i, raw in enumerate(raw_fills):
            f = to_fill(raw)
            scale += f.notional
            portfolio.apply_fill(f)
            symbol = SYMBOLS[i % len(SYMBOLS)]
            portfolio.mark(symbol, marks[i % len(marks)] * 0.01)
            identity = (
                portfolio.initial_cash
                + portfolio.realized_pnl
                + portfolio.unrealized_pnl
                - portfolio.fees_paid
            )
            assert close_to(portfolio.equity, identity, scale)

    @settings(max_examples=200, deadline=None)
    @given(raw_fills=fills_strategy)
    def test_position_is_the_sum_of_signed_fill_quantities(
        self, raw_fills: list[tuple[str, OrderSide, int, int, int]]
    ) -> None:
        portfolio = Portfolio(INITIAL_CASH)
        expected: defaultdict[str, float] = defaultdict(float)
        for raw in raw_fills:
            f = to_fill(raw)
            portfolio.apply_fill(f)
            expected[f.symbol] += f.signed_quantity
        for symbol in SYMBOLS:
            assert portfolio.quantity(symbol) == pytest.approx(expected[symbol], abs=1e-9)

    @settings(max_examples=200, deadline=None)
    @given(raw_fills=fills_strategy, mark_ticks=st.integers(min_value=1, max_value=200_000))
    def test_gross_exposure_bounds_net_exposure(
        self, raw_fills: list[tuple[str, OrderSide, int, int, int]], mark_ticks: int
    ) -> None:
        portfolio = Portfolio(INITIAL_CASH)
        for raw in raw_fills:
            portfolio.apply_fill(to_fill(raw))
            portfolio.mark("AAA", mark_ticks * 0.01)
            assert portfolio.gross_exposure >= abs(portfolio.net_exposure) - 1e-9
            assert portfolio.gross_exposure >= 0.0

    @settings(max_examples=300, deadline=None)
    @given(
        start_lots=st.integers(min_value=-50, max_value=50).filter(lambda n: n != 0),
        average_ticks=st.integers(min_value=100, max_value=100_000),
        extra_lots=st.integers(min_value=1, max_value=50),
        price_ticks=st.integers(min_value=100, max_value=100_000),
    )
    def test_flipping_through_zero_realizes_the_closed_part_and_reprices_the_rest(
        self, start_lots: int, average_ticks: int, extra_lots: int, price_ticks: int
    ) -> None:
        start = start_lots * LOT
        average = average_ticks * 0.01
        price = price_ticks * 0.01
        position = Position("AAA", quantity=start, average_price=average)
        signed = -start - math.copysign(extra_lots * LOT, start)  # through zero and beyond
        realized = position.apply(signed, price)
        assert realized == pytest.approx((price - average) * start, rel=1e-9, abs=1e-6)
        assert position.quantity == pytest.approx(start + signed)
        assert math.copysign(1.0, position.quantity) == -math.copysign(1.0, start)
        assert position.average_price == price
        assert position.realized_pnl == pytest.approx(realized)

    @settings(max_examples=300, deadline=None)
    @given(
        start_lots=st.integers(min_value=-50, max_value=50).filter(lambda n: n != 0),
        average_ticks=st.integers(min_value=100, max_value=100_000),
        reduce_fraction=st.floats(min_value=0.01, max_value=1.0),
        price_ticks=st.integers(min_value=100, max_value=100_000),
    )
    def test_reducing_keeps_the_average_price_and_realizes_pro_rata(
        self, start_lots: int, average_ticks: int, reduce_fraction: float, price_ticks: int
    ) -> None:
        start = start_lots * LOT
        average = average_ticks * 0.01
        price = price_ticks * 0.01
        position = Position("AAA", quantity=start, average_price=average)
        closing = abs(start) * reduce_fraction
        realized = position.apply(-math.copysign(closing, start), price)
        assert realized == pytest.approx(
            (price - average) * closing * math.copysign(1.0, start), rel=1e-9, abs=1e-6
        )
        if not position.is_flat:
            assert position.average_price == average


class TestPerBarViews:
    def test_valuation_is_equity_and_gross_exposure_in_one_pass(self) -> None:
        portfolio = Portfolio(10_000.0)
        portfolio.apply_fill(fill(BUY, 100, 10.0, symbol="AAA"))
        portfolio.apply_fill(fill(SELL, 50, 20.0, symbol="BBB"))
        portfolio.mark_many({"AAA": 11.0, "BBB": 18.0})
        assert portfolio.valuation() == (10_000.0 - 1_000.0 + 1_000.0 + 1_100.0 - 900.0, 2_000.0)

    def test_open_quantities_and_marks_are_fresh_and_leave_out_flat_positions(self) -> None:
        portfolio = Portfolio(10_000.0)
        portfolio.apply_fill(fill(BUY, 100, 10.0, symbol="AAA"))
        portfolio.apply_fill(fill(BUY, 5, 30.0, symbol="BBB"))
        portfolio.apply_fill(fill(SELL, 5, 31.0, symbol="BBB"))
        portfolio.mark("AAA", 12.0)
        quantities, marks = portfolio.open_quantities(), portfolio.open_marks()
        assert quantities == {"AAA": 100.0} and marks == {"AAA": 12.0}
        quantities["AAA"] = 0.0
        assert portfolio.quantity("AAA") == 100.0  # a copy, not the portfolio's own
        assert list(portfolio.positions) == ["AAA"]

    def test_holds_only_a_symbol_when_no_other_position_is_open(self) -> None:
        portfolio = Portfolio(10_000.0)
        assert portfolio.holds_only("AAA")  # nothing open at all
        portfolio.apply_fill(fill(BUY, 10, 10.0, symbol="AAA"))
        assert portfolio.holds_only("AAA") and not portfolio.holds_only("BBB")
        portfolio.apply_fill(fill(BUY, 5, 30.0, symbol="BBB"))
        assert not portfolio.holds_only("AAA")
        portfolio.apply_fill(fill(SELL, 5, 31.0, symbol="BBB"))  # flat again
        assert portfolio.holds_only("AAA")
