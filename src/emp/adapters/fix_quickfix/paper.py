"""PaperFixVenue: bar-driven runs over a real FIX session to an in-process served venue.

``emp paper`` drives a strategy bar by bar, as a backtest does, but every order travels as
FIX 4.4 through quickfix to a :class:`FixVenueServer` on loopback, where the matching
engine fills it against liquidity replayed from the same bars
(:func:`~emp.domain.matching.bar_updates`). This class is the
:class:`~emp.ports.simulated_venue.SimulatedVenuePort` the bar engine needs: each bar is
fed to the served venue, and :meth:`drain_events` waits until every report the venue has
sent so far has arrived, so a run is repeatable despite the network in between.

Both venues here pass cancels issued together (the kill switch's of one engine step,
:meth:`cancel_orders`) to :meth:`~.venue_inbound.VenueInbound.cancel_orders`: one
OrderMassCancelRequest (35=q) when they cancel every order still working and the client
has :attr:`~.venue.QuickfixVenue.mass_cancel` on (the default of ``emp paper``,
``EMP_FIX_MASS_CANCEL``), else — or when the venue refuses 35=q — one 35=F each.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from emp.adapters.fix_quickfix.venue import QuickfixVenue
from emp.adapters.fix_quickfix.venue_server import FixVenueServer
from emp.domain.bars import Bar
from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder
from emp.domain.events import OrderEvent
from emp.domain.instruments import InstrumentRegistry
from emp.domain.matching import bar_updates
from emp.domain.orders import OrderStatus
from emp.ports.venue import VenueDisconnected


class _OrdersOverFix:
    """The order commands of both venues below: straight to EMP's FIX client."""

    _client: QuickfixVenue

    def submit_order(self, command: SubmitOrder) -> None:
        self._client.submit_order(command)

    def cancel_order(self, command: CancelOrder) -> None:
        self._client.cancel_order(command)

    def cancel_orders(self, commands: Sequence[CancelOrder]) -> None:
        self._client.cancel_orders(commands)

    def replace_order(self, command: ReplaceOrder) -> None:
        self._client.replace_order(command)


class PaperFixVenue(_OrdersOverFix):
    """A SimulatedVenuePort over FIX (see the module docstring).

    Args:
        server: the running served venue.
        client: EMP's logged-on initiator to it.
        instruments: the instruments bars are replayed for.
        levels: book levels per side replayed from each bar.
        settle_timeout_s: how long to wait for outstanding reports before failing.
    """

    def __init__(
        self,
        server: FixVenueServer,
        client: QuickfixVenue,
        instruments: InstrumentRegistry,
        *,
        levels: int = 5,
        settle_timeout_s: float = 10.0,
    ) -> None:
        self._server = server
        self._client = client
        self._instruments = instruments
        self._levels = levels
        self._timeout = settle_timeout_s
        self._owner = client.config.sender_comp_id

    def on_bar(self, bar: Bar) -> None:
        self._server.feed(*bar_updates(bar, self._instruments[bar.symbol], levels=self._levels))

    def drain_events(self) -> list[OrderEvent]:
        """Every event so far, after the venue has answered everything sent to it."""
        deadline = time.monotonic() + self._timeout
        events: list[OrderEvent] = []
        while True:
            events += self._client.drain_events()
            waiting = _waiting(self._client)
            sent = self._server.messages_sent(self._owner)
            if not waiting and self._client.messages_received >= sent:
                return events
            if time.monotonic() > deadline:
                raise VenueDisconnected(
                    f"the venue's reports did not arrive within {self._timeout} s "
                    f"({self._client.messages_received} of {sent} received)"
                )
            events += self._client.wait_events(0.002)


class RemoteFixVenue(_OrdersOverFix):
    """A SimulatedVenuePort over FIX to a venue served elsewhere, whose market is its own:
    bars are not sent to it; :meth:`drain_events` waits for answers to what was sent."""

    def __init__(self, client: QuickfixVenue, *, settle_timeout_s: float = 10.0) -> None:
        self._client = client
        self._timeout = settle_timeout_s

    def on_bar(self, bar: Bar) -> None:
        """The remote venue's market moves on its own."""

    def drain_events(self) -> list[OrderEvent]:
        deadline = time.monotonic() + self._timeout
        events = self._client.drain_events()
        while _unresolved(self._client) and time.monotonic() < deadline:
            events += self._client.wait_events(0.01)
        return events


def _unresolved(client: QuickfixVenue) -> bool:
    """An order or request awaiting its answer, or a market order still working (a remote
    venue fills it after the acknowledgement, in separate reports)."""
    return _waiting(client) or any(o.limit_price is None for o in client.tracker.open_orders())


def _waiting(client: QuickfixVenue) -> bool:
    """Whether an order or a cancel/replace request still awaits the venue's answer."""
    return any(
        order.status is OrderStatus.PENDING_NEW or order.pending_cancel or order.pending_replace
        for order in client.tracker.open_orders()
    )
