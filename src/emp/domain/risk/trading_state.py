"""The trading state machine: ACTIVE → REDUCING → HALTED, escalated automatically,
de-escalated only by an explicit, logged resume.

::

    ┌────────┐  escalate   ┌──────────┐  escalate   ┌────────┐
    │ ACTIVE │ ──────────▶ │ REDUCING │ ──────────▶ │ HALTED │
    └────────┘ ◀────────── └──────────┘ ◀────────── └────────┘
        ▲        resume                   resume        │
        └────────────────────── resume ─────────────────┘

Escalation (ACTIVE → HALTED directly too) comes from a command, a drawdown threshold, a
breach or an external signal; nothing but :meth:`TradingStateMachine.resume`, which needs
a reason, ever lowers the state, so the machine cannot flap on its own.
"""

from __future__ import annotations

from enum import Enum

from emp.domain.errors import DomainError
from emp.domain.risk.audit import AuditLog, TradingStateChanged


class TradingState(Enum):
    """What may trade: everything, only risk-reducing orders, only flattening orders."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


class TriggerSource(Enum):
    """What moved the trading state."""

    COMMAND = "command"
    DRAWDOWN = "drawdown"
    BREACH = "breach"
    SIGNAL = "signal"


class IllegalTradingTransition(DomainError):
    """A resume that does not lower the state, or one without a reason."""


class TradingStateMachine:
    """The current trading state and its timeline; every move is an audit event."""

    __slots__ = ("_audit", "_state", "_timeline")

    def __init__(self, audit: AuditLog) -> None:
        self._audit = audit
        self._state = TradingState.ACTIVE
        self._timeline: list[tuple[int, TradingState]] = []

    @property
    def state(self) -> TradingState:
        return self._state

    @property
    def timeline(self) -> tuple[tuple[int, TradingState], ...]:
        """``(ts_ns, new state)`` for every change, oldest first."""
        return tuple(self._timeline)

    def escalate(
        self, target: TradingState, *, ts_ns: int, source: TriggerSource, reason: str
    ) -> bool:
        """Move up to ``target``; a target at or below the current state changes nothing."""
        if target.rank <= self._state.rank:
            return False
        self._move(target, ts_ns, source, reason)
        return True

    def resume(self, *, ts_ns: int, reason: str, to: TradingState = TradingState.ACTIVE) -> None:
        """Lower the state to ``to`` on an operator's command; ``reason`` is mandatory."""
        if not reason or not reason.strip():
            raise IllegalTradingTransition("a resume needs a reason, in words")
        if to.rank >= self._state.rank:
            raise IllegalTradingTransition(
                f"resume must lower the trading state: it is {self._state.value}, "
                f"resume to {to.value} was asked"
            )
        self._move(to, ts_ns, TriggerSource.COMMAND, reason)

    def _move(self, target: TradingState, ts_ns: int, source: TriggerSource, reason: str) -> None:
        previous = self._state
        self._state = target
        self._timeline.append((ts_ns, target))
        self._audit.record(
            TradingStateChanged(
                ts_ns=ts_ns,
                previous=previous.value,
                current=target.value,
                source=source.value,
                reason=reason,
            )
        )
