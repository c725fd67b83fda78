"""The shape of a pre-trade risk rule and of what it may look at.

A rule answers one question about one intent: ``check`` returns ``None`` to pass or a reason,
in words, to refuse. A rule whose breach may be cured by trading less also says how much it
would accept (``capacity``) and carries an ``action``: :attr:`BreachAction.REJECT` refuses
the order, :attr:`BreachAction.RESIZE` lets the engine cut it down to the largest lot
multiple every rule accepts. A rule that keeps state (a throttle, a counter) is told of each
approval through ``on_approved``; ``check`` itself never changes anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from emp.domain.errors import InvalidConfiguration
from emp.domain.strategy import OrderIntent

if TYPE_CHECKING:
    from emp.domain.risk.context import RiskContext

#: Quantities closer than this to each other (or to zero) are equal.
QTY_EPS = 1e-9


class BreachAction(Enum):
    """What happens to an order that breaches a rule."""

    REJECT = "reject"
    RESIZE = "resize"


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskCheckInput:
    """What a rule may look at for one intent.

    ``open_buy_quantity``/``open_sell_quantity`` are the leaves of the working orders in the
    same symbol, so rules can bound the worst case, not just the present. Numbers are
    Python ``float``/``int`` (a numpy scalar works, but every figure computed from it, and
    the exposure book it is booked into, turns into slow numpy scalar arithmetic). The
    fields after ``equity`` are optional: a caller that does not know them leaves the
    defaults, and the rules that need them say so in their documentation.

    Attributes:
        strategy: the name of the strategy that emitted the intent (throttles key on it).
        ts_ns: the event time of the check, UTC nanoseconds (throttles refill on it).
        open_order_count: working orders of the account, all symbols.
        lot_size: the instrument's lot; a resized order is a multiple of it.
        average_price: the average entry price of the position (0 when unknown).
        context: the portfolio-wide state a :class:`~emp.domain.risk.manager.RiskManager`
            keeps (trading state, tier multipliers, drawdowns, regime, and the exposure
            book with its market model). Pass ``manager.context`` to save the manager a copy.
    """

    intent: OrderIntent
    position: float
    open_buy_quantity: float
    open_sell_quantity: float
    reference_price: float
    equity: float
    strategy: str = ""
    ts_ns: int = 0
    open_order_count: int = 0
    lot_size: float = 1.0
    average_price: float = 0.0
    context: RiskContext | None = None

    @property
    def signed_quantity(self) -> float:
        return self.intent.side.sign * self.intent.quantity

    @property
    def price(self) -> float:
        """The price the order is valued at: its limit price, else the reference price."""
        return self.intent.limit_price or self.reference_price

    @property
    def worst_case_position(self) -> float:
        signed = self.intent.side.sign * self.intent.quantity
        if signed > 0:
            return self.position + self.open_buy_quantity + signed
        return self.position - self.open_sell_quantity + signed

    @property
    def working_in_direction(self) -> float:
        """The position if every working order on the intent's side filled (before it)."""
        if self.intent.side.sign > 0:
            return self.position + self.open_buy_quantity
        return self.position - self.open_sell_quantity

    @property
    def is_reducing(self) -> bool:
        """True when the order, in the worst case, shrinks |position| without crossing zero."""
        projected = self.worst_case_position
        if self.position > QTY_EPS:
            return -QTY_EPS <= projected < self.position - QTY_EPS
        if self.position < -QTY_EPS:
            return self.position + QTY_EPS < projected <= QTY_EPS
        return False

    @property
    def is_flattening(self) -> bool:
        """True when the order, in the worst case, takes the position exactly to zero."""
        return abs(self.position) > QTY_EPS and abs(self.worst_case_position) <= QTY_EPS * max(
            1.0, abs(self.position)
        )

    def with_quantity(self, quantity: float) -> RiskCheckInput:
        """The same check for the same intent with another quantity."""
        i = self.intent
        return self.with_intent(
            OrderIntent(
                symbol=i.symbol,
                side=i.side,
                quantity=quantity,
                order_type=i.order_type,
                limit_price=i.limit_price,
                time_in_force=i.time_in_force,
                tag=i.tag,
            )
        )

    def with_intent(self, intent: OrderIntent) -> RiskCheckInput:
        return RiskCheckInput(
            intent=intent,
            position=self.position,
            open_buy_quantity=self.open_buy_quantity,
            open_sell_quantity=self.open_sell_quantity,
            reference_price=self.reference_price,
            equity=self.equity,
            strategy=self.strategy,
            ts_ns=self.ts_ns,
            open_order_count=self.open_order_count,
            lot_size=self.lot_size,
            average_price=self.average_price,
            context=self.context,
        )

    def with_context(self, context: RiskContext) -> RiskCheckInput:
        return RiskCheckInput(
            intent=self.intent,
            position=self.position,
            open_buy_quantity=self.open_buy_quantity,
            open_sell_quantity=self.open_sell_quantity,
            reference_price=self.reference_price,
            equity=self.equity,
            strategy=self.strategy,
            ts_ns=self.ts_ns,
            open_order_count=self.open_order_count,
            lot_size=self.lot_size,
            average_price=self.average_price,
            context=context,
        )


@runtime_checkable
class RiskRule(Protocol):
    """A pre-trade rule: returns ``None`` to pass or a reason, in words, to refuse.

    A rule may also offer ``check_projected(data, projection)``, the same answer given
    the :class:`~emp.domain.risk.context.Projection` the engine computed once for all
    rules (every built-in rule does).

    A rule that never reads the exposure book — neither ``context.book`` nor the
    projection's book figures (only ``worst``, ``buy`` and the input's own fields) — says
    so with a class attribute ``reads_book = False``. When no rule of a manager reads the
    book, the manager brings it up to date only when something else reads it
    (:func:`reads_book`; a rule without the attribute is taken to read it).
    """

    name: str

    def check(self, data: RiskCheckInput) -> str | None: ...


def reads_book(rule: object) -> bool:
    """Whether ``rule`` may read the exposure book (see :class:`RiskRule`)."""
    return bool(getattr(rule, "reads_book", True))


@runtime_checkable
class ResizableRule(RiskRule, Protocol):
    """A rule that can say how much of an order it would accept.

    ``capacity`` is the largest quantity of this intent (same side and price) the rule
    passes, ``math.inf`` when it sets no bound, ``0.0`` when it accepts nothing.
    """

    action: BreachAction

    def capacity(self, data: RiskCheckInput) -> float: ...


@runtime_checkable
class StatefulRule(RiskRule, Protocol):
    """A rule told of every approved order (with its final quantity) after the decision."""

    def on_approved(self, data: RiskCheckInput) -> None: ...


def check_action(action: BreachAction | str) -> BreachAction:
    """Accept an action or its name (``"reject"``/``"resize"``) from configuration."""
    if isinstance(action, BreachAction):
        return action
    try:
        return BreachAction(str(action).lower())
    except ValueError:
        raise InvalidConfiguration(
            f"breach action must be 'reject' or 'resize', was {action!r}"
        ) from None


def check_positive(name: str, value: float) -> float:
    """Return ``value`` as a float if it is finite and > 0, else raise InvalidConfiguration."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidConfiguration(f"{name} must be a number > 0, was {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise InvalidConfiguration(f"{name} must be > 0, was {value!r}")
    return float(value)
