"""The served venue's worker thread: the one thread that touches the simulated exchange.

quickfix callbacks only queue inbound messages (see :mod:`.bridge`); this worker decodes
them, drives the :class:`~emp.domain.matching.SimulatedExchange` with the injected clock,
applies market data, and sends every report to the session of the order's owner.
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
from emp.adapters.fix_codec.tags import SIDE_FROM_FIX, MsgType, Tag
from emp.adapters.fix_quickfix.audit import DuckDBAuditJournal, Lineage
from emp.adapters.fix_quickfix.bridge import Inbound, take_sent_text
from emp.adapters.fix_quickfix.message_log import RedactingMessageLog
from emp.adapters.fix_quickfix.venue_orders import VenueOrderLog
from emp.adapters.fix_quickfix.wire import (
    CANCEL_ALL,
    CANCEL_FOR_SECURITY,
    MASS_CANCEL_REPORT,
    MASS_CANCEL_REQUEST,
    MASS_CANCEL_REQUEST_TYPE,
    NOT_SUPPORTED,
    UNKNOWN_SECURITY,
    build_message,
    mass_cancel_report,
    no_order_report,
    possible_duplicate_header,
    report_message,
    status_report,
    unknown_order_report,
)
from emp.domain.commands import CancelOrder, VenueCommand
from emp.domain.events import OrderReplaced
from emp.domain.matching import (
    MarketUpdate,
    MassStatusAnswer,
    MassStatusQuery,
    MatchReport,
    SimulatedExchange,
    StatusAnswer,
    StatusQuery,
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


@dataclass(frozen=True, slots=True)
class _Sent:
    msg_type: str
    body: list[tuple[int, str]]
    message: fix.Message


class VenueWorker:
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
        while True:
            batch = self._next_batch()
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

    def _now(self) -> int:
        self._now_ns = max(self._now_ns, self._clock.now_ns())
        return self._now_ns

    def advance(self) -> None:
        now = self._now()
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
                if isinstance(report, StatusAnswer):
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
        if isinstance(item, Control):
            try:
                item.done.set_result(item.work(self))
            except Exception as error:  # the caller sees it through the future
                item.done.set_exception(error)
            return
        if not isinstance(item, Inbound) or item.kind != "app":
            return
        entry = self._sessions.get(item.session)
        if entry is None:
            return
        session_id, owner = entry
        try:
            fields = fields_from_engine(item.raw)
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
        if self._journal is None:
            return
        cid = fields.optional(Tag.CL_ORD_ID) or ""
        orig = fields.optional(Tag.ORIG_CL_ORD_ID)
        if fields.msg_type == MsgType.NEW_ORDER_SINGLE:
            lineage = Lineage(cid, fields.optional(Tag.ACCOUNT) or "", "")
        else:
            lineage = self._roots.get((owner, orig or cid), Lineage(orig or cid))
        self._roots[(owner, cid)] = lineage
        self._journal.append(
            recorded_ns=item.received_ns,
            session=item.session,
            direction="in",
            raw=item.raw,
            lineage=lineage,
        )

    def _queue_status(self, fields: Any, owner: str) -> None:
        cid, _, symbol, side, request_id = status.decode_status_request(fields)
        query = StatusQuery(
            client_order_id=cid, symbol=symbol, side=side, request_id=request_id or ""
        )
        self._to_exchange(query, owner)

    def _to_exchange(self, command: VenueCommand | Query, owner: str) -> None:
        """To the exchange in the owner's order; held back while a mass cancel of the
        owner's waits for its list of orders, so nothing sent after the mass cancel is
        canceled by it or trades before the orders it cancels are gone."""
        held = self._held.get(owner)
        if held is not None:
            held.append(command)
        else:
            self.exchange.send(command, owner=owner, sent_ns=self._now())

    # ------------------------------------------------------------------ mass cancel
    def _queue_mass_cancel(self, fields: Any, owner: str) -> None:
        """35=q: learn the owner's working orders in turn (a mass status query through
        the exchange), then cancel each (:meth:`_cancel_working`)."""
        cid = fields.require(Tag.CL_ORD_ID)
        kind = fields.require(MASS_CANCEL_REQUEST_TYPE)
        symbol = fields.optional(Tag.SYMBOL)
        if kind not in (CANCEL_ALL, CANCEL_FOR_SECURITY) or (
            kind == CANCEL_FOR_SECURITY and not symbol
        ):
            reason = NOT_SUPPORTED if kind != CANCEL_FOR_SECURITY else UNKNOWN_SECURITY
            self._mass_cancel_report(owner, cid, kind, 0, reason)
            return
        side = SIDE_FROM_FIX.get(fields.optional(Tag.SIDE) or "")
        query = MassStatusQuery(cid, symbol if kind == CANCEL_FOR_SECURITY else None, side)
        self._mass_cancels[id(query)] = (query, kind)
        self._to_exchange(query, owner)
        self._held.setdefault(owner, [])

    def _cancel_working(self, answer: MassStatusAnswer, kind: str) -> None:
        """The 35=r, then one cancel per working order the answer lists, then what the
        owner sent after the mass cancel (held until now)."""
        owner, query, now = answer.owner, answer.query, self._now()
        self._mass_cancel_report(owner, query.request_id, kind, len(answer.states))
        for n, state in enumerate(answer.states, start=1):
            cancel = CancelOrder(
                client_order_id=f"{query.request_id}.{n}",
                orig_client_order_id=state.client_order_id,
                symbol=state.symbol,
                side=state.side,
                ts_ns=answer.ts_ns,
            )
            self.exchange.send(cancel, owner=owner, sent_ns=now)
        held = self._held.pop(owner, [])
        for k, command in enumerate(held):
            self.exchange.send(command, owner=owner, sent_ns=now)
            if id(command) in self._mass_cancels:  # another mass cancel: hold again
                self._held[owner] = held[k + 1 :]
                break

    def _mass_cancel_report(
        self, owner: str, cid: str, kind: str, affected: int, reason: str | None = None
    ) -> None:
        session_id = self._session_of_owner.get(owner)
        if session_id is None:
            return
        self._mass_cancel_count += 1
        order_id = f"{self.exchange.engine.config.order_id_prefix}MC{self._mass_cancel_count}"
        body = mass_cancel_report(
            cid, order_id, kind, affected=affected, ts_ns=self._now(), reject_reason=reason
        )
        lineage = self._roots.get((owner, cid), Lineage(cid))
        self._send(owner, session_id, MASS_CANCEL_REPORT, body, lineage)

    def _answer_status(self, answer: StatusAnswer) -> None:
        state, query = answer.state, answer.query
        if state is None:
            report = unknown_order_report(query, answer.ts_ns)
        else:
            report = status_report(state, answer.ts_ns, request_id=query.request_id or None)
        self._send_status(answer.owner, report, query.client_order_id)

    def _answer_mass_status(self, answer: MassStatusAnswer) -> None:
        """One report per working order, the last flagged; a single one if none."""
        query, total = answer.query, len(answer.states)
        if not answer.states:
            report = no_order_report(query, answer.ts_ns)
            self._send_status(answer.owner, report, "")
        for n, state in enumerate(answer.states, start=1):
            mass = (query.request_id, total, n == total)
            report = status_report(state, answer.ts_ns, mass=mass)
            self._send_status(answer.owner, report, state.client_order_id)

    def _send_status(self, owner: str, report: status.OrderStatusReport, cid: str) -> None:
        session_id = self._session_of_owner.get(owner)
        if session_id is None:
            return
        self._status_count += 1
        exec_id = f"{self.exchange.engine.config.exec_id_prefix}S{self._status_count}"
        body = status.order_status_report(report, exec_id)
        lineage = self._roots.get((owner, cid), Lineage())
        self._send(owner, session_id, MsgType.EXECUTION_REPORT, body, lineage)

    def _business_reject(self, raw: str, reason: str, session_id: fix.SessionID) -> None:
        fields = fields_from_engine(raw)
        body = status.business_message_reject(fields.seq_num, fields.msg_type, reason)
        message = build_message(status.BUSINESS_MESSAGE_REJECT, body)
        fix.Session.sendToTarget(message, session_id)

    # ------------------------------------------------------------------ outbound
    def send_report(self, report: MatchReport) -> None:
        self._remember(report)
        if report.state.client_order_id in self.suppressed or (
            report.event.client_order_id in self.suppressed
        ):
            self._log.event(report.owner, f"fault: report {report.exec_id} suppressed")
            return
        session_id = self._session_of_owner.get(report.owner)
        if session_id is None:
            return
        msg_type, body = report_message(report)
        cid = report.event.client_order_id
        lineage = self._roots.get((report.owner, cid), Lineage(cid))
        self._send(report.owner, session_id, msg_type, body, lineage)

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
        body: list[tuple[int, str]],
        lineage: Lineage,
        header: list[tuple[int, str]] | None = None,
    ) -> None:
        message = build_message(msg_type, body, header or ())
        take_sent_text()  # forget any earlier one: the next is this message's
        try:
            fix.Session.sendToTarget(message, session_id)
        except fix.SessionNotFound:
            self._log.event(owner, "no session to send a report to")
            return
        self._last_sent[owner] = _Sent(msg_type, body, message)
        self.sent[owner] = self.sent.get(owner, 0) + 1
        if self._journal is not None:
            session = self._session_text_of_owner.get(owner) or session_id.toString()
            self._journal.append(
                recorded_ns=self._now(),
                session=session,
                direction="out",
                raw=take_sent_text() or message.toString(),
                lineage=lineage,
            )

    def resend_last(self, owner: str, *, resend: bool) -> str:
        """Send the last message to ``owner`` again, flagged PossDup (or PossResend)."""
        sent = self._last_sent[owner]
        header = possible_duplicate_header(sent.message, resend=resend)
        session_id = self._session_of_owner[owner]
        self._send(owner, session_id, sent.msg_type, sent.body, Lineage(), header)
        return sent.message.toString()
