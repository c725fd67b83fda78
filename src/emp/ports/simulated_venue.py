"""SimulatedVenuePort: a venue whose market a simulation drives bar by bar."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from emp.domain.bars import Bar
from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder
from emp.domain.events import OrderEvent


@runtime_checkable
class SimulatedVenuePort(Protocol):
    """A :class:`~emp.ports.venue.VenuePort` plus the market-data feed that drives matching."""

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

    def drain_events(self) -> list[OrderEvent]: ...

    def on_bar(self, bar: Bar) -> None:
        """A new bar opened: match working orders in ``bar.symbol`` against it."""
        ...
