"""Orders and their lifecycle state machine.

The lifecycle follows FIX 4.4 ``OrdStatus`` semantics::

    PENDING_NEW ──accept──▶ NEW ──fill──▶ PARTIALLY_FILLED ──fill──▶ FILLED
        │                    │                  │
        ├─reject─▶ REJECTED  ├─request_cancel─▶ PENDING_CANCEL ─cancel─▶ CANCELED
        └─fill (immediate)   ├─request_replace▶ PENDING_REPLACE ─replace▶ REPLACED
                             ├─cancel (unsolicited) ─▶ CANCELED
                             └─expire ─▶ EXPIRED

A pending cancel or replace can still be filled (the venue fills before it sees the
request) and can be rejected by the venue, which returns the order to the status it had
before the request. Terminal statuses (FILLED, CANCELED, REPLACED, REJECTED, EXPIRED)
accept nothing. Every other move raises :class:`IllegalOrderTransition`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum

from emp.domain.errors import IllegalOrderTransition, InvalidFill, InvalidOrder

_INF = math.inf


class OrderSide(Enum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell: the sign of the position change."""
        return 1 if self is OrderSide.BUY else -1

    @property
    def opposite(self) -> OrderSide:
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class OrderType(Enum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"


class TimeInForce(Enum):
    DAY = "DAY"
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


#: The values of the statuses that accept nothing more.
_TERMINAL_VALUES = ("FILLED", "CANCELED", "REPLACED", "REJECTED", "EXPIRED")


class OrderStatus(Enum):
    """An order's status (FIX OrdStatus). ``is_terminal``: it accepts nothing more."""

    PENDING_NEW = "PENDING_NEW"
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    PENDING_CANCEL = "PENDING_CANCEL"
    PENDING_REPLACE = "PENDING_REPLACE"
    CANCELED = "CANCELED"
    REPLACED = "REPLACED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    def __init__(self, value: str) -> None:
        # A plain attribute, set once per member, not a property over TERMINAL_STATUSES:
        # it is read on every order event, and an enum hashes through a Python __hash__.
        self.is_terminal: bool = value in _TERMINAL_VALUES


S = OrderStatus
TERMINAL_STATUSES = frozenset(status for status in OrderStatus if status.is_terminal)

#: Every legal (from → to) move. Anything absent here raises IllegalOrderTransition.
ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_NEW: frozenset({S.NEW, S.REJECTED, S.PARTIALLY_FILLED, S.FILLED}),
    S.NEW: frozenset(
        {S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.PENDING_REPLACE, S.CANCELED, S.EXPIRED}
    ),
    S.PARTIALLY_FILLED: frozenset(
        {S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.PENDING_REPLACE, S.CANCELED, S.EXPIRED}
    ),
    # From a pending request: the venue completes it, rejects it (back to NEW or
    # PARTIALLY_FILLED), or fills the order before it acts on the request.
    S.PENDING_CANCEL: frozenset({S.CANCELED, S.NEW, S.PARTIALLY_FILLED, S.FILLED, S.EXPIRED}),
    S.PENDING_REPLACE: frozenset({S.REPLACED, S.NEW, S.PARTIALLY_FILLED, S.FILLED, S.EXPIRED}),
    S.FILLED: frozenset(),
    S.CANCELED: frozenset(),
    S.REPLACED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}


#: ALLOWED_TRANSITIONS keyed and filled by the statuses' values (strings hash in C; the
#: enum's members hash through a Python ``__hash__``): what :meth:`Order._move` looks up.
_ALLOWED_VALUES: dict[str, frozenset[str]] = {
    source.value: frozenset(target.value for target in targets)
    for source, targets in ALLOWED_TRANSITIONS.items()
}


def is_legal_transition(source: OrderStatus, target: OrderStatus) -> bool:
    return target._value_ in _ALLOWED_VALUES[source._value_]


@dataclass(slots=True, kw_only=True)
class Order:
    """An order aggregate: its terms and its lifecycle.

    Terms are fixed at creation (a replace creates a new :class:`Order` with a new client
    order id); status and fill state change only through the lifecycle methods.
    """

    client_order_id: str
    symbol: str
    side: OrderSide
    quantity: float
    order_type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    strategy: str = ""
    created_ns: int = 0
    status: OrderStatus = OrderStatus.PENDING_NEW
    filled_quantity: float = 0.0
    average_fill_price: float = 0.0
    venue_order_id: str | None = None
    reject_reason: str | None = None
    #: The status a pending cancel/replace returns to if the venue refuses it.
    status_before_request: OrderStatus | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.client_order_id:
            raise InvalidOrder("client_order_id must be non-empty")
        if not math.isfinite(self.quantity) or self.quantity <= 0:
            raise InvalidOrder(
                f"{self.client_order_id}: quantity must be > 0, was {self.quantity!r}"
            )
        if self.order_type is OrderType.LIMIT and self.limit_price is None:
            raise InvalidOrder(f"{self.client_order_id}: a LIMIT order needs a limit price")
        if self.order_type is OrderType.MARKET and self.limit_price is not None:
            raise InvalidOrder(f"{self.client_order_id}: a MARKET order takes no limit price")
        if self.limit_price is not None and not (
            math.isfinite(self.limit_price) and self.limit_price > 0
        ):
            raise InvalidOrder(
                f"{self.client_order_id}: limit price must be > 0, was {self.limit_price!r}"
            )

    # ----------------------------------------------------------------- queries
    @property
    def leaves_quantity(self) -> float:
        if self.status.is_terminal:
            return 0.0
        return max(self.quantity - self.filled_quantity, 0.0)

    @property
    def is_open(self) -> bool:
        return not self.status.is_terminal

    # --------------------------------------------------------------- lifecycle
    def _move(self, target: OrderStatus) -> None:
        if target._value_ not in _ALLOWED_VALUES[self.status._value_]:  # is_legal_transition
            raise IllegalOrderTransition(
                f"order {self.client_order_id}: cannot go from {self.status.value} "
                f"to {target.value}"
            )
        self.status = target

    def accept(self, venue_order_id: str | None = None) -> None:
        """The venue acknowledged the new order (only from PENDING_NEW)."""
        if self.status is not OrderStatus.PENDING_NEW:
            raise IllegalOrderTransition(
                f"order {self.client_order_id}: cannot accept an order that is "
                f"{self.status.value} (only PENDING_NEW orders are accepted)"
            )
        self._move(OrderStatus.NEW)
        self.venue_order_id = venue_order_id

    def reject(self, reason: str) -> None:
        self._move(OrderStatus.REJECTED)
        self.reject_reason = reason

    def fill(self, quantity: float, price: float) -> None:
        """Apply an execution of ``quantity`` at ``price``."""
        if self.status.is_terminal:
            raise IllegalOrderTransition(
                f"order {self.client_order_id}: cannot fill an order that is {self.status.value}"
            )
        # ``0 < x < inf`` is ``isfinite(x) and x > 0`` (NaN fails both), without the calls
        if not 0.0 < quantity < _INF:
            raise InvalidFill(f"order {self.client_order_id}: fill quantity must be > 0")
        if not 0.0 < price < _INF:
            raise InvalidFill(f"order {self.client_order_id}: fill price must be > 0")
        total = self.quantity
        filled = self.filled_quantity
        remaining = total - filled
        slack = 1e-9 * (total if total > 1.0 else 1.0)  # 1e-9 * max(1.0, quantity)
        if quantity > remaining + slack:
            raise InvalidFill(
                f"order {self.client_order_id}: fill of {quantity} exceeds leaves {remaining}"
            )
        done = quantity >= remaining - slack
        self._move(OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED)
        new_filled = filled + quantity
        self.average_fill_price = (self.average_fill_price * filled + price * quantity) / new_filled
        self.filled_quantity = total if done else new_filled
        self.status_before_request = None

    def request_cancel(self) -> None:
        before = self.status
        self._move(OrderStatus.PENDING_CANCEL)
        self.status_before_request = before

    def request_replace(self) -> None:
        before = self.status
        self._move(OrderStatus.PENDING_REPLACE)
        self.status_before_request = before

    def reject_request(self) -> None:
        """The venue refused a pending cancel/replace: go back to the prior status."""
        if self.status not in (OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_REPLACE):
            raise IllegalOrderTransition(
                f"order {self.client_order_id}: no pending cancel/replace to reject "
                f"(status {self.status.value})"
            )
        back = self.status_before_request or OrderStatus.NEW
        self._move(back)
        self.status_before_request = None

    def cancel(self) -> None:
        self._move(OrderStatus.CANCELED)

    def mark_replaced(self) -> None:
        self._move(OrderStatus.REPLACED)

    def expire(self) -> None:
        self._move(OrderStatus.EXPIRED)

    def replace_with(
        self, client_order_id: str, quantity: float, limit_price: float | None, ts_ns: int
    ) -> Order:
        """Mark this order REPLACED and return its successor, which keeps the fill state.

        The successor is NEW (or PARTIALLY_FILLED when this order had fills), carries the
        same venue order id, and must leave something to fill.
        """
        if quantity <= self.filled_quantity:
            raise InvalidOrder(
                f"order {self.client_order_id}: replacement quantity {quantity} must exceed "
                f"the filled quantity {self.filled_quantity}"
            )
        self.mark_replaced()
        return Order(
            client_order_id=client_order_id,
            symbol=self.symbol,
            side=self.side,
            quantity=quantity,
            order_type=OrderType.LIMIT if limit_price is not None else OrderType.MARKET,
            limit_price=limit_price,
            time_in_force=self.time_in_force,
            strategy=self.strategy,
            created_ns=ts_ns,
            status=OrderStatus.PARTIALLY_FILLED if self.filled_quantity else OrderStatus.NEW,
            filled_quantity=self.filled_quantity,
            average_fill_price=self.average_fill_price,
            venue_order_id=self.venue_order_id,
        )
