"""PaperFixVenue: bar-driven runs over a real FIX session to an in-process served venue.

``emp paper`` drives a strategy bar by bar, as a backtest does, but every order travels as
FIX 4.4 through quickfix to a :class:`FixVenueServer` on loopback, where the matching
engine fills it against liquidity replayed from the same bars
(:func:`~emp.domain.matching.bar_updates`). This class is the
:class:`~emp.ports.simulated_venue.SimulatedVenuePort` the bar engine needs: each bar is
fed to the served venue, and :meth:`drain_events` waits until every report the venue has
sent so far has arrived, so a run is repeatable despite the network in between.

Both venues here send the kill switch's cancels (ClOrdIDs ``risk-cancel-<n>``) of one
engine step as one OrderMassCancelRequest (35=q) when they cancel every order still
working and the client has :attr:`~.venue.QuickfixVenue.mass_cancel` on (the default of
``emp paper``, ``EMP_FIX_MASS_CANCEL``); a venue that refuses 35=q gets them one 35=F each.
"""

from __future__ import annotations

import time

from emp.adapters.fix_quickfix.venue import QuickfixVenue
from emp.adapters.fix_quickfix.venue_server import FixVenueServer
from emp.domain.bars import Bar
from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder
from emp.domain.events import OrderEvent
from emp.domain.instruments import InstrumentRegistry
from emp.domain.matching import bar_updates
from emp.domain.orders import OrderStatus
from emp.ports.venue import VenueDisconnected

#: The ClOrdIDs of the kill switch's cancels (:class:`~emp.domain.risk.KillSwitch` with
#: its default id prefix, as ``emp paper`` builds it).
KILL_CANCEL_PREFIX = "risk-cancel-"


class _KillCancels:
    """The kill switch's cancels of one engine step, held until the venue's next call."""

    def __init__(self, client: QuickfixVenue) -> None:
        self._client = client
        self._pending: list[CancelOrder] = []

    def cancel(self, command: CancelOrder) -> None:
        if self._client.mass_cancel and command.client_order_id.startswith(KILL_CANCEL_PREFIX):
            self._pending.append(command)
            return
        self.flush()
        self._client.cancel_order(command)

    def flush(self) -> None:
        """One 35=q when the held cancels cover every working order, else one 35=F each."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        targets = {cancel.orig_client_order_id for cancel in pending}
        working = {order.client_order_id for order in self._client.tracker.open_orders()}
        if working <= targets:
            mass_id = f"{pending[0].client_order_id}-Q"
            self._client.cancel_all(pending, mass_id, ts_ns=pending[0].ts_ns)
        else:  # some order is to keep working (e.g. the kill switch's own): one by one
            for cancel in pending:
                self._client.cancel_order(cancel)


class PaperFixVenue:
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
        self._kill_cancels = _KillCancels(client)

    def submit_order(self, command: SubmitOrder) -> None:
        self._kill_cancels.flush()
        self._client.submit_order(command)

    def cancel_order(self, command: CancelOrder) -> None:
        self._kill_cancels.cancel(command)

    def replace_order(self, command: ReplaceOrder) -> None:
        self._kill_cancels.flush()
        self._client.replace_order(command)

    def on_bar(self, bar: Bar) -> None:
        self._kill_cancels.flush()
        self._server.feed(*bar_updates(bar, self._instruments[bar.symbol], levels=self._levels))

    def drain_events(self) -> list[OrderEvent]:
        """Every event so far, after the venue has answered everything sent to it."""
        self._kill_cancels.flush()
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


class RemoteFixVenue:
    """A SimulatedVenuePort over FIX to a venue served elsewhere, whose market is its own:
    bars are not sent to it; :meth:`drain_events` waits for answers to what was sent."""

    def __init__(self, client: QuickfixVenue, *, settle_timeout_s: float = 10.0) -> None:
        self._client = client
        self._timeout = settle_timeout_s
        self._kill_cancels = _KillCancels(client)

    def submit_order(self, command: SubmitOrder) -> None:
        self._kill_cancels.flush()
        self._client.submit_order(command)

    def cancel_order(self, command: CancelOrder) -> None:
        self._kill_cancels.cancel(command)

    def replace_order(self, command: ReplaceOrder) -> None:
        self._kill_cancels.flush()
        self._client.replace_order(command)

    def on_bar(self, bar: Bar) -> None:
        """The remote venue's market moves on its own."""
        self._kill_cancels.flush()

    def drain_events(self) -> list[OrderEvent]:
        self._kill_cancels.flush()
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
