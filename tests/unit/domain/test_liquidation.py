"""Margin liquidation: the policy in the terms and the quantities it trades (hand-computed)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emp.domain.accounts import AccountTerms, HeldPosition, liquidation_quantities
from emp.domain.errors import InvalidConfiguration


def held(symbol: str, quantity: float, unit_value: float, lot: float = 1.0) -> HeldPosition:
    return HeldPosition(symbol=symbol, quantity=quantity, unit_value=unit_value, lot_size=lot)


class TestLiquidationPolicyInTheTerms:
    def test_a_margin_account_liquidates_by_reducing_by_default(self):
        terms = AccountTerms(kind="margin")
        assert terms.liquidation == "reduce" and terms.liquidates

    def test_policy_none_only_records_the_breach(self):
        assert not AccountTerms(kind="margin", liquidation="none").liquidates

    def test_a_cash_or_unchecked_account_never_liquidates(self):
        assert not AccountTerms(kind="cash", liquidation="all").liquidates
        assert not AccountTerms(liquidation="all").liquidates

    def test_an_unknown_policy_is_refused_with_the_choices(self):
        with pytest.raises(InvalidConfiguration, match="none, reduce, all, was 'some'"):
            AccountTerms(kind="margin", liquidation="some")


class TestReduce:
    def test_a_long_is_sold_until_the_requirement_is_met_at_the_mark(self):
        # 190 units at 60.5 = 11,495 gross, equity 2,495: gross may be 2,495 / 0.25 = 9,980,
        # so 1,515 of it goes: 1,515 / 60.5 = 25.04 → 26 whole units
        plan = liquidation_quantities("reduce", 0.25, 2_495.0, [held("AAA", 190, 60.5)])
        assert plan == [("AAA", -26.0)]

    def test_a_short_is_bought_back(self):
        plan = liquidation_quantities("reduce", 0.25, 2_495.0, [held("AAA", -190, 60.5)])
        assert plan == [("AAA", 26.0)]

    def test_the_largest_requirement_goes_first_and_alone_when_it_suffices(self):
        # A 5,000 and B 4,000 gross; equity 2,000 allows 8,000: 1,000 of A = 20 units
        positions = [held("B", -40, 100.0), held("A", 100, 50.0)]
        assert liquidation_quantities("reduce", 0.25, 2_000.0, positions) == [("A", -20.0)]

    def test_the_next_largest_follows_when_the_first_is_not_enough(self):
        # equity 500 allows 2,000 of 9,000: all of A (5,000), then 2,000 of B = 20 units
        positions = [held("B", -40, 100.0), held("A", 100, 50.0)]
        plan = liquidation_quantities("reduce", 0.25, 500.0, positions)
        assert plan == [("A", -100.0), ("B", 20.0)]

    def test_quantities_are_rounded_up_to_whole_lots(self):
        # 10,000 gross, equity 2,237.5 allows 8,950: 1,050 at 50 a unit = 21 units, 3 lots
        plan = liquidation_quantities("reduce", 0.25, 2_237.5, [held("A", 200, 50.0, lot=10)])
        assert plan == [("A", -30.0)]

    def test_a_position_is_never_sold_beyond_what_is_held(self):
        plan = liquidation_quantities("reduce", 0.5, 10.0, [held("A", 7, 50.0, lot=5)])
        assert plan == [("A", -7.0)]

    def test_equity_at_or_below_zero_closes_everything(self):
        positions = [held("A", 10, 50.0), held("B", -5, 20.0)]
        plan = liquidation_quantities("reduce", 0.25, -1.0, positions)
        assert plan == [("A", -10.0), ("B", 5.0)]


class TestAllAndNone:
    def test_all_closes_every_position_largest_first(self):
        positions = [held("B", -5, 20.0), held("A", 10, 50.0)]
        plan = liquidation_quantities("all", 0.25, 100.0, positions)
        assert plan == [("A", -10.0), ("B", 5.0)]

    def test_none_trades_nothing(self):
        assert liquidation_quantities("none", 0.25, 100.0, [held("A", 10, 50.0)]) == []


positions_strategy = st.lists(
    st.tuples(
        st.integers(min_value=-500, max_value=500).filter(lambda q: q != 0),
        st.floats(min_value=1.0, max_value=500.0),
        st.sampled_from([1.0, 5.0, 100.0]),
    ),
    min_size=1,
    max_size=5,
)


class TestReduceInvariants:
    @given(positions_strategy, st.floats(min_value=0.05, max_value=1.0), st.data())
    def test_after_the_plan_the_requirement_is_met_and_no_position_flips(
        self, raw, maintenance, data
    ):
        positions = [
            held(f"S{i}", lots * lot, value, lot) for i, (lots, value, lot) in enumerate(raw)
        ]
        gross = math.fsum(p.requirement_value for p in positions)
        equity = data.draw(st.floats(min_value=0.01, max_value=gross * maintenance * 0.999))
        plan = dict(liquidation_quantities("reduce", maintenance, equity, positions))
        remaining = 0.0
        for p in positions:
            traded = plan.get(p.symbol, 0.0)
            after = p.quantity + traded
            assert after * p.quantity >= 0  # reduced, possibly to zero, never flipped
            assert abs(traded) <= abs(p.quantity)
            remaining += abs(after) * p.unit_value
        assert maintenance * remaining <= equity * (1 + 1e-9)
