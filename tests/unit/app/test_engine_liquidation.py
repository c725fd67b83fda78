"""Margin liquidation in the event engine: a gap down is liquidated at the next bar's open.

Bars are daily, ``close = open + 0.5`` (see ``test_engine_account``); the simulated venue
charges nothing and fills market orders at the next open. Every figure is hand-computed:
190 units bought at 100 with 10,000 of cash (2× leverage allowed), the price gaps to 60 on
day 2 — equity 10,000 − 190 × (100 − 60.5) = 2,495 against a requirement of 25% of
190 × 60.5 = 11,495, i.e. 2,873.75.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from emp.adapters.clocks import ManualClock
from emp.adapters.fix_sim import SimulatedVenue
from emp.app.engine import BarEventEngine
from emp.app.engine_account import LIQUIDATION_STRATEGY
from emp.domain.accounts import AccountTerms, Liquidation
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.orders import OrderSide, OrderStatus, OrderType, TimeInForce
from emp.domain.risk import RiskManager
from emp.domain.risk.rule import RiskCheckInput
from emp.domain.strategy import OrderIntent
from tests.unit.app.test_engine import ScriptedStrategy
from tests.unit.app.test_engine_account import DAY, daily, run, trade_on_first_bar

GAP = [100, 100, 60, 60, 60]
BUY_190 = trade_on_first_bar(OrderSide.BUY, 190)


def margin(liquidation: str = "reduce") -> AccountTerms:
    return AccountTerms(
        kind="margin", initial_margin=0.5, maintenance_margin=0.25, liquidation=liquidation
    )


def liquidation_fills(result):
    ids = {o.client_order_id for o in result.orders if o.strategy == LIQUIDATION_STRATEGY}
    return [
        (f.ts_ns, f.side, f.quantity, f.price) for f in result.fills if f.client_order_id in ids
    ]


class TestReduce:
    def test_a_gap_down_is_liquidated_at_the_open_of_the_bar_after_the_breach(self):
        result = run(daily("AAA", GAP), BUY_190, cash=10_000.0, account=margin())
        # 11,495 − 2,495 / 0.25 = 1,515 must go: 1,515 / 60.5 → 26 units, sold at 60 on day 3
        assert result.liquidations == [
            Liquidation(
                2 * DAY,
                "AAA",
                -26.0,
                "margin: equity 2,495.00 below maintenance 2,873.75 (25% of gross 11,495.00)",
            )
        ]
        assert liquidation_fills(result) == [(3 * DAY, OrderSide.SELL, 26.0, 60.0)]
        assert result.portfolio.quantity("AAA") == 164.0

    def test_equity_respects_maintenance_once_the_liquidation_filled(self):
        result = run(daily("AAA", GAP), BUY_190, cash=10_000.0, account=margin())
        # day 3: cash −19,000 + 26 × 60 = −17,440 + 10,000; 164 × 60.5 = 9,922 held
        assert result.equity[3] == pytest.approx(2_482.0)
        assert result.gross_exposure[3] == pytest.approx(9_922.0)
        for equity, gross in zip(result.equity[3:], result.gross_exposure[3:], strict=True):
            assert equity >= 0.25 * gross
        assert len(result.margin_breaches) == 1

    def test_liquidation_orders_are_not_the_strategys_and_skip_its_fill_hook(self):
        result = run(daily("AAA", GAP), BUY_190, cash=10_000.0, account=margin())
        liquidation = [o for o in result.orders if o.strategy == LIQUIDATION_STRATEGY]
        assert [o.client_order_id for o in liquidation] == [f"{LIQUIDATION_STRATEGY}-1"]
        assert liquidation[0].status is OrderStatus.FILLED

    def test_a_strategy_exiting_on_the_breach_bar_is_not_sold_short(self):
        def buy_then_exit_on_the_gap(i, bar, ctx):
            if i in (0, 2):
                side = OrderSide.BUY if i == 0 else OrderSide.SELL
                return [OrderIntent(symbol=bar.symbol, side=side, quantity=190)]
            return []

        result = run(daily("AAA", GAP), buy_then_exit_on_the_gap, cash=10_000.0, account=margin())
        assert result.liquidations == [] and result.portfolio.quantity("AAA") == 0.0

    def test_a_resting_buy_that_adds_exposure_is_canceled_at_the_breach(self):
        def buy_and_rest_a_bid(i, bar, ctx):
            if i == 0:
                return [
                    OrderIntent(symbol=bar.symbol, side=OrderSide.BUY, quantity=190),
                    OrderIntent(  # 198 × 100.5 × 50% = 9,949.5: within initial margin
                        symbol=bar.symbol,
                        side=OrderSide.BUY,
                        quantity=8,
                        order_type=OrderType.LIMIT,
                        limit_price=1.0,
                        time_in_force=TimeInForce.GTC,
                    ),
                ]
            return []

        result = run(daily("AAA", GAP), buy_and_rest_a_bid, cash=10_000.0, account=margin())
        (bid,) = [o for o in result.orders if o.order_type is OrderType.LIMIT]
        assert bid.status is OrderStatus.CANCELED
        assert any("canceled 1 working order(s) that added exposure" in n for n in result.notes)
        assert result.liquidations[0].ts_ns == 2 * DAY

    def test_a_liquidation_is_listed_in_the_notes(self):
        result = run(daily("AAA", GAP), BUY_190, cash=10_000.0, account=margin())
        assert any(
            note.startswith("liquidation at 1970-01-03T00:00:00Z: sell 26 AAA")
            for note in result.notes
        )


@dataclass(frozen=True, slots=True)
class RefuseEverythingAfterDayOne:
    """A pre-trade rule that refuses every order decided after day 1."""

    name: str = "refuse_after_day_one"

    def check(self, data: RiskCheckInput) -> str | None:
        return "closed for the day" if data.ts_ns > DAY else None


class TestRiskDoesNotBlockLiquidation:
    def test_a_liquidation_goes_through_even_when_risk_refuses_every_order(self):
        series = daily("AAA", GAP)
        instruments = InstrumentRegistry([Instrument(symbol="AAA")])
        clock = ManualClock()
        result = BarEventEngine(
            bars={"AAA": series},
            instruments=instruments,
            strategy=ScriptedStrategy(BUY_190),
            risk=RiskManager(rules=[RefuseEverythingAfterDayOne()]),
            venue=SimulatedVenue(instruments, clock),
            clock=clock,
            initial_cash=10_000.0,
            account=margin(),
        ).run()
        assert liquidation_fills(result) == [(3 * DAY, OrderSide.SELL, 26.0, 60.0)]


class TestOtherPolicies:
    def test_policy_all_closes_the_position_and_the_round_trip(self):
        result = run(daily("AAA", GAP), BUY_190, cash=10_000.0, account=margin("all"))
        assert liquidation_fills(result) == [(3 * DAY, OrderSide.SELL, 190.0, 60.0)]
        (trade,) = result.trades
        assert trade.exit_ns == 3 * DAY and trade.pnl == pytest.approx(190 * (60 - 100))
        assert result.portfolio.quantity("AAA") == 0.0

    def test_policy_none_keeps_the_position_and_only_records_the_breach(self):
        result = run(daily("AAA", GAP), BUY_190, cash=10_000.0, account=margin("none"))
        assert result.liquidations == [] and liquidation_fills(result) == []
        assert [f.quantity for f in result.fills] == [190.0]
        assert result.portfolio.quantity("AAA") == 190.0
        assert len(result.margin_breaches) == 1
        assert result.equity[-1] == pytest.approx(2_495.0)

    def test_a_cash_account_never_liquidates(self):
        result = run(
            daily("AAA", [100, 100, 10, 10]),
            trade_on_first_bar(OrderSide.BUY, 90),
            cash=10_000.0,
            account=AccountTerms(kind="cash"),
        )
        assert result.liquidations == [] and result.margin_breaches == []
        assert [f.quantity for f in result.fills] == [90.0]

    def test_an_unchecked_account_never_liquidates(self):
        result = run(daily("AAA", GAP), BUY_190, cash=10_000.0)
        assert result.liquidations == [] and [f.quantity for f in result.fills] == [190.0]
