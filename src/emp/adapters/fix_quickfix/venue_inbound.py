"""What :class:`~.venue.QuickfixVenue` does with what the session delivers, and its kill
switch (a mixin, split off to keep modules small; the owner's thread only).

Inbound application messages are journaled, decoded and deduplicated
(:class:`~.order_tracker.OrderTracker`); status reports go to reconciliation or the ack
watch; a refused mass cancel turns into one cancel per order.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from emp.adapters.fix_codec import decode, status
from emp.adapters.fix_codec.engine_fields import fields_from_engine
from emp.adapters.fix_codec.errors import FixDecodeError
from emp.adapters.fix_codec.framing import FixFields
from emp.adapters.fix_codec.tags import MsgType, Tag
from emp.adapters.fix_quickfix.ack_watch import AckWatch
from emp.adapters.fix_quickfix.audit import DuckDBAuditJournal, Lineage
from emp.adapters.fix_quickfix.bridge import Inbound
from emp.adapters.fix_quickfix.credentials import redact_fix
from emp.adapters.fix_quickfix.message_log import RedactingMessageLog
from emp.adapters.fix_quickfix.order_tracker import OrderTracker, flatten_commands
from emp.adapters.fix_quickfix.reconnect import Reconciler
from emp.adapters.fix_quickfix.wire import (
    CANCEL_REJECTED,
    MASS_CANCEL_REJECT_REASON,
    MASS_CANCEL_REPORT,
    MASS_CANCEL_REQUEST,
    MASS_CANCEL_RESPONSE,
    TOTAL_AFFECTED_ORDERS,
    mass_cancel_request,
)
from emp.domain.commands import CancelOrder, SubmitOrder
from emp.domain.events import OrderEvent
from emp.ports.clock import ClockPort
from emp.ports.venue import VenueDisconnected


class VenueInbound:
    """Inbound handling and :meth:`flatten`, for :class:`~.venue.QuickfixVenue`."""

    tracker: OrderTracker
    journal: DuckDBAuditJournal | None
    log: RedactingMessageLog
    acks: AckWatch
    mass_cancel: bool
    logons: int
    messages_received: int
    errors: list[str]
    session_rejects: list[str]
    _clock: ClockPort
    _reconciler: Reconciler
    _session_text: str
    _flattens: int
    _mass_cancel_fallback: list[CancelOrder]

    # the venue's own methods
    @property
    def is_logged_on(self) -> bool: ...

    def reconcile(self) -> int: ...

    def submit_order(self, command: SubmitOrder, *, decision_id: str = "") -> None: ...

    def cancel_order(self, command: CancelOrder) -> None: ...

    def _require_session(self) -> None: ...

    def _note(self, text: str) -> None: ...

    def _send(self, msg_type: str, body: list[tuple[int, str]] | str, lineage: Lineage) -> None: ...

    # ------------------------------------------------------------------ kill switch
    def flatten(self, positions: Mapping[str, float], *, prefix: str = "FLAT") -> list[str]:
        """Cancel every working order, then send MARKET orders that bring each position in
        ``positions`` (symbol -> signed quantity) to zero. The cancels are one 35=F per
        open order, or one OrderMassCancelRequest (35=q) with :attr:`mass_cancel`. Returns
        the ClOrdIDs sent; the reports that confirm the cancels and the fills that confirm
        flatness arrive through :meth:`drain_events`."""
        self._require_session()
        self._flattens += 1
        prefix, now = f"{prefix}{self._flattens}-", self._clock.now_ns()
        cancels, orders = flatten_commands(
            self.tracker.open_orders(), positions, prefix=prefix, ts_ns=now
        )
        sent = self.cancel_all(cancels, f"{prefix}Q", ts_ns=now)
        for order in orders:
            self.submit_order(order, decision_id="flatten")
        return sent + [order.client_order_id for order in orders]

    def cancel_orders(self, commands: Sequence[CancelOrder]) -> None:
        """Cancel orders issued together (the kill switch's cancels of one step): one
        OrderMassCancelRequest (35=q, ClOrdID ``<first ClOrdID>-Q``) when
        :attr:`mass_cancel` is on and they cover every order working here, else one
        OrderCancelRequest (35=F) each. A venue refusing the 35=q gets the 35=Fs then
        (see :meth:`cancel_all`)."""
        if not commands:
            return
        targets = {command.orig_client_order_id for command in commands}
        working = {order.client_order_id for order in self.tracker.open_orders()}
        if self.mass_cancel and working <= targets:
            first = commands[0]
            self.cancel_all(list(commands), f"{first.client_order_id}-Q", ts_ns=first.ts_ns)
            return
        for command in commands:
            self.cancel_order(command)

    def cancel_all(self, cancels: list[CancelOrder], mass_id: str, *, ts_ns: int = 0) -> list[str]:
        """Cancel every working order: one OrderMassCancelRequest (35=q, ClOrdID
        ``mass_id``) with :attr:`mass_cancel` — every working order at the venue, known
        here or not; ``cancels`` go one 35=F each if the venue refuses it — else
        ``cancels`` one 35=F each. Returns the ClOrdIDs sent."""
        self._require_session()
        if self.mass_cancel:
            self._mass_cancel_fallback = cancels
            for cancel in cancels:  # each order now awaits its cancel, as with a 35=F
                self.tracker.on_cancel(cancel)
            body = mass_cancel_request(mass_id, ts_ns or self._clock.now_ns())
            self._send(MASS_CANCEL_REQUEST, body, Lineage(mass_id))
            return [mass_id]
        for cancel in cancels:
            self.cancel_order(cancel)
        return [cancel.client_order_id for cancel in cancels]

    def _mass_cancel_refused(self, why: str) -> None:
        """The venue does not serve 35=q: cancel one by one what the flatten would have
        canceled so (the orders open when it began) and is still open."""
        cancels, self._mass_cancel_fallback = self._mass_cancel_fallback, []
        self.mass_cancel = False
        self._note(f"mass cancel refused ({why}); canceling order by order")
        still_open = {order.client_order_id for order in self.tracker.open_orders()}
        try:
            for cancel in cancels:
                if cancel.orig_client_order_id in still_open:
                    self.cancel_order(cancel)
        except VenueDisconnected as error:  # reconciliation tells what happened to them
            self._note(f"cancels not sent: {error}")

    def _handle(self, item: Inbound) -> list[OrderEvent]:
        if item.kind == "logon":
            self.logons += 1
            if self.logons > 1 and self.is_logged_on:
                self.reconcile()  # a re-logon: what happened while we were away?
            return []
        if item.kind in ("logout", "refused"):
            return []
        if item.kind == "reject":
            self.session_rejects.append(redact_fix(item.raw).replace("\x01", "|"))
            if "\x01372=AF\x01" in item.raw:
                self._reconciler.refused("session-level Reject")
            if "\x01372=q\x01" in item.raw:
                self._mass_cancel_refused("session-level Reject")
            return []
        if item.kind == "error":
            self.errors.append(item.raw)
            return []
        return self._application(item)

    def _application(self, item: Inbound) -> list[OrderEvent]:
        self.messages_received += 1
        try:
            fields = fields_from_engine(item.raw)
            values = fields.values
            self._journal_in(item, values.get(Tag.CL_ORD_ID) or "")
            msg_type = fields.msg_type
            if msg_type == MsgType.EXECUTION_REPORT:
                if values.get(Tag.EXEC_TYPE) == status.EXEC_TYPE_ORDER_STATUS:
                    return self._status_report(status.decode_status_report(fields))
            elif msg_type != MsgType.ORDER_CANCEL_REJECT:
                return self._other_application(fields)
            event = decode.decode_event(fields)
        except FixDecodeError as e:
            self.errors.append(str(e))
            self.log.event(self._session_text, f"undecodable report: {e}")
            return []
        cum = values.get(Tag.CUM_QTY)
        exec_id = values.get(Tag.EXEC_ID) or ""
        if not self.tracker.apply(event, exec_id, float(cum) if cum is not None else None):
            return []
        return [event]

    def _status_report(self, report: status.OrderStatusReport) -> list[OrderEvent]:
        if self.acks.resend_if_unknown(report, time.monotonic()):
            return []
        return self._reconciler.on_report(report)

    def _other_application(self, fields: FixFields) -> list[OrderEvent]:
        """Neither an ExecutionReport nor an OrderCancelReject: 35=j or 35=r (else ignored)."""
        if fields.msg_type == status.BUSINESS_MESSAGE_REJECT:
            text = fields.optional(Tag.TEXT)
            if fields.optional(status.REF_MSG_TYPE) == status.ORDER_MASS_STATUS_REQUEST:
                self._reconciler.refused(f"BusinessMessageReject: {text}")
            elif fields.optional(status.REF_MSG_TYPE) == MASS_CANCEL_REQUEST:
                self._mass_cancel_refused(f"BusinessMessageReject: {text}")
            else:
                self.errors.append(f"the venue refused a message: {text}")
        elif fields.msg_type == MASS_CANCEL_REPORT:
            self._on_mass_cancel_report(fields)
        else:
            self.log.event(self._session_text, f"ignored MsgType {fields.msg_type!r}")
        return []

    def _on_mass_cancel_report(self, fields: Any) -> None:
        """35=r: accepted (the cancels' reports follow) or refused (531=0)."""
        if fields.optional(MASS_CANCEL_RESPONSE) == CANCEL_REJECTED:
            reason = fields.optional(MASS_CANCEL_REJECT_REASON)
            self._mass_cancel_refused(f"OrderMassCancelReport with reason {reason}")
            return
        affected = fields.optional(TOTAL_AFFECTED_ORDERS) or "an unknown number of"
        self._note(f"mass cancel {fields.optional(Tag.CL_ORD_ID)} cancels {affected} orders")

    def _journal_in(self, item: Inbound, client_order_id: str) -> None:
        if self.journal is not None:
            self.journal.append(
                recorded_ns=item.received_ns,
                session=self._session_text,
                direction="in",
                raw=item.raw,
                lineage=self.tracker.lineage(client_order_id),
            )
