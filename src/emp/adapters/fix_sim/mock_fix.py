"""MockFixVenue: the simulated venue behind a real FIX 4.4 wire format, all in process."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

from emp.adapters.fix_codec import (
    NO_ORDER_ID,
    FixCodec,
    FixDecodeError,
    OrderReportState,
    SessionReject,
)
from emp.adapters.fix_sim.config import SimulatedVenueConfig
from emp.adapters.fix_sim.reports import VenueReport
from emp.adapters.fix_sim.venue import SimulatedVenue
from emp.domain.bars import Bar
from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder, VenueCommand
from emp.domain.events import OrderCancelRejected, OrderEvent
from emp.domain.instruments import InstrumentRegistry
from emp.ports.clock import ClockPort
from emp.ports.venue import VenueProtocolError

Direction = Literal["client->venue", "venue->client"]
CLIENT_TO_VENUE: Direction = "client->venue"
VENUE_TO_CLIENT: Direction = "venue->client"


class MockFixVenue:
    """The simulated venue's mock-FIX face (implements SimulatedVenuePort).

    Every command is encoded to raw FIX by a client-side :class:`FixCodec`, decoded by a
    venue-side codec and applied to an internal :class:`SimulatedVenue`; every event the
    venue produces is written as a raw ExecutionReport (35=8) or OrderCancelReject (35=9)
    and decoded back by the client side, and that decoded event is what
    :meth:`drain_events` returns. Every message is kept, in order, in :attr:`journal`.

    Events equal the direct face's, except that timestamps are truncated to the
    millisecond (FIX 4.4 UTCTimestamp): with millisecond-aligned clock and bar times the
    two faces are indistinguishable. Market data (bars) does not travel as FIX.

    :meth:`receive_raw` hands the venue side one raw inbound message: a malformed one is
    answered with a session-level Reject (35=3) naming the tag and the problem, changes no
    order, and the venue keeps serving the next message.
    """

    def __init__(
        self,
        instruments: InstrumentRegistry,
        clock: ClockPort,
        config: SimulatedVenueConfig | None = None,
        *,
        sender_comp_id: str = "EMP",
        target_comp_id: str = "EMPSIM",
    ) -> None:
        self._clock = clock
        self._venue = SimulatedVenue(instruments, clock, config)
        self._client = FixCodec(sender_comp_id, target_comp_id)
        self._server = FixCodec(target_comp_id, sender_comp_id)
        self._journal: list[tuple[Direction, bytes]] = []
        self._events: list[OrderEvent] = []

    @property
    def journal(self) -> list[tuple[Direction, bytes]]:
        """A copy of every raw message so far, oldest first, with its direction."""
        return list(self._journal)

    # ------------------------------------------------------------------- the port
    def submit_order(self, command: SubmitOrder) -> None:
        self._send(command)

    def cancel_order(self, command: CancelOrder) -> None:
        self._send(command)

    def cancel_orders(self, commands: Sequence[CancelOrder]) -> None:
        """One :meth:`cancel_order` each, in order."""
        for command in commands:
            self.cancel_order(command)

    def replace_order(self, command: ReplaceOrder) -> None:
        self._send(command)

    def on_bar(self, bar: Bar) -> None:
        self._venue.on_bar(bar)
        self._publish()

    def drain_events(self) -> list[OrderEvent]:
        events, self._events = self._events, []
        return events

    # ------------------------------------------------------------------- the wire
    def receive_raw(self, raw: bytes) -> list[bytes]:
        """Deliver one raw message to the venue side; return the raw messages it sends back.

        The replies' events are also queued for :meth:`drain_events`.
        """
        replies, _ = self._deliver(raw)
        return replies

    def _send(self, command: VenueCommand) -> None:
        raw = self._client.encode_command(command, sending_ns=self._clock.now_ns())
        _, error = self._deliver(raw)
        if error is not None:
            raise VenueProtocolError(f"the venue refused our own message: {error}") from error

    def _deliver(self, raw: bytes) -> tuple[list[bytes], FixDecodeError | None]:
        self._journal.append((CLIENT_TO_VENUE, bytes(raw)))
        try:
            command = self._server.decode_command(raw)
        except FixDecodeError as e:
            reject = SessionReject(
                ref_seq_num=e.ref_seq_num or 0,
                ref_tag_id=e.tag,
                ref_msg_type=e.ref_msg_type or None,
                reason_code=e.session_reject_reason,
                text=str(e),
            )
            reply = self._server.encode_session_reject(reject, sending_ns=self._clock.now_ns())
            self._journal.append((VENUE_TO_CLIENT, reply))
            return [reply], e
        match command:
            case SubmitOrder():
                self._venue.submit_order(command)
            case CancelOrder():
                self._venue.cancel_order(command)
            case ReplaceOrder():
                self._venue.replace_order(command)
        return self._publish(), None

    def _publish(self) -> list[bytes]:
        """Write the venue's new events as FIX and decode them on the client side."""
        sent: list[bytes] = []
        for report in self._venue.drain_reports():
            raw = self._encode(report)
            self._journal.append((VENUE_TO_CLIENT, raw))
            sent.append(raw)
            self._events.append(self._client.decode_event(raw))
        return sent

    def _encode(self, report: VenueReport) -> bytes:
        order = report.order
        event = report.event
        now = self._clock.now_ns()
        state = OrderReportState(
            symbol=order.symbol,
            side=order.side,
            order_quantity=order.quantity,
            order_id=order.venue_order_id or NO_ORDER_ID,
            cum_quantity=order.filled_quantity,
            leaves_quantity=order.leaves_quantity,
            average_price=order.average_price,
        )
        if isinstance(event, OrderCancelRejected):
            return self._server.encode_order_cancel_reject(
                event,
                replace(state, order_status=order.status),
                replace=report.replace_request,
                reason_code=report.cancel_reject_code,
                sending_ns=now,
            )
        return self._server.encode_execution_report(event, state, sending_ns=now)
