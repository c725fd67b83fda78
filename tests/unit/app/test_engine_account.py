"""Account terms in the event engine: short borrow, buying power, margin breaches, FX.

Every expected figure is computed by hand in the test. Bars are daily, ``close = open +
0.5``; the simulated venue charges nothing and fills market orders at the next open.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from emp.adapters.clocks import ManualClock
from emp.adapters.fix_sim import SimulatedVenue
from emp.app.engine import BarEventEngine, RunResult
from emp.domain.accounts import AccountTerms, FxSeries
from emp.domain.bars import BarSeries
from emp.domain.errors import InvalidConfiguration
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.orders import OrderSide, OrderStatus
from emp.domain.risk import RiskManager
from emp.domain.strategy import OrderIntent
from tests.unit.app.test_engine import ScriptedStrategy

DAY = 86_400 * 10**9


def daily(symbol: str, opens: Sequence[float], days: Sequence[int] | None = None) -> BarSeries:
    o = np.asarray(opens, dtype=float)
    days = list(days) if days is not None else list(range(len(o)))
    return BarSeries.from_arrays(
        symbol, [d * DAY for d in days], o, o + 1.0, o - 1.0, o + 0.5, np.full(len(o), 1e6)
    )


def trade_on_first_bar(side: OrderSide, quantity: float):
    def script(i, bar, ctx):
        return [OrderIntent(symbol=bar.symbol, side=side, quantity=quantity)] if i == 0 else []

    return script


def run(
    series: BarSeries,
    script,
    *,
    cash: float = 100_000.0,
    account: AccountTerms | None = None,
    fx: list[FxSeries] | None = None,
    currency: str = "USD",
) -> RunResult:
    instruments = InstrumentRegistry([Instrument(symbol=series.symbol, currency=currency)])
    clock = ManualClock()
    return BarEventEngine(
        bars={series.symbol: series},
        instruments=instruments,
        strategy=ScriptedStrategy(script),
        risk=RiskManager(),
        venue=SimulatedVenue(instruments, clock),
        clock=clock,
        initial_cash=cash,
        account=account,
        fx=fx,
    ).run()


class TestShortBorrow:
    def test_a_short_pays_the_annual_rate_for_each_day_it_is_held(self):
        # short 10 filled at 100 on day 1; held over days 1→2 and 2→3 at the close 100.5:
        # 10 × 100.5 × 3.65% / 365 = 0.1005 a day
        result = run(
            daily("AAA", [100, 100, 100, 100]),
            trade_on_first_bar(OrderSide.SELL, 10),
            account=AccountTerms(borrow_bps=365.0),
        )
        assert result.portfolio.carry_paid == pytest.approx(0.201)
        assert result.equity[-1] == pytest.approx(100_000 + 1_000 - 1_005 - 0.201)
        assert result.portfolio.fees_paid == 0.0
        assert any("short borrow cost paid: 0.20" in note for note in result.notes)

    def test_calendar_days_count_so_a_weekend_costs_three_days(self):
        result = run(
            daily("AAA", [100, 100, 100], days=[0, 1, 4]),
            trade_on_first_bar(OrderSide.SELL, 10),
            account=AccountTerms(borrow_bps=365.0),
        )
        assert result.portfolio.carry_paid == pytest.approx(3 * 0.1005)

    def test_longs_pay_no_borrow(self):
        result = run(
            daily("AAA", [100, 100, 100, 100]),
            trade_on_first_bar(OrderSide.BUY, 10),
            account=AccountTerms(borrow_bps=365.0),
        )
        assert result.portfolio.carry_paid == 0.0


class TestBuyingPower:
    def test_a_margin_account_refuses_an_order_beyond_its_initial_margin(self):
        # reference 100.5: 250 units are 25,125 gross, 50% of it exceeds 10,000 equity
        result = run(
            daily("AAA", [100, 100, 100]),
            trade_on_first_bar(OrderSide.BUY, 250),
            cash=10_000.0,
            account=AccountTerms(kind="margin", initial_margin=0.5),
        )
        (order,) = result.orders
        assert order.status is OrderStatus.REJECTED
        assert order.reject_reason.startswith("account: the order needs initial margin 12,562.50")
        assert result.account_rejections == 1 and result.fills == []

    def test_within_the_initial_margin_the_order_fills_with_leverage(self):
        result = run(
            daily("AAA", [100, 100, 100]),
            trade_on_first_bar(OrderSide.BUY, 150),
            cash=10_000.0,
            account=AccountTerms(kind="margin", initial_margin=0.5),
        )
        assert [f.quantity for f in result.fills] == [150.0]
        assert result.portfolio.cash == pytest.approx(10_000 - 15_000)

    def test_a_cash_account_refuses_a_short_sale(self):
        result = run(
            daily("AAA", [100, 100]),
            trade_on_first_bar(OrderSide.SELL, 1),
            account=AccountTerms(kind="cash"),
        )
        assert "cannot sell short" in result.orders[0].reject_reason
        assert result.account_rejections == 1

    def test_the_unchecked_default_sends_anything(self):
        result = run(
            daily("AAA", [100, 100]), trade_on_first_bar(OrderSide.BUY, 1_000), cash=1_000.0
        )
        assert [f.quantity for f in result.fills] == [1_000.0]


class TestMaintenanceMargin:
    def test_a_breach_is_recorded_once_per_episode_with_its_figures(self):
        # 190 bought at 100 on day 1 with 10,000; the price falls to 60 on day 2:
        # equity 10,000 − 190 × (100 − 60.5) = 2,495, gross 190 × 60.5 = 11,495,
        # maintenance 25% of it = 2,873.75 > 2,495 → a breach, still on day 3
        result = run(
            daily("AAA", [100, 100, 60, 60]),
            trade_on_first_bar(OrderSide.BUY, 190),
            cash=10_000.0,
            account=AccountTerms(kind="margin", initial_margin=0.5, maintenance_margin=0.25),
        )
        (breach,) = result.margin_breaches
        assert breach.ts_ns == 2 * DAY
        assert breach.equity == pytest.approx(2_495.0)
        assert breach.requirement == pytest.approx(2_873.75)
        assert any("margin maintenance breach" in note for note in result.notes)


class TestMultiCurrency:
    def test_a_foreign_instrument_is_valued_in_the_base_currency_at_each_days_rate(self):
        fx = FxSeries.of("EUR", np.array([0, 2 * DAY]), np.array([1.1, 1.2]))
        result = run(
            daily("SAP", [100, 100, 100]),
            trade_on_first_bar(OrderSide.BUY, 10),
            cash=10_000.0,
            fx=[fx],
            currency="EUR",
        )
        # day 1: −1,000 EUR cash and 10 × 100.5 EUR held, at 1.1; day 2 at 1.2
        assert result.equity.tolist() == pytest.approx(
            [10_000.0, 10_000 - 1_100 + 1_105.5, 10_000 - 1_200 + 1_206]
        )
        assert result.portfolio.balances == {"USD": 10_000.0, "EUR": -1_000.0}
        assert result.gross_exposure[-1] == pytest.approx(1_206.0)

    def test_a_currency_without_a_series_is_refused_before_the_run(self):
        with pytest.raises(InvalidConfiguration, match="give an FX series"):
            run(
                daily("SAP", [100, 100]),
                trade_on_first_bar(OrderSide.BUY, 1),
                fx=[],
                currency="EUR",
            )

    def test_without_fx_series_the_single_currency_path_is_unchanged(self):
        plain = run(daily("SAP", [100, 101, 102]), trade_on_first_bar(OrderSide.BUY, 10))
        eur = run(
            daily("SAP", [100, 101, 102]), trade_on_first_bar(OrderSide.BUY, 10), currency="EUR"
        )
        assert plain.equity.tolist() == eur.equity.tolist()
