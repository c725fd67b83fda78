"""The served venue's worker thread: the one thread that touches the simulated exchange.

quickfix callbacks only queue inbound messages (see :mod:`.bridge`); this worker decodes
them, drives the :class:`~emp.domain.matching.SimulatedExchange` with the injected clock,
applies market data, and sends every report to the session of the order's owner. It reads
the clock once per batch of inbound messages and once per advance. Mass cancels and
status answers: :mod:`.venue_answers`.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

import quickfix as fix

from emp.adapters.fix_codec import decode, status
from emp.adapters.fix_codec.engine_fields import fields_from_engine
from emp.adapters.fix_codec.errors import FixDecodeError, FixEncodeError
from emp.adapters.fix_codec.tags import MsgType, Tag
from emp.adapters.fix_quickfix.audit import DuckDBAuditJournal, Lineage
from emp.adapters.fix_quickfix.bridge import Inbound, take_sent_text
from emp.adapters.fix_quickfix.message_log import RedactingMessageLog
from emp.adapters.fix_quickfix.venue_answers import VenueAnswers
from emp.adapters.fix_quickfix.venue_orders import VenueOrderLog
from emp.adapters.fix_quickfix.wire import (
    MASS_CANCEL_REQUEST,
    build_message,
    build_reused_message,
    possible_duplicate_header,
    report_message,
)
from emp.domain.commands import VenueCommand
from emp.domain.events import OrderReplaced
from emp.domain.matching import (
    MarketUpdate,
    MassStatusAnswer,
    MassStatusQuery,
    MatchReport,
    SimulatedExchange,
    StatusAnswer,
)
from emp.domain.matching.exchange import Query
from emp.domain.orders import OrderStatus
from emp.ports.clock import ClockPort

_COMMANDS = (MsgType.NEW_ORDER_SINGLE, MsgType.ORDER_CANCEL_REQUEST)
_COMMANDS += (MsgType.ORDER_CANCEL_REPLACE_REQUEST,)


class LiquiditySource(Protocol):
    """Anything that yields market updates as time passes (e.g. SyntheticLiquidity)."""

    def step(self, ts_ns: int) -> list[MarketUpdate]: ...


@dataclass(frozen=True, slots=True)
class Control:
    """Work for the worker thread: ``work(worker)``'s result completes ``done``."""

    work: Callable[[VenueWorker], Any]
    done: Future


STOP = object()


#: The last message sent to an owner: (MsgType, body, the text sent).
_Sent = tuple[str, "list[tuple[int, str]] | str", str]


class VenueWorker(VenueAnswers):
    """Runs on its own thread; see the module docstring."""

    def __init__(
        self,
        *,
        exchange: SimulatedExchange,
        clock: ClockPort,
        inbox: queue.SimpleQueue,
        sessions: Mapping[str, tuple[fix.SessionID, str]],
        log: RedactingMessageLog,
        journal: DuckDBAuditJournal | None,
        liquidity: Mapping[str, LiquiditySource],
        liquidity_interval_ns: int,
    ) -> None:
        self.exchange = exchange
        self._clock = clock
        self._inbox = inbox
        self._sessions = sessions  # session text -> (SessionID, owner CompID)
        self._session_of_owner = {owner: sid for sid, owner in sessions.values()}
        self._session_text_of_owner = {owner: text for text, (_, owner) in sessions.items()}
        self._log = log
        self._journal = journal
        self._liquidity = liquidity
        self._liquidity_interval_ns = liquidity_interval_ns
        self._next_liquidity_ns: int | None = None
        self._now_ns = 0
        self._status_count = 0
        self._roots: dict[tuple[str, str], Lineage] = {}
        self.suppressed: set[str] = set()
        #: Whether OrderMassStatusRequests (35=AF) are answered (else refused with 35=j).
        self.mass_status = True
        #: Whether OrderMassCancelRequests (35=q) are served (else refused with 35=j).
        self.mass_cancel = True
        self._mass_cancels: dict[int, tuple[MassStatusQuery, str]] = {}  # id(query) -> 530
        self._mass_cancel_count = 0
        #: Per owner, what arrived after a mass cancel still waiting for its order list.
        self._held: dict[str, list[VenueCommand | Query]] = {}
        #: Where order states are kept across restarts (set by the server).
        self.order_log: VenueOrderLog | None = None
        self._last_sent: dict[str, _Sent] = {}
        #: Application messages sent per owner (for in-process synchronisation).
        self.sent: dict[str, int] = {}
        self.thread = threading.Thread(target=self._run, name="emp-venue-worker", daemon=True)

    # ------------------------------------------------------------------ the loop
    def _run(self) -> None:
        self.advance()  # the market opens now: liquidity stands before the first order comes
        while True:
            batch = self._next_batch()
            self._tick()  # one clock read for the batch's commands
            for item in batch:
                if item is STOP:
                    self.advance()
                    return
                self._handle(item)
            self.advance()

    def _next_batch(self) -> list[object]:
        try:
            first = self._inbox.get(timeout=self._timeout_s())
        except queue.Empty:
            return []
        batch = [first]
        while True:
            try:
                batch.append(self._inbox.get_nowait())
            except queue.Empty:
                return batch

    def _timeout_s(self) -> float | None:
        due = [t for t in (self.exchange.next_due_ns(), self._next_liquidity_ns) if t is not None]
        if not due:
            return None
        return max(0.0, (min(due) - self._clock.now_ns()) / 1e9)

    def _tick(self) -> int:
        """Read the clock (never backwards): at the start of a batch and in advance."""
        self._now_ns = max(self._now_ns, self._clock.now_ns())
        return self._now_ns

    def _now(self) -> int:
        """The time of the batch (or of the last advance): one clock read per batch."""
        return self._now_ns

    def advance(self) -> None:
        now = self._tick()
        if self._liquidity:
            if self._next_liquidity_ns is None:
                self._next_liquidity_ns = now
            while self._next_liquidity_ns <= now:
                for source in self._liquidity.values():
                    for update in source.step(self._next_liquidity_ns):
                        self.exchange.feed(update)
                self._next_liquidity_ns += self._liquidity_interval_ns
        again = True
        while again:  # a mass cancel's cancels are due at once: take them in this pass
            again = False
            for delivery in self.exchange.advance_to(now):
                report = delivery.report
                if type(report) is MatchReport:
                    self.send_report(report)
                elif isinstance(report, StatusAnswer):
                    self._answer_status(report)
                elif isinstance(report, MassStatusAnswer):
                    mass_cancel = self._mass_cancels.pop(id(report.query), None)
                    if mass_cancel is None:
                        self._answer_mass_status(report)
                    else:
                        self._cancel_working(report, mass_cancel[1])
                        again = True
                else:
                    self.send_report(report)
        if self.order_log is not None:
            self.order_log.flush()

    # ------------------------------------------------------------------ inbound
    def _handle(self, item: object) -> None:
        if type(item) is not Inbound:
            if isinstance(item, Control):
                try:
                    item.done.set_result(item.work(self))
                except Exception as error:  # the caller sees it through the future
                    item.done.set_exception(error)
            return
        assert isinstance(item, Inbound)
        if item.kind != "app":
            return
        entry = self._sessions.get(item.session)
        if entry is None:
            return
        session_id, owner = entry
        try:
            fields = fields_from_engine(item.raw)
            if self._journal is not None:
                self._journal_in(item, owner, fields)
            if fields.msg_type in _COMMANDS:
                self._to_exchange(decode.decode_command(fields), owner)
            elif fields.msg_type == status.ORDER_STATUS_REQUEST:
                self._queue_status(fields, owner)
            elif fields.msg_type == status.ORDER_MASS_STATUS_REQUEST and self.mass_status:
                request = status.decode_mass_status_request(fields)
                query = MassStatusQuery(request.request_id, request.symbol, request.side)
                self._to_exchange(query, owner)
            elif fields.msg_type == MASS_CANCEL_REQUEST and self.mass_cancel:
                self._queue_mass_cancel(fields, owner)
            else:
                raise fields.error(Tag.MSG_TYPE, f"unsupported MsgType {fields.msg_type!r}")
        except (FixDecodeError, FixEncodeError) as error:
            self._business_reject(item.raw, str(error), session_id)

    def _journal_in(self, item: Inbound, owner: str, fields: Any) -> None:
        assert self._journal is not None
        values = fields.values
        cid = values.get(Tag.CL_ORD_ID) or ""
        if fields.msg_type == MsgType.NEW_ORDER_SINGLE:
            lineage = Lineage(cid, values.get(Tag.ACCOUNT) or "", "")
        else:
            root = values.get(Tag.ORIG_CL_ORD_ID) or cid
            lineage = self._roots.get((owner, root)) or Lineage(root)
        self._roots[(owner, cid)] = lineage
        self._journal.append(
            recorded_ns=item.received_ns,
            session=item.session,
            direction="in",
            raw=item.raw,
            lineage=lineage,
        )

    def _to_exchange(self, command: VenueCommand | Query, owner: str) -> None:
        """To the exchange in the owner's order; held back while a mass cancel of the
        owner's waits for its list of orders, so nothing sent after the mass cancel is
        canceled by it or trades before the orders it cancels are gone."""
        held = self._held.get(owner)
        if held is not None:
            held.append(command)
        else:
            self.exchange.send(command, owner=owner, sent_ns=self._now())

    def _business_reject(self, raw: str, reason: str, session_id: fix.SessionID) -> None:
        fields = fields_from_engine(raw)
        body = status.business_message_reject(fields.seq_num, fields.msg_type, reason)
        message = build_message(status.BUSINESS_MESSAGE_REJECT, body)
        fix.Session.sendToTarget(message, session_id)

    # ------------------------------------------------------------------ outbound
    def send_report(self, report: MatchReport) -> None:
        self._remember(report)
        owner = report.state.owner
        if self.suppressed and (
            report.state.client_order_id in self.suppressed
            or report.event.client_order_id in self.suppressed
        ):
            self._log.event(owner, f"fault: report {report.exec_id} suppressed")
            return
        session_id = self._session_of_owner.get(owner)
        if session_id is None:
            return
        msg_type, body = report_message(report)
        cid = report.event.client_order_id
        lineage = self._roots.get((owner, cid)) or Lineage(cid)
        self._send(owner, session_id, msg_type, body, lineage)

    def _remember(self, report: MatchReport) -> None:
        """Log the order's new state (orders the venue never accepted have no OrderID)."""
        if self.order_log is None or report.state.order_id is None:
            return
        event = report.event
        if isinstance(event, OrderReplaced):  # the old ClOrdID is done
            old = dataclasses.replace(
                report.state,
                client_order_id=event.orig_client_order_id,
                status=OrderStatus.REPLACED,
            )
            self.order_log.record(old)
        self.order_log.record(report.state)

    def _send(
        self,
        owner: str,
        session_id: fix.SessionID,
        msg_type: str,
        body: list[tuple[int, str]] | str,
        lineage: Lineage,
        header: list[tuple[int, str]] | None = None,
    ) -> None:
        if header:
            message = build_message(msg_type, body, header)
        else:  # the common case: this thread's reusable Message, parsed in place
            message = build_reused_message(msg_type, body)
        take_sent_text()  # forget any earlier one: the next is this message's
        try:
            fix.Session.sendToTarget(message, session_id)
        except fix.SessionNotFound:
            self._log.event(owner, "no session to send a report to")
            return
        raw = take_sent_text() or message.toString()
        self._last_sent[owner] = (msg_type, body, raw)
        self.sent[owner] = self.sent.get(owner, 0) + 1
        if self._journal is not None:
            session = self._session_text_of_owner.get(owner) or session_id.toString()
            self._journal.append(
                recorded_ns=self._now(), session=session, direction="out", raw=raw, lineage=lineage
            )

    def resend_last(self, owner: str, *, resend: bool) -> str:
        """Send the last message to ``owner`` again, flagged PossDup (or PossResend)."""
        msg_type, body, original = self._last_sent[owner]
        header = possible_duplicate_header(original, resend=resend)
        session_id = self._session_of_owner[owner]
        self._send(owner, session_id, msg_type, body, Lineage(), header)
        return original
