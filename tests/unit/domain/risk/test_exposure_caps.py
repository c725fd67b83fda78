"""Portfolio caps on the exposure book: gross, net, leverage, groups; the book itself."""

from __future__ import annotations

import math
from typing import ClassVar

import pytest

from emp.domain.errors import InvalidConfiguration
from emp.domain.risk import (
    BreachAction,
    ExposureBook,
    MaxGrossExposure,
    MaxGroupExposure,
    MaxLeverage,
    MaxNetExposure,
    RiskContext,
    RiskManager,
)
from tests.unit.domain.risk.builders import BUY, SELL, account, check_input, working

RESIZE = BreachAction.RESIZE


def context_with(positions, *, marks=None, working_orders=(), **book_kwargs) -> RiskContext:
    book = ExposureBook(**book_kwargs)
    book.rebuild(account(positions, marks=marks, working=working_orders))
    return RiskContext(book)


class TestExposureBook:
    def test_gross_counts_the_worse_side_of_each_symbol(self) -> None:
        book = ExposureBook()
        book.rebuild(
            account(
                {"A": 10, "B": -5},
                working=(working("1", "A", BUY, 5), working("2", "B", SELL, 10)),
            )
        )
        # A: max(|15|, |10|) = 15 → 1500; B: max(|-5|, |-15|) = 15 → 1500
        assert book.gross == pytest.approx(3_000.0)
        assert book.net_high == pytest.approx(1_000.0)  # 15 - 5 units
        assert book.net_low == pytest.approx(-500.0)  # 10 - 15 units

    def test_foreign_currency_is_valued_in_usd(self) -> None:
        book = ExposureBook(currencies={"SAP": "EUR"})
        book.rebuild(account({"SAP": 10}, fx_rates={"EUR": 1.1}))
        assert book.gross == pytest.approx(1_100.0)
        assert book.group_gross("currency", "EUR") == pytest.approx(1_100.0)

    def test_missing_fx_rate_names_the_currency(self) -> None:
        book = ExposureBook(currencies={"SAP": "EUR"})
        with pytest.raises(InvalidConfiguration, match="'EUR'"):
            book.rebuild(account({"SAP": 10}))

    def test_missing_mark_is_refused(self) -> None:
        with pytest.raises(InvalidConfiguration, match="no mark"):
            ExposureBook().rebuild(account({"A": 1}, marks={}))


class TestMaxGrossExposure:
    def test_order_that_lifts_gross_past_the_cap_is_refused(self) -> None:
        ctx = context_with({"A": 50})  # gross 5,000
        rule = MaxGrossExposure(10_000.0)
        assert rule.check(check_input(BUY, 50, symbol="B", context=ctx)) is None
        reason = rule.check(check_input(BUY, 51, symbol="B", context=ctx))
        assert reason == (
            "max_gross_exposure: gross exposure would reach 10,100.00, limit is 10,000.00"
        )

    def test_order_that_shrinks_a_breach_passes(self) -> None:
        ctx = context_with({"A": 200})  # gross 20,000 > cap
        rule = MaxGrossExposure(10_000.0)
        assert rule.check(check_input(SELL, 50, symbol="A", position=200, context=ctx)) is None
        assert rule.check(check_input(BUY, 1, symbol="B", context=ctx)) is not None

    def test_capacity_leaves_exactly_the_room_under_the_cap(self) -> None:
        ctx = context_with({"A": 50})
        rule = MaxGrossExposure(10_000.0, action=RESIZE)
        assert rule.capacity(check_input(BUY, 500, symbol="B", context=ctx)) == pytest.approx(50)
        # a short in A may go down to -50 (gross of A 5,000 → back up to 5,000 is fine) ...
        data = check_input(SELL, 500, symbol="A", position=50, context=ctx)
        assert rule.capacity(data) == pytest.approx(150)  # 50 → -100: gross 10,000

    def test_without_a_context_the_symbol_alone_is_measured(self) -> None:
        assert MaxGrossExposure(1_000.0).check(check_input(BUY, 10)) is None
        assert MaxGrossExposure(1_000.0).check(check_input(BUY, 11)) is not None


class TestMaxNetExposure:
    def test_longs_and_shorts_offset(self) -> None:
        ctx = context_with({"A": 80, "B": -60})  # net 2,000
        rule = MaxNetExposure(5_000.0)
        assert rule.check(check_input(BUY, 30, symbol="C", context=ctx)) is None
        assert rule.check(check_input(BUY, 31, symbol="C", context=ctx)) is not None
        assert rule.check(check_input(SELL, 70, symbol="C", context=ctx)) is None
        assert rule.check(check_input(SELL, 71, symbol="C", context=ctx)) is not None

    def test_capacity_on_both_sides(self) -> None:
        ctx = context_with({"A": 80, "B": -60})
        rule = MaxNetExposure(5_000.0)
        assert rule.capacity(check_input(BUY, 1, symbol="C", context=ctx)) == pytest.approx(30)
        assert rule.capacity(check_input(SELL, 1, symbol="C", context=ctx)) == pytest.approx(70)

    def test_working_orders_count_on_their_side(self) -> None:
        ctx = context_with({"A": 0}, working_orders=(working("1", "A", BUY, 40),))
        rule = MaxNetExposure(5_000.0)
        assert rule.check(check_input(BUY, 11, symbol="B", context=ctx)) is not None


class TestMaxLeverage:
    def test_leverage_is_gross_over_equity_times_the_tier_multiplier(self) -> None:
        ctx = context_with({"A": 100})  # gross 10,000
        rule = MaxLeverage(2.0)
        assert rule.check(check_input(BUY, 100, symbol="B", equity=10_000.0, context=ctx)) is None
        assert rule.check(check_input(BUY, 101, symbol="B", equity=10_000.0, context=ctx))
        ctx.leverage_multiplier = 0.5
        reason = rule.check(check_input(BUY, 1, symbol="B", equity=10_000.0, context=ctx))
        assert reason == "max_leverage: leverage would reach 1.01x, limit is 1.00x"

    def test_non_positive_equity_allows_only_shrinking_orders(self) -> None:
        ctx = context_with({"A": 10})
        rule = MaxLeverage(5.0)
        assert rule.check(check_input(BUY, 1, symbol="B", equity=-1.0, context=ctx)) is not None
        assert (
            rule.check(check_input(SELL, 5, symbol="A", position=10, equity=-1.0, context=ctx))
            is None
        )


class TestMaxGroupExposure:
    groupings: ClassVar = {"sector": {"A": "tech", "B": "tech", "C": "energy"}}

    def test_each_group_has_its_own_cap(self) -> None:
        ctx = context_with({"A": 40, "C": 40}, groupings=self.groupings)
        rule = MaxGroupExposure("sector", limits={"tech": 5_000.0}, default_limit=100_000.0)
        assert rule.check(check_input(BUY, 10, symbol="B", context=ctx)) is None
        reason = rule.check(check_input(BUY, 11, symbol="B", context=ctx))
        assert reason == (
            "max_sector_exposure: sector 'tech' exposure would reach 5,100.00, limit is 5,000.00"
        )
        assert rule.check(check_input(BUY, 500, symbol="C", context=ctx)) is None

    def test_ungrouped_symbols_fall_in_other(self) -> None:
        ctx = context_with({"Z": 10}, groupings=self.groupings)
        rule = MaxGroupExposure("sector", limits={"other": 1_500.0})
        assert rule.check(check_input(BUY, 6, symbol="Y", context=ctx)) is not None
        assert rule.capacity(check_input(BUY, 6, symbol="Y", context=ctx)) == pytest.approx(5)

    def test_currency_grouping_comes_from_the_currency_map(self) -> None:
        ctx = context_with({}, currencies={"SAP": "EUR"})
        ctx.book.rebuild(account({}, fx_rates={"EUR": 2.0}))
        rule = MaxGroupExposure("currency", limits={"EUR": 1_000.0})
        assert rule.check(check_input(BUY, 5, symbol="SAP", context=ctx)) is None
        assert rule.check(check_input(BUY, 6, symbol="SAP", context=ctx)) is not None

    def test_uncapped_group_has_infinite_capacity(self) -> None:
        ctx = context_with({}, groupings=self.groupings)
        rule = MaxGroupExposure("sector", limits={"tech": 1.0})
        assert math.isinf(rule.capacity(check_input(BUY, 5, symbol="C", context=ctx)))

    def test_manager_refuses_a_rule_on_an_unconfigured_grouping(self) -> None:
        with pytest.raises(InvalidConfiguration, match="grouping 'sector'"):
            RiskManager(rules=[MaxGroupExposure("sector", limits={"tech": 1.0})])
