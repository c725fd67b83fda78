"""VenuePort: where orders go and execution reports come from.

Implementations: the in-process simulated venue (direct and mock-FIX faces) today; real
FIX 4.4 sessions through quickfix later. Events are pulled with :meth:`drain_events` so a
backtest stays single-threaded and deterministic, and a live adapter can hand events over
from its network threads through a queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder
from emp.domain.errors import EmpError
from emp.domain.events import OrderEvent


class VenueError(EmpError):
    """The venue could not take a command (not a business reject: those are events)."""


class VenueDisconnected(VenueError):
    """The session to the venue is down; the command was not sent."""


class VenueProtocolError(VenueError):
    """A message to or from the venue was malformed; it was not applied to any order."""


@runtime_checkable
class VenuePort(Protocol):
    def submit_order(self, command: SubmitOrder) -> None: ...

    def cancel_order(self, command: CancelOrder) -> None: ...

    def cancel_orders(self, commands: Sequence[CancelOrder]) -> None:
        """Cancel several orders issued together (the kill switch's cancels of one step).

        The same as one :meth:`cancel_order` each, in order; a venue that can cancel a
        whole set at once (FIX OrderMassCancelRequest, 35=q) may do so when the set covers
        every order still working there.
        """
        ...

    def replace_order(self, command: ReplaceOrder) -> None: ...

    def drain_events(self) -> list[OrderEvent]:
        """Every event produced since the previous call, in the order they happened."""
        ...
