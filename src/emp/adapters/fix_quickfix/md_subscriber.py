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

Unless the configuration names a dictionary, the session validates against
:func:`~.md_publisher.md_data_dictionary` (FIX44.xml plus RptSeq and MDPriceLevel in the
35=X entries), written into the store folder at start.

MsgSeqNum gaps are quickfix's business here (it resends), and heartbeats consume numbers
that never reach the application, so the synchronizer checks RptSeq only.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

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
from emp.adapters.fix_quickfix.md_publisher import md_data_dictionary
from emp.adapters.fix_quickfix.message_log import RedactingMessageLog
from emp.adapters.fix_quickfix.session_settings import build_settings, common_settings, tls_settings
from emp.adapters.fix_quickfix.wire import build_message
from emp.domain.books import BookConfig, BookSynchronizer
from emp.domain.instruments import Instrument
from emp.domain.market_data import (
    BookEvent,
    MarketDataMessage,
    MdRequestRejected,
    SnapshotRequested,
)
from emp.ports.clock import ClockPort
from emp.ports.market_data import MarketDataUnavailable


class QuickfixMarketData:
    """A market-data subscription session (implements MarketDataPort).

    Args:
        config: the session (host, port, CompIDs, store and log folders, TLS).
        clock: stamps log lines and received messages.
        instruments: symbol → instrument, for the books.
        credentials: Username/Password sent at Logon.
        book_config: book settings (MsgSeqNum checking is always off on this path).
    """

    def __init__(
        self,
        config: FixSessionConfig,
        *,
        clock: ClockPort,
        instruments: Mapping[str, Instrument],
        credentials: FixCredentials | None = None,
        book_config: BookConfig | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        self._credentials = credentials
        base = book_config or BookConfig()
        self.books = BookSynchronizer(
            instruments,
            config=BookConfig(
                grid_capacity=base.grid_capacity,
                max_depth=base.max_depth,
                max_buffered=base.max_buffered,
                check_msg_seq_num=False,
            ),
        )
        self.log = RedactingMessageLog(config.log_dir, clock, name=f"md-{config.sender_comp_id}")
        #: Book events (stale, snapshot requested, recovered, trades), oldest first.
        self.book_events: list[BookEvent] = []
        #: MarketDataRequestRejects (35=Y) received, oldest first.
        self.rejects: list[MdRequestRejected] = []
        #: Session-level Rejects (35=3) and callback failures, in words.
        self.errors: list[str] = []
        self._bridge: InitiatorBridge | None = None
        self._initiator: Any = None
        self._session_id: fix.SessionID | None = None
        self._keep: list[object] = []
        self._requests = 0
        self._depths: dict[str, int] = {}
        self._subscribed: dict[str, tuple[str, ...]] = {}

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
        defaults = {
            **common_settings(config.store_dir, dictionary),
            "ConnectionType": "initiator",
            "SocketConnectHost": config.host,
            "SocketConnectPort": str(config.port),
            "HeartBtInt": str(config.heartbeat_s),
            "ReconnectInterval": str(config.reconnect_interval_s),
            "LogonTimeout": str(config.logon_timeout_s),
            "PersistMessages": "N",
            **tls_settings(config.tls, server=False),
        }
        settings, (session_id,) = build_settings(
            defaults, [(config.sender_comp_id, config.target_comp_id)]
        )
        bridge = InitiatorBridge(
            self.log,
            self._clock,
            self._credentials,
            reset_on_logon=config.reset_on_logon,
        )
        store = fix.FileStoreFactory(settings)
        initiator_class = fix.SSLSocketInitiator if config.tls is not None else fix.SocketInitiator
        self._keep = [settings, store, bridge, session_id]
        self._bridge, self._session_id = bridge, session_id
        try:
            initiator = initiator_class(bridge, store, settings)
            initiator.start()
        except (fix.ConfigError, fix.RuntimeError) as e:
            self.log.close()
            raise MarketDataUnavailable(f"cannot start the FIX initiator: {e}") from e
        self._initiator = initiator

    def stop(self) -> None:
        """Log out, stop quickfix's threads, flush the log. Idempotent."""
        initiator, self._initiator = self._initiator, None
        try:
            if initiator is not None:
                try:
                    self._logout(timeout_s=2.0)
                finally:
                    initiator.stop(True)
        finally:
            self.log.close()

    def _logout(self, timeout_s: float) -> None:
        bridge, session_id = self._bridge, self._session_id
        session = fix.Session.lookupSession(session_id) if session_id is not None else None
        if session is None or bridge is None or not bridge.logged_on.is_set():
            return
        session.logout("EMP is stopping")
        fix.Session.sendToTarget(build_message("5", [(58, "EMP is stopping")]), session_id)
        deadline = time.monotonic() + timeout_s
        while bridge.logged_on.is_set() and time.monotonic() < deadline:
            time.sleep(0.005)

    def __enter__(self) -> QuickfixMarketData:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def is_logged_on(self) -> bool:
        return self._bridge is not None and self._bridge.logged_on.is_set()

    def wait_logged_on(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.is_logged_on():
            if time.monotonic() > deadline:
                raise MarketDataUnavailable(
                    f"expected a logon within {timeout_s} s, was not logged on"
                )
            time.sleep(0.005)

    # ------------------------------------------------------------------ the port
    def subscribe(self, symbols: Sequence[str], *, depth: int = 0) -> str:
        self._requests += 1
        request_id = f"{self.config.sender_comp_id}-MD{self._requests}"
        self._send_request(
            request_id, SubscriptionRequestType.SNAPSHOT_PLUS_UPDATES, symbols, depth
        )
        for symbol in symbols:
            self._depths[symbol] = depth
        self._subscribed[request_id] = tuple(symbols)
        return request_id

    def unsubscribe(self, request_id: str) -> None:
        symbols = self._subscribed.pop(request_id, ())
        self._send_request(request_id, SubscriptionRequestType.UNSUBSCRIBE, symbols, 0)

    def request_snapshot(self, symbol: str) -> None:
        self._requests += 1
        request_id = f"{self.config.sender_comp_id}-SN{self._requests}"
        depth = self._depths.get(symbol, 0)
        self._send_request(request_id, SubscriptionRequestType.SNAPSHOT, (symbol,), depth)

    def drain_events(self, limit: int | None = None) -> list[MarketDataMessage]:
        """Decode what arrived, apply it to :attr:`books`, return it; snapshot requests the
        books raise are sent at once."""
        bridge = self._bridge
        if bridge is None:
            return []
        out: list[MarketDataMessage] = []
        while limit is None or len(out) < limit:
            try:
                item: Inbound = bridge.inbox.get_nowait()
            except queue.Empty:
                break
            if item.kind == "app":
                message = decode_market_data(item.raw.encode("utf-8"))
                self.books.on_message(message)
                if isinstance(message, MdRequestRejected):
                    self.rejects.append(message)
                out.append(message)
                self._forward_book_events()
            elif item.kind in ("reject", "error", "refused"):
                self.errors.append(f"{item.kind}: {item.raw}")
        return out

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

    def _forward_book_events(self) -> None:
        for event in self.books.drain_events():
            self.book_events.append(event)
            if isinstance(event, SnapshotRequested):
                self.request_snapshot(event.symbol)

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
