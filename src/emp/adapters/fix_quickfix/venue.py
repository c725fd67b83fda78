"""QuickfixVenue: EMP's quickfix initiator behind the :class:`~emp.ports.venue.VenuePort`.

Threads: quickfix runs the session on its own threads; its callbacks only log and queue
(:mod:`.bridge`). Everything else — encoding commands, decoding reports, deduplication,
reconciliation, the audit journal — happens on the owner's thread, inside the port's
methods. Call them from one thread (the engine's, or the asyncio loop's). To wake an
asyncio loop when reports arrive, :meth:`QuickfixVenue.attach_loop` it and await
:meth:`QuickfixVenue.next_events`.

After every re-logon the adapter asks for the status of its open orders — one
OrderMassStatusRequest (35=AF), then an OrderStatusRequest (35=H) for each open order the
venue no longer lists (or for every open order, at a venue that refuses 35=AF) — and
reconciles the answers (:mod:`.order_tracker`), so an order is neither lost nor counted
twice across a disconnect.
"""

from __future__ import annotations

import asyncio
import dataclasses
import queue
import threading
import time
from typing import Any, TypeVar

import numpy as np
import quickfix as fix

from emp.adapters.fix_codec import encode
from emp.adapters.fix_codec.tags import MsgType
from emp.adapters.fix_quickfix.ack_watch import AckWatch
from emp.adapters.fix_quickfix.audit import DuckDBAuditJournal, Lineage
from emp.adapters.fix_quickfix.bridge import InitiatorBridge, take_sent_text
from emp.adapters.fix_quickfix.config import FixSessionConfig
from emp.adapters.fix_quickfix.credentials import FixCredentials
from emp.adapters.fix_quickfix.initiator import start_initiator, stop_initiator
from emp.adapters.fix_quickfix.message_log import RedactingMessageLog
from emp.adapters.fix_quickfix.order_tracker import OrderTracker
from emp.adapters.fix_quickfix.reconnect import Backoff, Reconciler, ReconnectSupervisor
from emp.adapters.fix_quickfix.venue_inbound import VenueInbound
from emp.adapters.fix_quickfix.wire import (
    build_reused_message,
    new_order_single_text,
)
from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder
from emp.domain.events import OrderEvent
from emp.ports.clock import ClockPort
from emp.ports.venue import VenueDisconnected, VenueError

_C = TypeVar("_C", SubmitOrder, CancelOrder, ReplaceOrder)


class VenueLogonRefused(VenueDisconnected):
    """The venue answered our Logon with a Logout (wrong credentials, unknown CompID...)."""


class QuickfixVenue(VenueInbound):
    """A real FIX 4.4 session to a venue (implements VenuePort).

    Args:
        config: the session (host, port, CompIDs, store and log folders, TLS).
        clock: stamps commands' TransactTime when they carry none, and log lines.
        credentials: Username/Password sent at Logon (from the environment, never code).
        journal: the audit journal of application messages (optional).
        backoff: reconnect delays after a drop (default 0.5 s doubling to 30 s).
        rng: seeded generator for backoff jitter.
        mass_cancel: :meth:`flatten` cancels with one OrderMassCancelRequest (35=q) instead
            of one 35=F per order; only for venues known to serve it (EMP's does). A
            refusal turns it off and cancels order by order.
    """

    def __init__(
        self,
        config: FixSessionConfig,
        *,
        clock: ClockPort,
        credentials: FixCredentials | None = None,
        journal: DuckDBAuditJournal | None = None,
        backoff: Backoff | None = None,
        rng: np.random.Generator | None = None,
        mass_cancel: bool = False,
    ) -> None:
        self.config = config
        self._clock = clock
        self._credentials = credentials
        self.journal = journal
        self._backoff = backoff if backoff is not None else Backoff()
        self._rng = rng
        self.log = RedactingMessageLog(
            config.log_dir, clock, name=f"{config.sender_comp_id}-{config.target_comp_id}"
        )
        self.tracker = OrderTracker()
        self._arrived = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._async_arrived: asyncio.Event | None = None
        self._bridge: InitiatorBridge | None = None
        self._supervisor: ReconnectSupervisor | None = None
        self._initiator: Any = None
        self._keep: list[Any] = []
        self._session_id: fix.SessionID | None = None
        self._session_text = ""
        self._reconciler = Reconciler(self.tracker, self._send_status_request, self._note)
        #: Unacknowledged NewOrderSingles (lost to a gap fill after a Logon): see ack_watch.
        self.acks = AckWatch(self._send_status_request, self._note)
        self._pending: list[OrderEvent] = []
        self.logons = 0
        self._flattens = 0
        self.mass_cancel = mass_cancel
        self._mass_cancel_fallback: list[CancelOrder] = []
        #: Application messages taken from the session so far (duplicates included).
        self.messages_received = 0
        self._delays: list[float] = []
        #: Callback failures and undecodable reports, in words.
        self.errors: list[str] = []
        #: Session-level Rejects (35=3) the venue sent us: our message was malformed.
        self.session_rejects: list[str] = []

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._initiator is not None:
            return
        config = self.config
        config.store_dir.mkdir(parents=True, exist_ok=True)
        self.log.open()
        if self.journal is not None:
            self.journal.open()
        started = start_initiator(
            config,
            config.dictionary_path(),
            log=self.log,
            clock=self._clock,
            credentials=self._credentials,
            backoff=self._backoff,
            rng=self._rng,
            notify=self._notify,
            failure=VenueError,
        )
        self._keep = started.keep
        self._bridge, self._supervisor = started.bridge, started.supervisor
        self._delays = started.supervisor.delays
        self._session_id, self._session_text = started.session_id, started.session_id.toString()
        self._initiator = started.initiator
        started.supervisor.start()

    def stop(self) -> None:
        """Log out, stop quickfix's threads, flush logs and journal. Idempotent."""
        supervisor, self._supervisor = self._supervisor, None
        initiator, self._initiator = self._initiator, None
        try:
            stop_initiator(supervisor, initiator, self._session_id, self._bridge)
        finally:
            try:
                if self.journal is not None:
                    self.journal.close()
            finally:
                self.log.close()

    def __enter__(self) -> QuickfixVenue:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def reconnect_delays(self) -> list[float]:
        """The backoff delays waited so far (one per reconnect attempt)."""
        return list(self._delays)

    @property
    def is_logged_on(self) -> bool:
        return self._bridge is not None and self._bridge.logged_on.is_set()

    def wait_logged_on(self, timeout_s: float = 10.0) -> None:
        """Block until the session is logged on; raise if refused or out of time."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            bridge = self._bridge
            if bridge is None:
                raise VenueDisconnected("the FIX session is not started")
            if bridge.refusal is not None:
                raise VenueLogonRefused(f"the venue refused our Logon: {bridge.refusal}")
            if bridge.logged_on.wait(0.02):
                return
        where = f"{self.config.host}:{self.config.port}"
        dropped = self._bridge.unanswered_logons if self._bridge is not None else 0
        if dropped:
            ours = "TLS" if self.config.tls is not None else "plain TCP"
            raise VenueDisconnected(
                f"no Logon from {where} within {timeout_s} s: the venue closed the connection "
                f"{dropped} time(s) without answering our Logon. We speak {ours}; a TLS "
                "venue needs TLS settings (EMP_FIX_TLS_CA_FILE) and a plain one none"
            )
        raise VenueDisconnected(f"no Logon from {where} within {timeout_s} s")

    # ------------------------------------------------------------------ the port
    def submit_order(self, command: SubmitOrder, *, decision_id: str = "") -> None:
        """Send a NewOrderSingle (35=D); ``decision_id`` goes to the audit journal."""
        command = self._stamped(command)
        body = new_order_single_text(command) or encode.new_order_single(command)
        self._require_session()
        lineage = self.tracker.on_submit(command, decision_id)
        self._send(MsgType.NEW_ORDER_SINGLE, body, lineage)
        self.acks.sent(command.client_order_id, body, lineage, time.monotonic())

    def cancel_order(self, command: CancelOrder) -> None:
        """Send an OrderCancelRequest (35=F)."""
        command = self._stamped(command)
        body = encode.order_cancel_request(command)
        self._require_session()
        self._send(MsgType.ORDER_CANCEL_REQUEST, body, self.tracker.on_cancel(command))

    def replace_order(self, command: ReplaceOrder) -> None:
        """Send an OrderCancelReplaceRequest (35=G)."""
        command = self._stamped(command)
        body = encode.order_cancel_replace_request(command)
        self._require_session()
        self._send(MsgType.ORDER_CANCEL_REPLACE_REQUEST, body, self.tracker.on_replace(command))

    def drain_events(self) -> list[OrderEvent]:
        """Every new order event since the last call, in arrival order (duplicates dropped)."""
        bridge = self._bridge
        if bridge is None:
            return []
        self._arrived.clear()
        events, self._pending = self._pending, []
        while True:
            try:
                item = bridge.inbox.get_nowait()
            except queue.Empty:
                break
            events.extend(self._handle(item))
        if self._reconciler.waiting and self.is_logged_on:
            self._reconciler.retry_overdue(time.monotonic())
        if self.acks.pending and self.is_logged_on:
            self.acks.check(self.tracker, time.monotonic())
        return events

    def wait_events(self, timeout_s: float) -> list[OrderEvent]:
        """Block up to ``timeout_s`` for events (for synchronous callers and tests)."""
        deadline = time.monotonic() + timeout_s
        while True:
            events = self.drain_events()
            left = deadline - time.monotonic()
            if events or left <= 0:
                return events
            self._arrived.wait(min(left, 0.05))

    # ------------------------------------------------------------------ asyncio
    def attach_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wake ``loop`` (thread-safely) whenever quickfix delivers something."""
        self._loop = loop
        self._async_arrived = asyncio.Event()

    async def next_events(self) -> list[OrderEvent]:
        """Await the next non-empty batch of events (after :meth:`attach_loop`)."""
        if self._async_arrived is None:
            raise VenueError("call attach_loop(loop) before awaiting next_events()")
        while True:
            self._async_arrived.clear()
            events = self.drain_events()
            if events:
                return events
            await self._async_arrived.wait()

    def _notify(self) -> None:
        """On a quickfix thread: wake whoever waits. Nothing else."""
        if not self._arrived.is_set():  # setting a set Event still takes its lock
            self._arrived.set()
        loop, arrived = self._loop, self._async_arrived
        if loop is not None and arrived is not None and not loop.is_closed():
            loop.call_soon_threadsafe(arrived.set)

    # ------------------------------------------------------------------ reconciliation
    def reconcile(self) -> int:
        """Ask the venue where our open orders stand; returns how many are asked about
        (see :class:`~.reconnect.Reconciler`: one 35=AF, then 35=H where needed)."""
        return self._reconciler.start()

    @property
    def mass_status(self) -> bool:
        """Whether reconciliation uses 35=AF (cleared when the venue refuses it)."""
        return self._reconciler.mass_status

    # ------------------------------------------------------------------ internals
    def _stamped(self, command: _C) -> _C:
        """The command with TransactTime from the clock when it carries none."""
        if command.ts_ns:
            return command
        return dataclasses.replace(command, ts_ns=self._clock.now_ns())

    def _require_session(self) -> None:
        if not self.is_logged_on:
            raise VenueDisconnected(
                f"the FIX session {self._session_text or '(not started)'} is not logged on; "
                "the command was not sent"
            )

    def _send(self, msg_type: str, body: list[tuple[int, str]] | str, lineage: Lineage) -> None:
        message = build_reused_message(msg_type, body)  # this thread's, parsed in place
        take_sent_text()  # forget any earlier one: the next is this message's
        try:
            sent = fix.Session.sendToTarget(message, self._session_id)
        except fix.SessionNotFound as e:
            raise VenueDisconnected(f"no FIX session {self._session_text}") from e
        if not sent:
            raise VenueDisconnected(f"quickfix did not send the {msg_type} message")
        if self.journal is not None:
            self.journal.append(
                recorded_ns=self._clock.now_ns(),
                session=self._session_text,
                direction="out",
                raw=take_sent_text() or message.toString(),
                lineage=lineage,
            )

    def _note(self, text: str) -> None:
        self.log.event(self._session_text, text)

    def _send_status_request(
        self, msg_type: str, body: list[tuple[int, str]] | str, lineage: Lineage
    ) -> None:
        """A reconciliation request; a session that dropped meanwhile is no error here:
        the next logon reconciles again."""
        try:
            self._send(msg_type, body, lineage)
        except VenueDisconnected as error:
            self._note(f"status request not sent: {error}")
