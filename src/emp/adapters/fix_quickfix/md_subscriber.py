"""QuickfixMarketData: a FIX 4.4 market-data session over quickfix (MarketDataPort).

EMP's initiator side of :mod:`.md_publisher`: its own session (market data usually has its
own CompID, apart from the order session). quickfix callbacks only queue the raw text of
what arrives (:mod:`.bridge`); :meth:`QuickfixMarketData.drain_events`, on the owner's
thread, decodes each message with the codec's dedicated decoder
(:func:`~emp.adapters.fix_codec.md_session.decode_market_data`: a malformed message
becomes an :class:`~emp.domain.market_data.MdMessageQuarantined`, never an exception),
applies it to a :class:`~emp.domain.books.BookSynchronizer` and returns it. When the
synchronizer asks for a snapshot (an RptSeq gap, a bad message) a 35=V snapshot request
(263=0) goes out at once, so a stale book recovers without the caller's help.

**Reconnects.** A :class:`~.reconnect.ReconnectSupervisor` owns the session's retries:
after a drop (the venue restarts, logs us out, the network fails) it waits a
:class:`~.reconnect.Backoff` delay and logs on again, doubling the wait while the venue
stays away; a Logon refused for bad credentials is not retried. What the owner's thread
does, in :meth:`~QuickfixMarketData.drain_events`, in the order things happened:

* the session drops: every book goes stale (an
  :class:`~emp.domain.market_data.InstrumentWentStale` for each live one) and the
  synchronizer is replaced by a fresh one — a new session's RptSeq series may restart
  (a restarted venue), so nothing of the old series may be trusted or buffered. The
  books are empty and stale until their snapshot arrives.
* the session is back: every active subscription is sent again (same MDReqID); the
  venue's snapshot rebuilds each book (an
  :class:`~emp.domain.market_data.InstrumentRecovered`, counted in ``resyncs``) and its
  increments carry on.
* market data resent by quickfix after a reconnect (PossDupFlag 43=Y) is ignored: it is
  older than the re-subscription's snapshot, and mid-session an ignored resend is an
  RptSeq gap that a snapshot repairs.

Unless the configuration names a dictionary, the session validates against
:func:`~.md_dictionary.md_data_dictionary`, written into the store folder at start.

MsgSeqNum gaps are quickfix's business here (it resends), and heartbeats consume numbers
that never reach the application, so the synchronizer checks RptSeq only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import quickfix as fix
import quickfix44 as fix44

from emp.adapters.fix_codec.md_session import decode_market_data
from emp.adapters.fix_codec.md_tags import (
    MD_UPDATE_TYPE_INCREMENTAL,
    MdTag,
    SubscriptionRequestType,
)
from emp.adapters.fix_quickfix.bridge import Inbound, InitiatorBridge
from emp.adapters.fix_quickfix.config import FixSessionConfig
from emp.adapters.fix_quickfix.credentials import FixCredentials
from emp.adapters.fix_quickfix.initiator import start_initiator, stop_initiator
from emp.adapters.fix_quickfix.md_dictionary import md_data_dictionary
from emp.adapters.fix_quickfix.message_log import RedactingMessageLog
from emp.adapters.fix_quickfix.reconnect import Backoff, ReconnectSupervisor
from emp.domain.books import BookConfig, BookSynchronizer, SyncStats
from emp.domain.instruments import Instrument
from emp.domain.market_data import (
    BookEvent,
    InstrumentRecovered,
    InstrumentWentStale,
    MarketDataMessage,
    MdOtherMessage,
    MdRequestRejected,
    MdSnapshot,
    SnapshotRequested,
)
from emp.ports.clock import ClockPort
from emp.ports.market_data import MarketDataUnavailable

_POSS_DUP = "\x0143=Y\x01"
SESSION_LOST = "the market-data session was lost"

#: Called with each application message's raw bytes and the session (logon) number it
#: arrived in, before it is applied (e.g. to record the stream).
RawListener = Callable[[bytes, int], None]


class QuickfixMarketData:
    """A market-data subscription session (implements MarketDataPort).

    Args:
        config: the session (host, port, CompIDs, store and log folders, TLS).
        clock: stamps log lines and received messages.
        instruments: symbol → instrument, for the books.
        credentials: Username/Password sent at Logon.
        book_config: book settings (MsgSeqNum checking is always off on this path).
        backoff: reconnect delays after a drop (default 0.5 s doubling to 30 s).
        rng: seeded generator for backoff jitter.
        on_raw: told of every application message before it is applied.
    """

    def __init__(
        self,
        config: FixSessionConfig,
        *,
        clock: ClockPort,
        instruments: Mapping[str, Instrument],
        credentials: FixCredentials | None = None,
        book_config: BookConfig | None = None,
        backoff: Backoff | None = None,
        rng: np.random.Generator | None = None,
        on_raw: RawListener | None = None,
        retry_s: float = 2.0,
    ) -> None:
        self.config = config
        self._retry_s = retry_s
        self._clock = clock
        self._credentials = credentials
        self._instruments = instruments
        base = book_config or BookConfig()
        self._book_config = dataclasses.replace(base, check_msg_seq_num=False)
        self.books = BookSynchronizer(instruments, config=self._book_config)
        self._backoff = backoff if backoff is not None else Backoff()
        self._rng = rng
        self._on_raw = on_raw
        self.log = RedactingMessageLog(config.log_dir, clock, name=f"md-{config.sender_comp_id}")
        #: Book events (stale, snapshot requested, recovered, trades), oldest first.
        self.book_events: list[BookEvent] = []
        #: MarketDataRequestRejects (35=Y) received, oldest first.
        self.rejects: list[MdRequestRejected] = []
        #: BusinessMessageRejects (35=j) of our requests: their Text (a venue that serves
        #: no market data refuses 35=V this way).
        self.refused_requests: list[str] = []
        #: Session-level Rejects (35=3), refused Logons and callback failures, in words.
        self.errors: list[str] = []
        #: Logons so far (the first session is 1), sessions lost, books resynced after a
        #: lost session, application messages taken and resent copies ignored.
        self.logons = 0
        self.sessions_lost = 0
        self.resyncs = 0
        self.messages_received = 0
        self.resent_ignored = 0
        self._retired = SyncStats()
        self._lost: set[str] = set()
        self._online = False
        self._arrived = threading.Event()
        self._bridge: InitiatorBridge | None = None
        self._supervisor: ReconnectSupervisor | None = None
        self._initiator: Any = None
        self._session_id: fix.SessionID | None = None
        self._keep: list[object] = []
        self._requests = 0
        self._depths: dict[str, int] = {}
        self._subscribed: dict[str, tuple[str, ...]] = {}
        #: Subscriptions sent and not yet answered: MDReqID -> (sent at, symbols without
        #: their snapshot). The retries counted in ``requests_resent``.
        self._unanswered: dict[str, tuple[float, set[str]]] = {}
        self.requests_resent = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._initiator is not None:
            return
        config = self.config
        config.store_dir.mkdir(parents=True, exist_ok=True)
        dictionary = (
            config.dictionary_path()
            if config.data_dictionary is not None
            else md_data_dictionary(config.store_dir)
        )
        self.log.open()
        try:
            started = start_initiator(
                config,
                dictionary,
                log=self.log,
                clock=self._clock,
                credentials=self._credentials,
                backoff=self._backoff,
                rng=self._rng,
                notify=self._arrived.set,
                failure=MarketDataUnavailable,
            )
        except MarketDataUnavailable:
            self.log.close()
            raise
        # Nothing outbound is stored: a subscription lost in a gap fill is sent again
        # when its snapshot does not come (see ``retry_s``).
        self._keep = started.keep
        self._bridge, self._session_id = started.bridge, started.session_id
        self._initiator = started.initiator
        self._supervisor = started.supervisor
        started.supervisor.start()

    def stop(self) -> None:
        """Stop retrying, log out, stop quickfix's threads, flush the log. Idempotent."""
        supervisor, self._supervisor = self._supervisor, None
        initiator, self._initiator = self._initiator, None
        try:
            stop_initiator(supervisor, initiator, self._session_id, self._bridge)
        finally:
            self.log.close()

    def __enter__(self) -> QuickfixMarketData:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def is_logged_on(self) -> bool:
        return self._bridge is not None and self._bridge.logged_on.is_set()

    def wait_logged_on(self, timeout_s: float = 10.0) -> None:
        """Block until the session is logged on; raise if refused or out of time."""
        deadline = time.monotonic() + timeout_s
        while not self.is_logged_on():
            bridge = self._bridge
            if bridge is not None and bridge.refusal is not None:
                raise MarketDataUnavailable(f"the venue refused our Logon: {bridge.refusal}")
            if time.monotonic() > deadline:
                raise MarketDataUnavailable(
                    f"no Logon from {self.config.host}:{self.config.port} within {timeout_s:g} s"
                )
            time.sleep(0.005)

    @property
    def reconnect_delays(self) -> list[float]:
        """The backoff delays waited so far (one per reconnect attempt)."""
        return list(self._supervisor.delays) if self._supervisor is not None else []

    def total_stats(self) -> SyncStats:
        """The books' counters summed over every session (a lost session's included)."""
        return _summed(self._retired, self.books.stats)

    # ------------------------------------------------------------------ the port
    def subscribe(self, symbols: Sequence[str], *, depth: int = 0) -> str:
        self._requests += 1
        request_id = f"{self.config.sender_comp_id}-MD{self._requests}"
        for symbol in symbols:
            self._depths[symbol] = depth
        self._subscribed[request_id] = tuple(symbols)
        try:
            self._send_subscription(request_id)
        except MarketDataUnavailable:
            del self._subscribed[request_id]  # not sent: nothing to subscribe again later
            raise
        return request_id

    def unsubscribe(self, request_id: str) -> None:
        symbols = self._subscribed.pop(request_id, ())
        self._unanswered.pop(request_id, None)
        if self.is_logged_on():  # a lost session took its subscriptions with it
            self._send_request(request_id, SubscriptionRequestType.UNSUBSCRIBE, symbols, 0)

    def request_snapshot(self, symbol: str) -> None:
        self._requests += 1
        request_id = f"{self.config.sender_comp_id}-SN{self._requests}"
        depth = self._depths.get(symbol, 0)
        self._send_request(request_id, SubscriptionRequestType.SNAPSHOT, (symbol,), depth)

    def drain_events(self, limit: int | None = None) -> list[MarketDataMessage]:
        """Decode what arrived, apply it to :attr:`books`, return it; snapshot requests the
        books raise are sent at once; session changes are handled in arrival order (see
        the module docstring)."""
        bridge = self._bridge
        if bridge is None:
            return []
        self._arrived.clear()
        out: list[MarketDataMessage] = []
        while limit is None or len(out) < limit:
            try:
                item: Inbound = bridge.inbox.get_nowait()
            except queue.Empty:
                break
            if item.kind == "app":
                message = self._application(item.raw)
                if message is not None:
                    out.append(message)
            elif item.kind == "logon":
                self._session_started()
            elif item.kind == "logout":
                self._session_lost()
            elif item.kind in ("reject", "error", "refused"):
                self.errors.append(f"{item.kind}: {item.raw}")
        self._resend_unanswered(time.monotonic())
        return out

    def wait_events(self, timeout_s: float) -> list[MarketDataMessage]:
        """Drain, waiting up to ``timeout_s`` for something to arrive if nothing has."""
        messages = self.drain_events()
        if not messages and self._arrived.wait(timeout_s):
            messages = self.drain_events()
        return messages

    def wait_until(self, predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
        """Drain until ``predicate()`` holds (True) or ``timeout_s`` passes (False)."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.drain_events()
            if predicate():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)

    # ------------------------------------------------------------------ internals
    def _application(self, text: str) -> MarketDataMessage | None:
        if _POSS_DUP in text:
            self.resent_ignored += 1
            return None
        raw = text.encode("utf-8")
        self.messages_received += 1
        if self._on_raw is not None:
            self._on_raw(raw, self.logons)
        message = decode_market_data(raw)
        self.books.on_message(message)
        if isinstance(message, MdSnapshot) and message.request_id in self._unanswered:
            waiting = self._unanswered[message.request_id][1]
            waiting.discard(message.symbol)
            if not waiting:
                del self._unanswered[message.request_id]
        if isinstance(message, MdRequestRejected):
            self._unanswered.pop(message.request_id, None)
            self.rejects.append(message)
        elif isinstance(message, MdOtherMessage) and message.msg_type == "j":
            start = text.find("\x0158=")
            reason = text[start + 4 : text.find("\x01", start + 4)] if start >= 0 else ""
            self.refused_requests.append(reason or "no reason given")
        elif (
            isinstance(message, MdSnapshot)
            and message.symbol in self._lost
            and not self.books.is_stale(message.symbol)
        ):
            self._lost.discard(message.symbol)
            self.resyncs += 1
            self.book_events.append(
                InstrumentRecovered(symbol=message.symbol, seq_num=message.seq_num, replayed=0)
            )
        self._forward_book_events()
        return message

    def _session_started(self) -> None:
        self.logons += 1
        self._online = True
        if self.logons == 1:
            return
        for request_id in self._subscribed:
            try:
                self._send_subscription(request_id)
            except MarketDataUnavailable:
                return  # dropped again already: the next logon subscribes again

    def _session_lost(self) -> None:
        if not self._online:
            return  # a Logon that never completed: nothing was lost
        self._online = False
        self.sessions_lost += 1
        self._unanswered.clear()  # the next logon subscribes again
        old = self.books
        for symbol in old.symbols:
            if not old.is_stale(symbol):
                self.book_events.append(
                    InstrumentWentStale(symbol=symbol, reason=SESSION_LOST, seq_num=None)
                )
        self._lost.update(s for symbols in self._subscribed.values() for s in symbols)
        self._retired = _summed(self._retired, old.stats)
        self.books = BookSynchronizer(self._instruments, config=self._book_config)

    def _forward_book_events(self) -> None:
        for event in self.books.drain_events():
            self.book_events.append(event)
            if isinstance(event, SnapshotRequested):
                # offline: the re-subscription after the next logon resyncs it
                with contextlib.suppress(MarketDataUnavailable):
                    self.request_snapshot(event.symbol)

    def _send_subscription(self, request_id: str) -> None:
        """Send (again) subscription ``request_id``; it waits for a snapshot per symbol."""
        symbols = self._subscribed[request_id]
        depth = max((self._depths.get(s, 0) for s in symbols), default=0)
        self._send_request(
            request_id, SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES, symbols, depth
        )
        self._unanswered[request_id] = (time.monotonic(), set(symbols))

    def _resend_unanswered(self, now_s: float) -> None:
        """A subscription still without its snapshots after ``retry_s`` is sent again
        (same MDReqID, which the venue treats as a replacement): a request sent right
        after a logon can be gap-filled away when the venue asks for a resend, since
        nothing outbound is stored."""
        if not self._online:
            return
        overdue = [r for r, (sent, _) in self._unanswered.items() if now_s - sent > self._retry_s]
        for request_id in overdue:
            with contextlib.suppress(MarketDataUnavailable):
                self._send_subscription(request_id)
                self.requests_resent += 1

    # ------------------------------------------------------------------ wire
    def _send_request(self, request_id: str, kind: str, symbols: Sequence[str], depth: int) -> None:
        if self._session_id is None or not self.is_logged_on():
            raise MarketDataUnavailable("expected a logged-on market-data session, was not")
        message = fix44.MarketDataRequest()
        message.setField(fix.StringField(MdTag.MD_REQ_ID, request_id))
        message.setField(fix.CharField(MdTag.SUBSCRIPTION_REQUEST_TYPE, kind))
        message.setField(fix.IntField(MdTag.MARKET_DEPTH, depth))
        if kind == SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES:
            message.setField(fix.IntField(MdTag.MD_UPDATE_TYPE, int(MD_UPDATE_TYPE_INCREMENTAL)))
        for entry_type in ("0", "1"):
            group = fix44.MarketDataRequest.NoMDEntryTypes()
            group.setField(fix.CharField(MdTag.MD_ENTRY_TYPE, entry_type))
            message.addGroup(group)
        for symbol in symbols:
            group = fix44.MarketDataRequest.NoRelatedSym()
            group.setField(fix.StringField(MdTag.SYMBOL, symbol))
            message.addGroup(group)
        try:
            fix.Session.sendToTarget(message, self._session_id)
        except fix.SessionNotFound as e:
            raise MarketDataUnavailable(f"no market-data session to send to: {e}") from e


def _summed(a: SyncStats, b: SyncStats) -> SyncStats:
    return SyncStats(
        **{f.name: getattr(a, f.name) + getattr(b, f.name) for f in dataclasses.fields(SyncStats)}
    )
