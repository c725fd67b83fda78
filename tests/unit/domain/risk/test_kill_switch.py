"""The kill switch: HALT cancels every working order and flattens every position, records
each step, refuses risk-increasing orders afterwards; external signals and breaches."""

from __future__ import annotations

import pytest

from emp.domain.commands import CancelOrder, SubmitOrder
from emp.domain.errors import InvalidConfiguration
from emp.domain.orders import OrderType
from emp.domain.risk import (
    KILL_SWITCH_STRATEGY,
    CancelOrdersIssued,
    FlattenCompleted,
    FlattenOrdersIssued,
    MaxGrossExposure,
    RiskManager,
    TradingState,
    TradingStateChanged,
)
from tests.unit.domain.risk.builders import BUY, SELL, account, check_input, working

HALTED = TradingState.HALTED


def busy_account(ts_ns: int = 100):
    return account(
        {"AAPL": 100, "MSFT": -40, "FLAT": 0.0},
        working=(working("o-1", "AAPL", BUY, 10), working("o-2", "TSLA", SELL, 5)),
        ts_ns=ts_ns,
    )


class TestHalt:
    def test_halt_cancels_every_working_order_and_flattens_every_position(self) -> None:
        manager = RiskManager()
        commands = manager.halt(ts_ns=100, reason="emp kill", account=busy_account())
        cancels = [c for c in commands if isinstance(c, CancelOrder)]
        submits = [c for c in commands if isinstance(c, SubmitOrder)]
        assert sorted(c.orig_client_order_id for c in cancels) == ["o-1", "o-2"]
        assert {(s.symbol, s.side, s.quantity) for s in submits} == {
            ("AAPL", SELL, 100.0),
            ("MSFT", BUY, 40.0),
        }
        assert all(s.order_type is OrderType.MARKET for s in submits)
        assert all(s.strategy == KILL_SWITCH_STRATEGY and s.ts_ns == 100 for s in submits)
        assert len({c.client_order_id for c in commands}) == len(commands)
        assert manager.state is HALTED

    def test_every_step_is_recorded_with_its_timestamp(self) -> None:
        manager = RiskManager()
        manager.halt(ts_ns=100, reason="emp kill", account=busy_account())
        kinds = [type(e) for e in manager.audit]
        assert kinds == [TradingStateChanged, CancelOrdersIssued, FlattenOrdersIssued]
        assert all(e.ts_ns == 100 for e in manager.audit)
        flatten = manager.audit[-1]
        assert flatten.orders == ("SELL 100 AAPL", "BUY 40 MSFT")
        assert manager.audit[0].source == "command"

    def test_completion_is_recorded_when_the_account_is_seen_flat(self) -> None:
        manager = RiskManager()
        manager.halt(ts_ns=100, reason="emp kill", account=busy_account())
        assert manager.to_dict()["flatten_pending"] is True
        assert manager.on_bar(account({}, ts_ns=250)) == ()
        done = manager.audit[-1]
        assert done == FlattenCompleted(ts_ns=250, halted_ns=100, elapsed_ns=150)
        assert manager.to_dict()["flatten_pending"] is False

    def test_a_repeated_halt_does_not_duplicate_working_flatten_orders(self) -> None:
        manager = RiskManager()
        first = manager.halt(ts_ns=100, reason="emp kill", account=busy_account())
        ours = tuple(
            working(c.client_order_id, c.symbol, c.side, c.quantity)
            for c in first
            if isinstance(c, SubmitOrder)
        )
        again = account(
            {"AAPL": 100, "MSFT": -40}, working=(working("o-1", "AAPL", BUY, 10), *ours)
        )
        assert manager.halt(ts_ns=101, reason="emp kill again", account=again) == ()

    def test_a_position_left_over_is_flattened_again_at_the_next_bar(self) -> None:
        manager = RiskManager()
        manager.halt(ts_ns=100, reason="emp kill", account=busy_account())
        commands = manager.on_bar(account({"AAPL": 30}, ts_ns=200))  # the venue refused part
        assert [(c.symbol, c.side, c.quantity) for c in commands] == [("AAPL", SELL, 30.0)]

    def test_after_halt_only_flattening_orders_are_approved(self) -> None:
        manager = RiskManager()
        manager.halt(ts_ns=100, reason="emp kill")
        assert not manager.check(check_input(BUY, 1, position=0)).approved
        assert not manager.check(check_input(SELL, 10, position=100)).approved
        assert manager.check(check_input(SELL, 100, position=100)).approved

    def test_halt_without_a_reason_is_refused(self) -> None:
        with pytest.raises(InvalidConfiguration, match="reason"):
            RiskManager().halt(ts_ns=1, reason="")


class TestOtherTriggers:
    def test_external_signal_halts_with_its_source(self) -> None:
        manager = RiskManager()
        manager.signal(ts_ns=5, reason="kill file /tmp/emp.kill", account=busy_account())
        assert manager.state is HALTED
        assert manager.audit[0].source == "signal"

    def test_signal_may_ask_for_reducing_only(self) -> None:
        manager = RiskManager()
        commands = manager.signal(
            ts_ns=5, reason="latency alert", account=busy_account(), target=TradingState.REDUCING
        )
        assert manager.state is TradingState.REDUCING
        # the working buy adds to the long AAPL; the TSLA sell opens a short: both cancelled
        assert sorted(c.orig_client_order_id for c in commands) == ["o-1", "o-2"]

    def test_reducing_keeps_working_orders_that_reduce(self) -> None:
        manager = RiskManager()
        acct = account({"AAPL": 100}, working=(working("o-1", "AAPL", SELL, 10),))
        assert manager.reduce(ts_ns=1, reason="test", account=acct) == ()

    def test_a_portfolio_breach_at_a_bar_escalates_when_configured(self) -> None:
        manager = RiskManager(
            rules=[MaxGrossExposure(5_000.0)], escalate_on_breach=TradingState.REDUCING
        )
        manager.on_bar(account({"AAPL": 40}, ts_ns=1))
        assert manager.state is TradingState.ACTIVE
        manager.on_bar(account({"AAPL": 60}, ts_ns=2))
        assert manager.state is TradingState.REDUCING
        change = next(e for e in manager.audit if isinstance(e, TradingStateChanged))
        assert change.source == "breach"
        assert "gross exposure is 6,000.00" in change.reason

    def test_breaches_do_not_escalate_by_default(self) -> None:
        manager = RiskManager(rules=[MaxGrossExposure(5_000.0)])
        manager.on_bar(account({"AAPL": 60}, ts_ns=2))
        assert manager.state is TradingState.ACTIVE
