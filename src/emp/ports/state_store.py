"""StateStorePort: hot, expiring real-time state (latest quotes, signals, positions, liveness).

The state store is a cache of the present, never a record of the past: every value has a
time to live and disappears when its writer stops refreshing it, and the source of truth
(bars, runs, fills) stays in the bar and run stores. Writes are *latest wins*: a value
stamped earlier than the one stored is ignored, so out-of-order updates from several
writers cannot move the state backwards. Timestamps are UTC nanoseconds, ``>= 0``.

Errors: :class:`~emp.ports.store_errors.StoreUnavailable` when the store cannot be
reached, :class:`~emp.ports.store_errors.StoreError` otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True, kw_only=True)
class BestBidOffer:
    """The top of one instrument's book at ``ts_ns``."""

    symbol: str
    bid: float
    bid_size: float
    ask: float
    ask_size: float
    ts_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalValue:
    """The latest value of one named signal of one instrument."""

    symbol: str
    name: str
    value: float
    ts_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionsSnapshot:
    """Every open position (symbol -> signed quantity) of one account at ``ts_ns``."""

    account: str
    positions: Mapping[str, float] = field(default_factory=dict)
    ts_ns: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Heartbeat:
    """A component saying it is alive at ``ts_ns``."""

    component: str
    ts_ns: int


@runtime_checkable
class StateStorePort(Protocol):
    def put_bbo(self, bbo: BestBidOffer) -> bool:
        """Store ``bbo`` unless a later one is stored; True when it was stored."""
        ...

    def get_bbo(self, symbol: str) -> BestBidOffer | None:
        """The latest live BBO of ``symbol``, or None (never set, or expired)."""
        ...

    def put_signal(self, signal: SignalValue) -> bool:
        """Store ``signal`` unless a later value of it is stored; True when stored."""
        ...

    def get_signals(self, symbol: str) -> dict[str, SignalValue]:
        """The live signals of ``symbol`` by name (expired ones are absent)."""
        ...

    def put_positions(self, snapshot: PositionsSnapshot) -> bool:
        """Replace the account's snapshot unless a later one is stored; True when stored."""
        ...

    def get_positions(self, account: str) -> PositionsSnapshot | None:
        """The account's latest live snapshot, or None."""
        ...

    def beat(self, heartbeat: Heartbeat) -> bool:
        """Record that a component is alive; it counts as dead once the beat expires."""
        ...

    def last_heartbeat(self, component: str) -> Heartbeat | None:
        """The component's last live beat, or None when it never beat or went silent."""
        ...
