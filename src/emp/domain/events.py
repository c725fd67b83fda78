"""Domain events: facts, in the past tense, named aggregate first."""

from __future__ import annotations

from dataclasses import dataclass

from emp.domain.fills import Fill


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAccepted:
    client_order_id: str
    venue_order_id: str
    ts_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejected:
    """The venue (or pre-trade risk) refused the order. ``code`` follows FIX OrdRejReason."""

    client_order_id: str
    reason: str
    code: int
    ts_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilled:
    fill: Fill

    @property
    def client_order_id(self) -> str:
        return self.fill.client_order_id

    @property
    def ts_ns(self) -> int:
        return self.fill.ts_ns


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCanceled:
    client_order_id: str
    ts_ns: int
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelRejected:
    """A cancel or replace request was refused (FIX 35=9)."""

    client_order_id: str
    orig_client_order_id: str
    reason: str
    ts_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderReplaced:
    orig_client_order_id: str
    client_order_id: str
    quantity: float
    limit_price: float | None
    ts_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderExpired:
    client_order_id: str
    ts_ns: int


OrderEvent = (
    OrderAccepted
    | OrderRejected
    | OrderFilled
    | OrderCanceled
    | OrderCancelRejected
    | OrderReplaced
    | OrderExpired
)


#: FIX 4.4 OrdRejReason (tag 103) codes used by EMP.
class RejectCode:
    BROKER_OPTION = 0
    UNKNOWN_SYMBOL = 1
    EXCHANGE_CLOSED = 2
    EXCEEDS_LIMIT = 3
    UNKNOWN_ORDER = 5
    DUPLICATE_ORDER = 6
    UNSUPPORTED_CHARACTERISTIC = 11
    INCORRECT_QUANTITY = 13
    INVALID_PRICE_INCREMENT = 18
    OTHER = 99
