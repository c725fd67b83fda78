"""The backtest report's account figures: base-currency trade PnL and liquidations."""

from __future__ import annotations

from dataclasses import dataclass

from emp.app.backtest_report import (
    liquidations_json,
    run_liquidations,
    trades_in_base,
    trades_json,
)
from emp.domain.accounts import Liquidation
from emp.domain.trades import ClosedTrade

DAY = 86_400 * 10**9


def trade(pnl: float, rate: float = 1.0) -> ClosedTrade:
    return ClosedTrade(
        symbol="SAP",
        direction=1,
        entry_ns=0,
        exit_ns=DAY,
        max_quantity=10.0,
        pnl=pnl,
        entry_price=100.0,
        exit_price=110.0,
        exit_fx_rate=rate,
    )


class TestTradesInTheBaseCurrency:
    def test_the_json_trade_list_carries_pnl_in_both_currencies(self):
        (row,) = trades_json([trade(100.0, rate=1.25)])
        assert (row["pnl"], row["pnl_base"]) == (100.0, 125.0)

    def test_statistics_see_base_currency_pnl_in_a_multi_currency_run(self):
        converted = trades_in_base([trade(100.0, rate=1.25), trade(-10.0, rate=0.5)])
        assert [t.pnl for t in converted] == [125.0, -5.0]
        assert all(t.exit_fx_rate == 1.0 for t in converted)

    def test_a_one_currency_run_is_left_as_it_is(self):
        trades = [trade(100.0), trade(-10.0)]
        converted = trades_in_base(trades)
        assert converted == trades and all(a is b for a, b in zip(converted, trades, strict=True))


class TestLiquidations:
    def test_each_liquidation_is_a_json_row_with_time_side_and_reason(self):
        rows = liquidations_json([Liquidation(2 * DAY, "AAA", -26.0, "margin: equity low")])
        assert rows == [
            {
                "time": "1970-01-03T00:00:00Z",
                "symbol": "AAA",
                "quantity": -26.0,
                "side": "sell",
                "reason": "margin: equity low",
            }
        ]

    def test_a_buy_back_reads_buy(self):
        (row,) = liquidations_json([Liquidation(0, "AAA", 5.0, "r")])
        assert row["side"] == "buy"

    def test_a_run_result_gives_its_liquidations(self):
        @dataclass
        class Result:
            liquidations: list[Liquidation]

        items = [Liquidation(0, "AAA", 5.0, "r")]
        assert run_liquidations(Result(items)) == items
