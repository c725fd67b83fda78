"""The kill switch: escalates the trading state and, on HALT, says how to get flat.

The switch produces domain commands, it sends nothing: on HALT the app passes the
returned :class:`~emp.domain.commands.CancelOrder` and
:class:`~emp.domain.commands.SubmitOrder` commands to the venue port. Each step is an
audit event with its timestamp: the state change, the cancels, the flattening orders and,
once the account is seen flat with nothing working, the completion.

A repeated HALT (``emp kill`` twice, a position left because a flattening order was
refused) cancels what is still working except the switch's own flattening orders and
flattens only what those do not already cover, so commands never pile up.
"""

from __future__ import annotations

from emp.domain.commands import CancelOrder, SubmitOrder, VenueCommand
from emp.domain.orders import OrderSide, OrderType, TimeInForce
from emp.domain.risk.account import AccountSnapshot, WorkingOrder
from emp.domain.risk.audit import (
    AuditLog,
    CancelOrdersIssued,
    FlattenCompleted,
    FlattenOrdersIssued,
)
from emp.domain.risk.rule import QTY_EPS
from emp.domain.risk.trading_state import TradingState, TradingStateMachine, TriggerSource

#: The ``strategy`` of every order the kill switch submits.
KILL_SWITCH_STRATEGY = "risk"


class KillSwitch:
    """The trading state machine plus the cancel-and-flatten plan.

    Args:
        audit: where every step is recorded.
        id_prefix: client order ids are ``{prefix}-cancel-{n}`` and ``{prefix}-flatten-{n}``.
        cancel_increasing_on_reduce: on entering REDUCING, also cancel the working orders
            that would increase a position.
    """

    def __init__(
        self,
        audit: AuditLog,
        *,
        id_prefix: str = "risk",
        cancel_increasing_on_reduce: bool = True,
    ) -> None:
        self._audit = audit
        self.machine = TradingStateMachine(audit)
        self._prefix = id_prefix
        self._cancel_increasing = cancel_increasing_on_reduce
        self._sequence = 0
        self._flatten_ids: set[str] = set()
        self._cancel_requested: set[str] = set()
        self._halted_ns: int | None = None

    @property
    def state(self) -> TradingState:
        return self.machine.state

    @property
    def flatten_pending(self) -> bool:
        """True from a HALT until the account is seen flat with nothing working."""
        return self._halted_ns is not None

    def engage(
        self,
        target: TradingState,
        *,
        ts_ns: int,
        source: TriggerSource,
        reason: str,
        account: AccountSnapshot | None,
    ) -> tuple[VenueCommand, ...]:
        """Escalate to ``target`` (if higher) and return the commands that state calls for.

        HALTED: cancel every working order and flatten every position (also when the
        state already was HALTED). REDUCING, when newly entered: cancel the working orders
        that would increase a position (if so configured). Without an ``account`` only the
        state changes.
        """
        changed = self.machine.escalate(target, ts_ns=ts_ns, source=source, reason=reason)
        if account is None:
            return ()
        if self.machine.state is TradingState.HALTED and target is TradingState.HALTED:
            if self._halted_ns is None:
                self._halted_ns = ts_ns
            return self._flatten(account, ts_ns, reason)
        if changed and target is TradingState.REDUCING and self._cancel_increasing:
            increasing = [o for o in account.working_orders if _increases(o, account)]
            return tuple(self._cancel(increasing, ts_ns, reason))
        return ()

    def resume(self, *, ts_ns: int, reason: str, to: TradingState = TradingState.ACTIVE) -> None:
        self.machine.resume(ts_ns=ts_ns, reason=reason, to=to)
        if to is not TradingState.HALTED:
            self._halted_ns = None

    def follow_up(self, account: AccountSnapshot) -> tuple[VenueCommand, ...]:
        """Once per bar while HALTED: record completion, or re-flatten what is uncovered."""
        if self._halted_ns is None or self.machine.state is not TradingState.HALTED:
            return ()
        open_positions = [s for s, q in account.positions.items() if abs(q) > QTY_EPS]
        if not open_positions and not account.working_orders:
            self._audit.record(
                FlattenCompleted(
                    ts_ns=account.ts_ns,
                    halted_ns=self._halted_ns,
                    elapsed_ns=account.ts_ns - self._halted_ns,
                )
            )
            self._halted_ns = None
            return ()
        return self._flatten(account, account.ts_ns, "flatten follow-up after HALT")

    # ----------------------------------------------------------------- plans
    def _flatten(
        self, account: AccountSnapshot, ts_ns: int, reason: str
    ) -> tuple[VenueCommand, ...]:
        own = [o for o in account.working_orders if o.client_order_id in self._flatten_ids]
        others = [
            o
            for o in account.working_orders
            if o.client_order_id not in self._flatten_ids
            and o.client_order_id not in self._cancel_requested
        ]
        commands: list[VenueCommand] = list(self._cancel(others, ts_ns, reason))
        covered: dict[str, float] = {}
        for order in own:
            covered[order.symbol] = (
                covered.get(order.symbol, 0.0) + order.side.sign * order.leaves_quantity
            )
        submits: list[SubmitOrder] = []
        for symbol in sorted(account.positions):
            remaining = account.positions[symbol] + covered.get(symbol, 0.0)
            if abs(remaining) <= QTY_EPS * max(1.0, abs(account.positions[symbol])):
                continue
            if (remaining > 0) != (account.positions[symbol] > 0):
                continue  # own orders already over-cover it; never flip the position
            self._sequence += 1
            submit = SubmitOrder(
                client_order_id=f"{self._prefix}-flatten-{self._sequence}",
                symbol=symbol,
                side=OrderSide.SELL if remaining > 0 else OrderSide.BUY,
                quantity=round(abs(remaining), 12),
                order_type=OrderType.MARKET,
                time_in_force=TimeInForce.DAY,
                strategy=KILL_SWITCH_STRATEGY,
                ts_ns=ts_ns,
            )
            self._flatten_ids.add(submit.client_order_id)
            submits.append(submit)
        if submits:
            self._audit.record(
                FlattenOrdersIssued(
                    ts_ns=ts_ns,
                    client_order_ids=tuple(s.client_order_id for s in submits),
                    orders=tuple(f"{s.side.value} {s.quantity:g} {s.symbol}" for s in submits),
                    reason=reason,
                )
            )
        return (*commands, *submits)

    def _cancel(self, orders: list[WorkingOrder], ts_ns: int, reason: str) -> list[CancelOrder]:
        cancels = []
        for order in orders:
            self._cancel_requested.add(order.client_order_id)
            self._sequence += 1
            cancels.append(
                CancelOrder(
                    client_order_id=f"{self._prefix}-cancel-{self._sequence}",
                    orig_client_order_id=order.client_order_id,
                    symbol=order.symbol,
                    side=order.side,
                    ts_ns=ts_ns,
                )
            )
        if cancels:
            self._audit.record(
                CancelOrdersIssued(
                    ts_ns=ts_ns,
                    client_order_ids=tuple(c.orig_client_order_id for c in cancels),
                    reason=reason,
                )
            )
        return cancels


def _increases(order: WorkingOrder, account: AccountSnapshot) -> bool:
    position = account.positions.get(order.symbol, 0.0)
    return abs(position) <= QTY_EPS or (position > 0) == (order.side.sign > 0)
