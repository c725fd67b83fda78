"""Closed trades of a multi-currency run carry their PnL in the base currency (exit rate).

A euro stock in a dollar account: EURUSD moves every day, the trade's ``pnl_base`` is its
euro PnL at the rate in force when it closed. Bars as in ``test_engine_account``.
"""

from __future__ import annotations

import numpy as np
import pytest

from emp.app.backtest_report import trades_in_base
from emp.domain.accounts import FxSeries
from emp.domain.orders import OrderSide
from emp.domain.strategy import OrderIntent
from tests.unit.app.test_engine_account import DAY, daily, run

EURUSD = FxSeries.of("EUR", np.array([0, DAY, 2 * DAY, 3 * DAY]), np.array([1.1, 1.2, 1.3, 1.4]))


def buy_then_sell(i, bar, ctx):
    if i == 0:
        return [OrderIntent(symbol=bar.symbol, side=OrderSide.BUY, quantity=10)]
    if i == 2:
        return [OrderIntent(symbol=bar.symbol, side=OrderSide.SELL, quantity=10)]
    return []


class TestTradePnlInBaseCurrency:
    def test_a_euro_round_trip_is_converted_at_the_rate_of_its_exit(self):
        # bought 10 at the day-1 open 100, sold at the day-3 open 110: 100 EUR, at 1.4
        result = run(
            daily("SAP", [100, 100, 105, 110]),
            buy_then_sell,
            cash=10_000.0,
            fx=[EURUSD],
            currency="EUR",
        )
        (trade,) = result.trades
        assert trade.pnl == pytest.approx(100.0)
        assert trade.exit_fx_rate == 1.4
        assert trade.pnl_base == pytest.approx(140.0)

    def test_a_one_currency_run_keeps_rate_one(self):
        result = run(daily("AAA", [100, 100, 105, 110]), buy_then_sell, cash=10_000.0)
        (trade,) = result.trades
        assert trade.exit_fx_rate == 1.0 and trade.pnl_base == trade.pnl

    def test_the_summary_counts_wins_in_the_base_currency(self):
        result = run(
            daily("SAP", [100, 100, 105, 110]),
            buy_then_sell,
            cash=10_000.0,
            fx=[EURUSD],
            currency="EUR",
        )
        (converted,) = trades_in_base(result.trades)
        assert converted.pnl == pytest.approx(140.0) and converted.exit_fx_rate == 1.0
