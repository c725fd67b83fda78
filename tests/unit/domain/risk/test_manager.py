"""The RiskManager facade and the RiskConfig builder: wiring, book updates, audit, export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emp.domain.errors import InvalidConfiguration
from emp.domain.fills import Fill
from emp.domain.orders import Order
from emp.domain.portfolio import Portfolio
from emp.domain.risk import (
    AccountSnapshot,
    BreachAction,
    MaxGrossExposure,
    MaxPosition,
    OrderRiskRejected,
    OrderRiskResized,
    ReturnHistory,
    RiskConfig,
    RiskManager,
    TradingState,
    TradingStateGate,
    build_risk_manager,
    event_to_dict,
)
from tests.unit.domain.risk.builders import BUY, SELL, account, check_input


class TestCheck:
    def test_the_trading_state_gate_always_runs_first(self) -> None:
        manager = RiskManager(rules=[MaxPosition(10)])
        assert isinstance(manager.rules[0], TradingStateGate)
        assert [r.name for r in manager.rules] == ["trading_state", "max_position"]

    def test_approved_orders_count_for_the_next_intent_in_the_same_bar(self) -> None:
        manager = RiskManager(rules=[MaxGrossExposure(10_000.0)])
        manager.on_bar(account())
        assert manager.check(check_input(BUY, 60, symbol="A")).approved
        refused = manager.check(check_input(BUY, 60, symbol="B"))
        assert not refused.approved
        assert manager.book.gross == pytest.approx(6_000.0)

    def test_the_next_bar_rebuilds_the_book_from_the_account(self) -> None:
        manager = RiskManager(rules=[MaxGrossExposure(10_000.0)])
        manager.check(check_input(BUY, 60, symbol="A"))
        manager.on_bar(account({}))  # the order was cancelled
        assert manager.book.gross == 0.0
        assert manager.check(check_input(BUY, 60, symbol="B")).approved

    def test_rejections_and_resizes_are_audited_with_their_reasons(self) -> None:
        manager = RiskManager(rules=[MaxPosition(100, action=BreachAction.RESIZE)])
        manager.check(check_input(BUY, 150, ts_ns=7, strategy="s"))
        manager.check(check_input(BUY, 150, position=100, ts_ns=8, strategy="s"))
        resized, rejected = manager.audit
        assert resized == OrderRiskResized(
            ts_ns=7,
            strategy="s",
            symbol="AAPL",
            side="BUY",
            requested_quantity=150,
            approved_quantity=100.0,
            reasons=(
                "max_position: AAPL position would reach 150, limit is 100",
                "resized from 150 to 100",
            ),
        )
        assert isinstance(rejected, OrderRiskRejected)
        assert rejected.ts_ns == 8
        assert manager.decision_counts == {"approved": 0, "resized": 1, "rejected": 1}

    def test_capacity_reports_the_headroom_for_sizing(self) -> None:
        manager = RiskManager(rules=[MaxPosition(100, action=BreachAction.RESIZE)])
        assert manager.capacity(check_input(BUY, 1, position=30, lot_size=20)) == 60


class TestAccountSnapshot:
    def test_snapshot_from_the_portfolio_and_open_orders(self) -> None:
        portfolio = Portfolio(10_000.0)
        portfolio.apply_fill(
            Fill(
                exec_id="e1",
                client_order_id="c1",
                symbol="AAPL",
                side=BUY,
                quantity=10,
                price=100.0,
                fee=0.0,
                ts_ns=1,
            )
        )
        portfolio.mark("AAPL", 110.0)
        portfolio.mark("MSFT", 50.0)
        open_order = Order(client_order_id="c2", symbol="MSFT", side=SELL, quantity=5)
        done = Order(client_order_id="c3", symbol="MSFT", side=SELL, quantity=5)
        done.reject("no")
        snapshot = AccountSnapshot.from_portfolio(
            portfolio, ts_ns=9, working_orders=[open_order, done]
        )
        assert snapshot.positions == {"AAPL": 10}
        assert snapshot.marks == {"AAPL": 110.0, "MSFT": 50.0}
        assert [o.client_order_id for o in snapshot.working_orders] == ["c2"]
        assert snapshot.equity == pytest.approx(10_100.0)


class TestExport:
    def test_state_is_json_serialisable_and_complete(self) -> None:
        manager = build_risk_manager(
            RiskConfig(
                max_position=10,
                max_var=1_000.0,
                halt_drawdown=0.2,
                volatility_tiers=((0.0, 1.0, 1.0), (0.3, 0.5, 0.5)),
                regime_scales={"high_vol": 0.5},
            )
        )
        history = ReturnHistory(
            symbols=("AAPL",), returns=np.random.default_rng(1).normal(0, 0.01, (50, 1))
        )
        manager.on_bar(account({"AAPL": 5}, ts_ns=1), returns=history, realised_volatility=0.5)
        manager.check(check_input(BUY, 50))
        manager.halt(ts_ns=2, reason="test", account=account({"AAPL": 5}, ts_ns=2))
        state = json.loads(json.dumps(manager.to_dict(), allow_nan=False))
        assert state["trading_state"] == "HALTED"
        assert state["timeline"] == [{"ts_ns": 2, "state": "HALTED"}]
        assert state["volatility_tier"]["name"] == "tier1"
        assert state["drawdown"]["peak_equity"] == 1_000_000.0
        assert state["decisions"]["rejected"] == 1
        events = [e["event"] for e in state["audit"]]
        assert events == [
            "VolatilityTierChanged",
            "OrderRiskRejected",
            "TradingStateChanged",
            "FlattenOrdersIssued",
        ]

    def test_event_dicts_name_their_type(self) -> None:
        manager = RiskManager()
        manager.halt(ts_ns=3, reason="x")
        assert event_to_dict(manager.audit[0]) == {
            "event": "TradingStateChanged",
            "ts_ns": 3,
            "previous": "ACTIVE",
            "current": "HALTED",
            "source": "command",
            "reason": "x",
        }


class TestConfig:
    def test_every_configured_limit_becomes_a_rule(self) -> None:
        config = RiskConfig(
            allowed_symbols=("AAPL",),
            max_order_quantity=1_000,
            max_order_notional=1e6,
            max_position=500,
            max_position_notional=1e5,
            max_gross_exposure=1e6,
            max_net_exposure=5e5,
            max_leverage=2.0,
            max_open_orders=20,
            price_collar=0.05,
            groupings={"sector": {"AAPL": "tech"}},
            group_limits={"sector": {"tech": 1e5}},
            group_default_limits={"currency": 1e6},
            max_var=1e4,
            max_beta_exposure=1e6,
            strategy_orders_per_second=5,
            global_orders_per_second=50,
            max_losing_adds=2,
        )
        names = [r.name for r in build_risk_manager(config).rules]
        assert names == [
            "trading_state",
            "instrument_allowed",
            "price_collar",
            "max_open_orders",
            "strategy_order_rate",
            "global_order_rate",
            "max_order_quantity",
            "max_order_notional",
            "max_position",
            "max_position_notional",
            "no_doubling_down",
            "max_gross_exposure",
            "max_net_exposure",
            "max_leverage",
            "max_currency_exposure",
            "max_sector_exposure",
            "max_beta_exposure",
            "max_var_historical",
        ]

    def test_resize_switches_the_named_rules_to_resizing(self) -> None:
        manager = build_risk_manager(
            RiskConfig(max_position=10, max_leverage=1.0, resize=frozenset({"max_position"}))
        )
        actions = {r.name: getattr(r, "action", None) for r in manager.rules}
        assert actions["max_position"] is BreachAction.RESIZE
        assert actions["max_leverage"] is BreachAction.REJECT

    def test_resize_of_an_unconfigured_rule_is_refused(self) -> None:
        with pytest.raises(InvalidConfiguration, match="max_var_historical"):
            build_risk_manager(RiskConfig(resize=frozenset({"max_var_historical"})))

    @pytest.mark.parametrize("value", ["ACTIVE", "panic"])
    def test_escalation_state_must_be_reducing_or_halted(self, value: str) -> None:
        with pytest.raises(InvalidConfiguration, match="escalate_on_breach"):
            build_risk_manager(RiskConfig(escalate_on_breach=value))

    def test_drawdown_and_breach_escalation_are_built(self) -> None:
        manager = build_risk_manager(
            RiskConfig(reduce_drawdown=0.05, max_gross_exposure=1.0, escalate_on_breach="halted")
        )
        manager.on_bar(account({"AAPL": 1}, ts_ns=1))
        assert manager.state is TradingState.HALTED
