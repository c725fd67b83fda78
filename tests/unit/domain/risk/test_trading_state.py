"""The trading state machine and drawdown braking: escalation, hysteresis, explicit resume."""

from __future__ import annotations

import pytest

from emp.domain.errors import InvalidConfiguration
from emp.domain.risk import (
    AuditLog,
    DrawdownBrake,
    DrawdownLimits,
    DrawdownThresholdCrossed,
    IllegalTradingTransition,
    RiskManager,
    TradingState,
    TradingStateChanged,
    TradingStateGate,
    TradingStateMachine,
    TriggerSource,
)
from emp.domain.risk.drawdown import NS_PER_DAY
from tests.unit.domain.risk.builders import BUY, SELL, account, check_input

ACTIVE, REDUCING, HALTED = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED
HOUR = 3_600 * 10**9


class TestStateMachine:
    def test_escalation_moves_up_and_is_recorded(self) -> None:
        audit = AuditLog()
        machine = TradingStateMachine(audit)
        assert machine.escalate(REDUCING, ts_ns=5, source=TriggerSource.SIGNAL, reason="alert")
        assert machine.state is REDUCING
        assert audit.events == (
            TradingStateChanged(
                ts_ns=5, previous="ACTIVE", current="REDUCING", source="signal", reason="alert"
            ),
        )

    def test_escalation_never_lowers_the_state(self) -> None:
        machine = TradingStateMachine(AuditLog())
        machine.escalate(HALTED, ts_ns=1, source=TriggerSource.COMMAND, reason="kill")
        assert not machine.escalate(REDUCING, ts_ns=2, source=TriggerSource.DRAWDOWN, reason="x")
        assert machine.state is HALTED
        assert machine.timeline == ((1, HALTED),)

    def test_resume_needs_a_reason(self) -> None:
        machine = TradingStateMachine(AuditLog())
        machine.escalate(HALTED, ts_ns=1, source=TriggerSource.COMMAND, reason="kill")
        with pytest.raises(IllegalTradingTransition, match="reason"):
            machine.resume(ts_ns=2, reason="  ")

    def test_resume_must_lower_the_state(self) -> None:
        machine = TradingStateMachine(AuditLog())
        with pytest.raises(IllegalTradingTransition, match="it is ACTIVE"):
            machine.resume(ts_ns=2, reason="why not")

    def test_resume_may_stop_at_reducing(self) -> None:
        audit = AuditLog()
        machine = TradingStateMachine(audit)
        machine.escalate(HALTED, ts_ns=1, source=TriggerSource.COMMAND, reason="kill")
        machine.resume(ts_ns=2, reason="positions reviewed", to=REDUCING)
        assert machine.state is REDUCING
        last = audit.events[-1]
        assert (last.previous, last.current, last.source) == ("HALTED", "REDUCING", "command")


class TestDrawdownLimits:
    @pytest.mark.parametrize(
        "kwargs",
        [
            {"reduce_at": 0.0},
            {"halt_at": 1.0},
            {"reduce_at": 0.2, "halt_at": 0.1},
            {"intraday_reduce_at": 0.05, "intraday_halt_at": 0.05},
            {"reduce_at": 0.05, "hysteresis": 0.05},
            {"hysteresis": -0.01},
            {"session_length_ns": 0},
        ],
    )
    def test_inconsistent_thresholds_are_refused(self, kwargs) -> None:
        with pytest.raises(InvalidConfiguration):
            DrawdownLimits(**kwargs)


class TestDrawdownBrake:
    def test_peak_to_trough_thresholds_fire_once_each(self) -> None:
        brake = DrawdownBrake(DrawdownLimits(reduce_at=0.10, halt_at=0.20, hysteresis=0.02))
        assert brake.update(0, 100.0) == []
        fired = brake.update(1, 89.0)
        assert [(f.measure, f.target) for f in fired] == [("peak_to_trough", REDUCING)]
        assert brake.update(2, 88.0) == []
        fired = brake.update(3, 79.0)
        assert [f.target for f in fired] == [HALTED]

    def test_hysteresis_stops_refiring_until_recovery_below_the_band(self) -> None:
        brake = DrawdownBrake(DrawdownLimits(reduce_at=0.10, hysteresis=0.02))
        brake.update(0, 100.0)
        assert len(brake.update(1, 89.0)) == 1  # 11 %
        assert brake.update(2, 91.0) == []  # 9 %: recovered, but not below 8 %
        assert brake.update(3, 89.0) == []  # 11 % again: still disarmed, no flapping
        assert brake.update(4, 93.0) == []  # 7 %: re-armed
        assert len(brake.update(5, 89.5)) == 1  # 10.5 %: fires again

    def test_intraday_drawdown_restarts_each_session(self) -> None:
        brake = DrawdownBrake(DrawdownLimits(intraday_reduce_at=0.05, hysteresis=0.01))
        brake.update(0, 100.0)
        assert len(brake.update(HOUR, 94.0)) == 1
        brake.update(NS_PER_DAY, 94.0)  # new session: its peak is 94
        assert brake.intraday_drawdown == 0.0
        assert brake.drawdown == pytest.approx(0.06)
        assert len(brake.update(NS_PER_DAY + HOUR, 89.0)) == 1  # 5.3 % below 94

    def test_intraday_peak_is_the_session_high(self) -> None:
        brake = DrawdownBrake(DrawdownLimits(intraday_halt_at=0.05))
        brake.update(0, 100.0)
        brake.update(HOUR, 110.0)
        fired = brake.update(2 * HOUR, 104.0)
        assert [f.measure for f in fired] == ["intraday"]
        assert brake.intraday_drawdown == pytest.approx(6 / 110)


class TestBrakingThroughTheManager:
    def make(self) -> RiskManager:
        limits = DrawdownLimits(reduce_at=0.05, halt_at=0.10, hysteresis=0.01)
        return RiskManager(drawdown=limits)

    def test_drawdown_moves_active_to_reducing_to_halted(self) -> None:
        manager = self.make()
        manager.on_bar(account(equity=100.0, ts_ns=0))
        manager.on_bar(account(equity=94.0, ts_ns=1))
        assert manager.state is REDUCING
        manager.on_bar(account(equity=89.0, ts_ns=2))
        assert manager.state is HALTED
        crossings = [e for e in manager.audit if isinstance(e, DrawdownThresholdCrossed)]
        assert [(e.ts_ns, e.target) for e in crossings] == [(1, "REDUCING"), (2, "HALTED")]
        changes = [e for e in manager.audit if isinstance(e, TradingStateChanged)]
        assert [(e.ts_ns, e.current, e.source) for e in changes] == [
            (1, "REDUCING", "drawdown"),
            (2, "HALTED", "drawdown"),
        ]

    def test_recovery_never_lowers_the_state_by_itself(self) -> None:
        manager = self.make()
        manager.on_bar(account(equity=100.0, ts_ns=0))
        manager.on_bar(account(equity=94.0, ts_ns=1))
        for ts in range(2, 20):
            manager.on_bar(account(equity=100.0 + ts, ts_ns=ts))
        assert manager.state is REDUCING

    def test_resume_is_explicit_logged_and_does_not_flap(self) -> None:
        manager = self.make()
        manager.on_bar(account(equity=100.0, ts_ns=0))
        manager.on_bar(account(equity=94.0, ts_ns=1))
        manager.resume(ts_ns=2, reason="risk committee accepted the loss")
        assert manager.state is ACTIVE
        for ts, equity in enumerate([94.5, 93.8, 94.2, 94.0], start=3):  # hovering at 6 %
            manager.on_bar(account(equity=equity, ts_ns=ts))
        assert manager.state is ACTIVE
        last = [e for e in manager.audit if isinstance(e, TradingStateChanged)][-1]
        assert (last.current, last.source, last.reason) == (
            "ACTIVE",
            "command",
            "risk committee accepted the loss",
        )
        manager.on_bar(account(equity=89.0, ts_ns=10))  # the deeper, armed threshold
        assert manager.state is HALTED

    def test_after_recovery_the_same_threshold_fires_again(self) -> None:
        manager = self.make()
        manager.on_bar(account(equity=100.0, ts_ns=0))
        manager.on_bar(account(equity=94.0, ts_ns=1))
        manager.resume(ts_ns=2, reason="ok")
        manager.on_bar(account(equity=97.0, ts_ns=3))  # 3 %: below 5 % - 1 %: re-armed
        manager.on_bar(account(equity=94.0, ts_ns=4))
        assert manager.state is REDUCING


class TestTradingStateGate:
    def gate_in(self, state: TradingState):
        manager = RiskManager()
        if state is not ACTIVE:
            manager.reduce(ts_ns=0, reason="test") if state is REDUCING else manager.halt(
                ts_ns=0, reason="test"
            )
        return TradingStateGate(), manager.context

    def test_active_passes_everything(self) -> None:
        gate, ctx = self.gate_in(ACTIVE)
        assert gate.check(check_input(BUY, 10, context=ctx)) is None

    @pytest.mark.parametrize(
        ("side", "quantity", "position", "open_sell", "passes"),
        [
            (SELL, 10, 50, 0, True),
            (SELL, 50, 50, 0, True),
            (SELL, 51, 50, 0, False),  # crosses zero
            (BUY, 1, 50, 0, False),
            (BUY, 1, 0, 0, False),
            (SELL, 30, 50, 30, False),  # with the working sell it crosses zero
        ],
    )
    def test_reducing_passes_only_orders_that_shrink_the_position(
        self, side, quantity, position, open_sell, passes
    ) -> None:
        gate, ctx = self.gate_in(REDUCING)
        data = check_input(side, quantity, position=position, open_sell=open_sell, context=ctx)
        assert (gate.check(data) is None) is passes

    @pytest.mark.parametrize(
        ("side", "quantity", "position", "passes"),
        [(SELL, 50, 50, True), (BUY, 20, -20, True), (SELL, 10, 50, False), (BUY, 1, 0, False)],
    )
    def test_halted_passes_only_flattening_orders(self, side, quantity, position, passes) -> None:
        gate, ctx = self.gate_in(HALTED)
        data = check_input(side, quantity, position=position, context=ctx)
        assert (gate.check(data) is None) is passes

    def test_without_a_context_the_gate_passes(self) -> None:
        assert TradingStateGate().check(check_input(BUY, 10)) is None
