"""Runs every rule on an intent: approve, reject with all the reasons, or resize.

A breach of a rule whose action is REJECT (or that cannot say its capacity) refuses the
order. When every breached rule's action is RESIZE, the engine cuts the order down to the
largest lot multiple within every breached rule's capacity, checks *all* rules again on
the smaller order, and approves it with the new quantity and the reasons; if no lot fits,
or the smaller order still breaches, the order is refused. Stateful rules (throttles,
counters) are told of the final approved order only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum

from emp.domain.risk.context import Projection
from emp.domain.risk.headroom import round_down_to_lot
from emp.domain.risk.rule import BreachAction, RiskCheckInput, RiskRule

_RESIZE_ATTEMPTS = 3


class RiskOutcome(Enum):
    APPROVED = "approved"
    RESIZED = "resized"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """The verdict on one intent.

    ``quantity`` is set only when the order was resized: submit that quantity instead of
    the intent's. ``reasons`` lists every breach (and, for a resize, what was done).
    """

    approved: bool
    reasons: tuple[str, ...] = ()
    quantity: float | None = None

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    @property
    def resized(self) -> bool:
        return self.approved and self.quantity is not None

    @property
    def outcome(self) -> RiskOutcome:
        if not self.approved:
            return RiskOutcome.REJECTED
        return RiskOutcome.RESIZED if self.quantity is not None else RiskOutcome.APPROVED

    def quantity_for(self, requested: float) -> float:
        """What to submit for an intent of ``requested`` units (0 when refused)."""
        if not self.approved:
            return 0.0
        return requested if self.quantity is None else self.quantity


APPROVED = RiskDecision(approved=True)


def _projected(rule: RiskRule) -> Callable[[RiskCheckInput, Projection | None], str | None]:
    """``rule``'s check as a call of (input, projection): its own ``check_projected`` when
    it has one (every built-in rule), else its ``check`` ignoring the projection."""
    fast = getattr(rule, "check_projected", None)
    if callable(fast):
        return fast
    check = rule.check
    return lambda data, projection: check(data)


def _resizes(rule: RiskRule) -> bool:
    return getattr(rule, "action", BreachAction.REJECT) is BreachAction.RESIZE and hasattr(
        rule, "capacity"
    )


class RiskEngine:
    """Composes rules; an intent passes only if every rule passes (or after a resize)."""

    def __init__(self, rules: Iterable[RiskRule] = ()) -> None:
        self._rules: tuple[RiskRule, ...] = tuple(rules)
        self._resizable = frozenset(id(r) for r in self._rules if _resizes(r))
        self._stateful = tuple(r for r in self._rules if callable(getattr(r, "on_approved", None)))
        self._on_approved = tuple(r.on_approved for r in self._stateful)  # type: ignore[attr-defined]
        self._checks = tuple(_projected(rule) for rule in self._rules)

    @property
    def rules(self) -> tuple[RiskRule, ...]:
        return self._rules

    def _breaches(self, data: RiskCheckInput) -> tuple[list[str], list[RiskRule], bool]:
        reasons: list[str] = []
        breached: list[RiskRule] = []
        rejecting = False
        resizable = self._resizable
        for rule in self._rules:
            reason = rule.check(data)
            if reason is not None:
                reasons.append(reason)
                breached.append(rule)
                if id(rule) not in resizable:
                    rejecting = True
        return reasons, breached, rejecting

    def check(self, data: RiskCheckInput) -> RiskDecision:
        context = data.context  # the projection, computed once and shared by the rules
        if context is None:
            projection = Projection(data, None)
        elif context._last_data is data and context._last_projection is not None:
            projection = context._last_projection
        else:
            projection = context._last_projection = Projection(data, context.projected_book)
            context._last_data = data
        for check in self._checks:  # the fast path: every rule passes
            if check(data, projection) is not None:
                break
        else:
            for approved in self._on_approved:  # stateful rules hear of the order
                approved(data)
            return APPROVED
        reasons, breached, rejecting = self._breaches(data)  # rules are pure: ask again
        if not reasons:  # pragma: no cover - a rule answered differently the second time
            self._commit(data)
            return APPROVED
        if rejecting:
            return RiskDecision(approved=False, reasons=tuple(reasons))
        return self._resize(data, breached, reasons)

    def capacity(self, data: RiskCheckInput) -> float:
        """The largest lot multiple of this intent every resizable rule accepts."""
        bound = min(
            (r.capacity(data) for r in self._rules if id(r) in self._resizable),  # type: ignore[attr-defined]
            default=math.inf,
        )
        return round_down_to_lot(bound, data.lot_size)

    def _resize(
        self, data: RiskCheckInput, breached: list[RiskRule], reasons: list[str]
    ) -> RiskDecision:
        requested = data.intent.quantity
        lot = data.lot_size
        quantity = round_down_to_lot(
            min([requested, *(r.capacity(data) for r in breached)]),  # type: ignore[attr-defined]
            lot,
        )
        for _ in range(_RESIZE_ATTEMPTS):
            if quantity <= 0 or quantity >= requested:
                break
            smaller = data.with_quantity(quantity)
            again, still, rejecting = self._breaches(smaller)
            if not again:
                self._commit(smaller)
                return RiskDecision(
                    approved=True,
                    reasons=(*reasons, f"resized from {requested:g} to {quantity:g}"),
                    quantity=quantity,
                )
            if rejecting:
                return RiskDecision(approved=False, reasons=(*reasons, *again))
            tighter = min(r.capacity(smaller) for r in still)  # type: ignore[attr-defined]
            quantity = round_down_to_lot(min(tighter, quantity - lot), lot)
        return RiskDecision(
            approved=False,
            reasons=(*reasons, f"no multiple of lot {lot:g} fits every limit"),
        )

    def _commit(self, data: RiskCheckInput) -> None:
        for rule in self._stateful:
            rule.on_approved(data)  # type: ignore[attr-defined]
