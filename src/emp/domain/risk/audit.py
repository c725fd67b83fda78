"""Audit events: every rejection, resize and state change, past tense, with its reason.

Events are frozen dataclasses kept in an append-only :class:`AuditLog`; ``to_dict`` gives
a JSON-able form (enums as their values, tuples as lists) for the audit CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRiskRejected:
    """Pre-trade risk refused an order."""

    ts_ns: int
    strategy: str
    symbol: str
    side: str
    quantity: float
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRiskResized:
    """Pre-trade risk approved an order for less than was asked."""

    ts_ns: int
    strategy: str
    symbol: str
    side: str
    requested_quantity: float
    approved_quantity: float
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingStateChanged:
    """The trading state moved (ACTIVE, REDUCING, HALTED), by what and why."""

    ts_ns: int
    previous: str
    current: str
    source: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DrawdownThresholdCrossed:
    """A drawdown measure reached one of its thresholds (the brake fired)."""

    ts_ns: int
    measure: str
    drawdown: float
    threshold: float
    target: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VolatilityTierChanged:
    ts_ns: int
    previous: str
    current: str
    realised_volatility: float
    position_multiplier: float
    leverage_multiplier: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RegimeChanged:
    ts_ns: int
    previous: str
    current: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrdersIssued:
    """The kill switch asked the venue to cancel these working orders."""

    ts_ns: int
    client_order_ids: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FlattenOrdersIssued:
    """The kill switch sent market orders to close these positions (``"SELL 100 AAPL"``)."""

    ts_ns: int
    client_order_ids: tuple[str, ...]
    orders: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FlattenCompleted:
    """The account was seen flat with nothing working after a halt."""

    ts_ns: int
    halted_ns: int
    elapsed_ns: int


AuditEvent = (
    OrderRiskRejected
    | OrderRiskResized
    | TradingStateChanged
    | DrawdownThresholdCrossed
    | VolatilityTierChanged
    | RegimeChanged
    | CancelOrdersIssued
    | FlattenOrdersIssued
    | FlattenCompleted
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


def event_to_dict(event: AuditEvent) -> dict[str, Any]:
    """``{"event": "TradingStateChanged", "ts_ns": ..., ...}``: JSON-able."""
    out: dict[str, Any] = {"event": type(event).__name__}
    for f in fields(event):
        out[f.name] = _jsonable(getattr(event, f.name))
    return out


class AuditLog:
    """An append-only list of audit events, in the order they happened."""

    __slots__ = ("_events",)

    def __init__(self) -> None:
        self._events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self._events.append(event)

    @property
    def events(self) -> tuple[AuditEvent, ...]:
        return tuple(self._events)

    def __len__(self) -> int:
        return len(self._events)

    def of_type(self, kind: type) -> list[AuditEvent]:
        return [e for e in self._events if isinstance(e, kind)]

    def to_dicts(self) -> list[dict[str, Any]]:
        return [event_to_dict(e) for e in self._events]
