"""Account terms: borrow cost, cash and margin buying power, FX series (hand-computed)."""

from __future__ import annotations

import numpy as np
import pytest

from emp.domain.accounts import (
    YEAR_NS,
    AccountTerms,
    FxSeries,
    OrderExposure,
    account_refusal,
    borrow_cost,
)
from emp.domain.errors import InvalidConfiguration
from emp.domain.fills import Fill
from emp.domain.orders import OrderSide
from emp.domain.portfolio import Portfolio

DAY = 86_400 * 10**9


def exposure(**overrides: float) -> OrderExposure:
    values = {
        "signed_quantity": 10.0,
        "price": 100.0,
        "position": 0.0,
        "open_buy": 0.0,
        "open_sell": 0.0,
        "cash": 10_000.0,
        "equity": 10_000.0,
        "gross_exposure": 0.0,
    }
    values.update(overrides)
    return OrderExposure(**values)


class TestBorrowCost:
    def test_a_year_of_borrow_costs_the_annual_rate(self):
        assert borrow_cost(50_000.0, 200.0, YEAR_NS) == pytest.approx(1_000.0)

    def test_one_day_costs_a_365th(self):
        # 10,000 short at 365 bps a year: 3.65% / 365 a day = 1.00
        assert borrow_cost(10_000.0, 365.0, DAY) == pytest.approx(1.0)


class TestCashAccounts:
    terms = AccountTerms(kind="cash")

    def test_a_buy_within_the_cash_goes(self):
        assert account_refusal(self.terms, exposure(signed_quantity=100.0)) is None

    def test_a_buy_beyond_the_cash_is_refused_with_the_figures(self):
        reason = account_refusal(self.terms, exposure(signed_quantity=101.0))
        assert reason is not None and reason.startswith("account: a cash account")
        assert "costs 10,100.00, cash available 10,000.00" in reason

    def test_cash_committed_to_working_buys_is_not_available(self):
        reason = account_refusal(self.terms, exposure(signed_quantity=60.0, open_buy=50.0))
        assert reason is not None and "cash available 5,000.00" in reason

    def test_selling_what_is_held_goes_but_selling_short_is_refused(self):
        assert account_refusal(self.terms, exposure(signed_quantity=-10.0, position=10.0)) is None
        reason = account_refusal(self.terms, exposure(signed_quantity=-11.0, position=10.0))
        assert reason is not None and "cannot sell short" in reason


class TestMarginAccounts:
    terms = AccountTerms(kind="margin", initial_margin=0.5, maintenance_margin=0.25)

    def test_up_to_twice_the_equity_may_be_held_at_fifty_percent_initial_margin(self):
        assert account_refusal(self.terms, exposure(signed_quantity=200.0)) is None
        reason = account_refusal(self.terms, exposure(signed_quantity=201.0))
        assert reason is not None
        assert "initial margin 10,050.00 (50% of gross exposure 20,100.00" in reason

    def test_shorts_count_as_gross_exposure_too(self):
        assert account_refusal(self.terms, exposure(signed_quantity=-200.0)) is None
        assert account_refusal(self.terms, exposure(signed_quantity=-201.0)) is not None

    def test_an_order_that_reduces_exposure_always_goes(self):
        order = exposure(signed_quantity=-50.0, position=300.0, gross_exposure=30_000.0)
        assert account_refusal(self.terms, order) is None

    def test_other_positions_use_up_buying_power(self):
        # 15,000 already held elsewhere: 5,000 more is the limit at 10,000 equity
        held = {"gross_exposure": 15_000.0}
        assert account_refusal(self.terms, exposure(signed_quantity=50.0, **held)) is None
        assert account_refusal(self.terms, exposure(signed_quantity=51.0, **held)) is not None


class TestTerms:
    @pytest.mark.parametrize(
        "overrides",
        [
            {"kind": "prime"},
            {"initial_margin": 0.0},
            {"initial_margin": 1.5},
            {"maintenance_margin": 0.6},
            {"borrow_bps": -1.0},
        ],
    )
    def test_nonsense_terms_are_refused(self, overrides):
        with pytest.raises(InvalidConfiguration):
            AccountTerms(**overrides)

    def test_the_default_account_checks_nothing(self):
        assert not AccountTerms().checks_orders
        assert account_refusal(AccountTerms(), exposure(signed_quantity=1e9)) is None


class TestFxSeries:
    def test_the_rate_at_a_time_is_the_last_one_stamped_at_or_before_it(self):
        fx = FxSeries.of("EUR", np.array([0, 2 * DAY]), np.array([1.10, 1.20]))
        assert fx.rate_at(0) == 1.10
        assert fx.rate_at(DAY) == 1.10
        assert fx.rate_at(2 * DAY) == 1.20

    def test_a_time_before_the_series_starts_is_refused(self):
        fx = FxSeries.of("EUR", np.array([DAY]), np.array([1.1]))
        with pytest.raises(InvalidConfiguration, match="no EUR rate at or before"):
            fx.rate_at(0)

    @pytest.mark.parametrize(
        ("ts", "rates"), [([0, 0], [1.0, 1.0]), ([0], [0.0]), ([], []), ([0, 1], [1.0])]
    )
    def test_malformed_series_are_refused(self, ts, rates):
        with pytest.raises(InvalidConfiguration):
            FxSeries.of("EUR", np.array(ts, dtype=np.int64), np.array(rates))


class TestMultiCurrencyPortfolio:
    def fill(self, symbol: str, side: OrderSide, quantity: float, price: float, fee: float = 0.0):
        return Fill(
            exec_id="e",
            client_order_id="c",
            symbol=symbol,
            side=side,
            quantity=quantity,
            price=price,
            fee=fee,
            ts_ns=0,
        )

    def test_a_foreign_position_is_valued_at_the_rate_and_paid_from_a_foreign_balance(self):
        portfolio = Portfolio(10_000.0, currencies={"SAP": "EUR", "AAPL": "USD"})
        portfolio.set_rate("EUR", 1.10)
        portfolio.apply_fill(self.fill("SAP", OrderSide.BUY, 10, 100.0, fee=1.0))
        assert portfolio.balances == {"USD": 10_000.0, "EUR": -1_001.0}
        assert portfolio.fees_paid == pytest.approx(1.10)
        portfolio.mark("SAP", 110.0)
        # 10,000 − 1,001 × 1.10 + 10 × 110 × 1.10 = 10,108.90
        equity, gross = portfolio.valuation()
        assert equity == pytest.approx(10_108.90)
        assert gross == pytest.approx(1_210.0)
        portfolio.set_rate("EUR", 1.00)  # the euro falls: only the net EUR (99) loses
        assert portfolio.equity == pytest.approx(10_099.0)

    def test_a_foreign_fill_before_any_rate_is_refused(self):
        portfolio = Portfolio(10_000.0, currencies={"SAP": "EUR"})
        with pytest.raises(InvalidConfiguration, match="no EUR"):
            portfolio.apply_fill(self.fill("SAP", OrderSide.BUY, 1, 100.0))

    def test_carry_is_paid_from_cash_and_kept_apart_from_fees(self):
        portfolio = Portfolio(1_000.0)
        portfolio.pay_carry(2.5)
        assert portfolio.cash == 997.5 and portfolio.carry_paid == 2.5 and portfolio.fees_paid == 0
