"""FixVenueServer: the venue simulator served as a FIX 4.4 acceptor through quickfix.

Sessions are fixed by configuration (one per client CompID). Sequence numbers and sent
messages live in a quickfix FileStore, so a restarted server resumes its sequence and can
answer resend requests for what it sent before. Inbound messages are validated against
the FIX 4.4 data dictionary by quickfix (a malformed one is answered with a session-level
Reject, 35=3); Logon credentials are checked against the configured ones (see
:mod:`.bridge`). Orders are matched by :class:`~emp.domain.matching.MatchingEngine` on a
worker thread (see :mod:`.venue_worker`).

quickfix 1.15 listens on every interface for the configured port (it has no accept
address setting, ``SocketAcceptPort`` only). By default the server therefore refuses the
Logon of any session while a connection to its port comes from a non-loopback address
(:mod:`.peers`, Linux); credentials are checked as well.
"""

from __future__ import annotations

import dataclasses
import errno
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import quickfix as fix

from emp.adapters.fix_quickfix.audit import DuckDBAuditJournal
from emp.adapters.fix_quickfix.bridge import AcceptorBridge
from emp.adapters.fix_quickfix.config import (
    TlsFiles,
    check_comp_id,
    check_port,
    resolve_dictionary,
)
from emp.adapters.fix_quickfix.credentials import Secret
from emp.adapters.fix_quickfix.message_log import RedactingMessageLog
from emp.adapters.fix_quickfix.peers import loopback_only
from emp.adapters.fix_quickfix.session_settings import build_settings, common_settings
from emp.adapters.fix_quickfix.tls_front import TlsFront, TlsFrontConfig, free_loopback_port
from emp.adapters.fix_quickfix.venue_orders import VenueOrderLog
from emp.adapters.fix_quickfix.venue_worker import STOP, Control, LiquiditySource, VenueWorker
from emp.adapters.fix_quickfix.wire import build_message
from emp.domain.instruments import InstrumentRegistry
from emp.domain.matching import (
    LatencyModel,
    MarketUpdate,
    MatchingConfig,
    MatchingEngine,
    SimulatedExchange,
)
from emp.ports.clock import ClockPort
from emp.ports.venue import VenueError

T = TypeVar("T")

#: The served venue's order log, in the store folder beside quickfix's FileStore.
ORDER_LOG_NAME = "emp-venue-orders.jsonl"


def require_free_port(port: int, host: str = "") -> None:
    """Raise :class:`VenueError` when ``port`` cannot be listened on.

    quickfix's acceptor does not report a taken port to Python: the C++ exception escapes
    the binding and aborts the whole process (SIGABRT). So the port is tried first, the
    way quickfix binds it (every address, ``SO_REUSEADDR``). What takes the port in the
    instant between this check and quickfix's bind still aborts.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as e:
            why = "it is in use" if e.errno == errno.EADDRINUSE else (e.strerror or str(e))
            raise VenueError(f"cannot serve FIX on port {port}: {why}") from e


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueServerConfig:
    """The acceptor's settings.

    Attributes:
        port: SocketAcceptPort.
        store_dir: FileStorePath (sequence numbers and sent messages, kept across restarts).
        log_dir: where the redacted message and event logs go.
        venue_comp_id: the venue's CompID (49 on what it sends).
        client_comp_ids: one session per client CompID allowed to log on.
        credentials: username -> password accepted at Logon; ``None`` checks nothing.
        data_dictionary: the FIX44.xml to validate against (default: quickfix's own).
        tls: the venue's certificate and key (and, as ``ca_file``, the CA bundle client
            certificates must chain to: mutual TLS); ``None`` serves plain TCP. TLS is
            terminated by a :class:`~.tls_front.TlsFront` on ``port``, in front of a plain
            acceptor on a private loopback port: quickfix-ssl's own acceptor stops
            answering every client after one failed handshake. ``tls.protocol`` is a
            client setting (Python's defaults apply: TLS 1.2 and later).
        tls_listen_host: the address the TLS front binds (``0.0.0.0``: every IPv4
            interface); plain TCP listens on every interface whatever it says.
        liquidity_interval_ms: how often generated liquidity sources step.
        mass_status: answer OrderMassStatusRequests (35=AF); ``False`` refuses them with a
            BusinessMessageReject, as some venues do.
        mass_cancel: serve OrderMassCancelRequests (35=q: all orders, or one symbol's);
            ``False`` refuses them with a BusinessMessageReject, as some venues do.
        loopback_only: refuse the Logon of any session while a connection to the port
            comes from a non-loopback address (quickfix 1.15 cannot bind one address, see
            :mod:`.peers`); ``False`` serves every network the machine is on. Behind the
            TLS front the acceptor's private port always admits loopback only.
    """

    port: int
    store_dir: Path
    log_dir: Path
    venue_comp_id: str = "EMPSIM"
    client_comp_ids: tuple[str, ...] = ("EMP",)
    credentials: Mapping[str, Secret] | None = field(default=None, hash=False)
    data_dictionary: Path | None = None
    tls: TlsFiles | None = None
    liquidity_interval_ms: int = 100
    mass_status: bool = True
    mass_cancel: bool = True
    loopback_only: bool = True
    tls_listen_host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        check_port(self.port)
        check_comp_id("venue_comp_id", self.venue_comp_id)
        for comp_id in self.client_comp_ids:
            check_comp_id("client_comp_ids", comp_id)


class FixVenueServer:
    """The served venue. Use as a context manager, or call :meth:`start` and, in a
    ``finally``, :meth:`stop`.

    Args:
        config: the acceptor's settings.
        instruments: what the venue lists.
        clock: the venue's clock (every event is stamped with it).
        matching: matching rules; ExecIDs/OrderIDs get a per-start prefix.
        latency: the seeded latency model (default: none beyond the network's).
        liquidity: a generated market per symbol, stepped every ``liquidity_interval_ms``.
        initial_market: updates applied before the first client arrives.
        journal: where inbound/outbound application messages are journaled.
        on_tls_event: told (on the TLS front's threads) of each connection it accepted or
            refused, beside the venue's event log; must not block.
    """

    #: The worker class run on the worker thread; a subclass may extend it (e.g. the
    #: market-data publisher of :mod:`.md_publisher`).
    worker_class: type[VenueWorker] = VenueWorker

    def __init__(
        self,
        config: VenueServerConfig,
        *,
        instruments: InstrumentRegistry,
        clock: ClockPort,
        matching: MatchingConfig | None = None,
        latency: LatencyModel | None = None,
        liquidity: Mapping[str, LiquiditySource] | None = None,
        initial_market: Iterable[MarketUpdate] = (),
        journal: DuckDBAuditJournal | None = None,
        on_tls_event: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self._on_tls_event = on_tls_event
        self._front: TlsFront | None = None
        self._instruments = instruments
        self._clock = clock
        self._matching = matching if matching is not None else MatchingConfig()
        self._latency = latency
        self._liquidity = dict(liquidity or {})
        self._initial = list(initial_market)
        self.journal = journal
        self.log = RedactingMessageLog(config.log_dir, clock, name=f"venue-{config.venue_comp_id}")
        self._bridge: AcceptorBridge | None = None
        self._worker: VenueWorker | None = None
        # quickfix keeps raw pointers into these: they must outlive the acceptor.
        self._keep: list[Any] = []
        self._session_ids: list[fix.SessionID] = []
        self._acceptor: Any = None
        #: Orders taken back from the store folder's order log at the last start.
        self.restored_orders = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._acceptor is not None:
            return
        config = self.config
        listen_host = "" if config.tls is None else config.tls_listen_host
        require_free_port(config.port, listen_host)
        config.store_dir.mkdir(parents=True, exist_ok=True)
        self.log.open()
        if self.journal is not None:
            self.journal.open()
        # behind a TLS front quickfix listens on a private loopback port, in plain TCP
        port = config.port if config.tls is None else free_loopback_port()
        defaults = {
            **common_settings(config.store_dir, resolve_dictionary(config.data_dictionary)),
            "ConnectionType": "acceptor",
            "SocketAcceptPort": str(port),
            "SocketReuseAddress": "Y",
        }
        pairs = [(config.venue_comp_id, client) for client in config.client_comp_ids]
        settings, session_ids = build_settings(defaults, pairs)
        admit = loopback_only(port) if config.loopback_only or config.tls else None
        bridge = AcceptorBridge(self.log, self._clock, config.credentials, admit=admit)
        prefix = f"{config.venue_comp_id}-{self._clock.now_ns():x}-"
        matching = dataclasses.replace(
            self._matching, exec_id_prefix=f"{prefix}E", order_id_prefix=f"{prefix}O"
        )
        exchange = SimulatedExchange(MatchingEngine(self._instruments, matching), self._latency)
        for update in self._initial:
            exchange.engine.apply(update)
        order_log = VenueOrderLog(config.store_dir / ORDER_LOG_NAME)
        self.restored_orders = exchange.engine.restore(order_log.load())
        sessions = {sid.toString(): (sid, sid.getTargetCompID().getValue()) for sid in session_ids}
        self._worker = self.worker_class(
            exchange=exchange,
            clock=self._clock,
            inbox=bridge.inbox,
            sessions=sessions,
            log=self.log,
            journal=self.journal,
            liquidity=self._liquidity,
            liquidity_interval_ns=config.liquidity_interval_ms * 1_000_000,
        )
        self._worker.mass_status = config.mass_status
        self._worker.mass_cancel = config.mass_cancel
        self._worker.order_log = order_log
        store = fix.FileStoreFactory(settings)
        self._bridge = bridge
        self._keep = [settings, store, bridge, session_ids]
        self._session_ids = session_ids
        self._worker.thread.start()
        try:
            acceptor = fix.SocketAcceptor(bridge, store, settings)
            acceptor.start()
        except (fix.ConfigError, fix.RuntimeError) as e:
            self._stop_worker()
            raise VenueError(f"cannot start the FIX acceptor on port {port}: {e}") from e
        self._acceptor = acceptor
        if config.tls is not None:
            try:
                self._front = self._start_front(config.tls, port)
            except Exception:
                self.stop()
                raise

    def _start_front(self, tls: TlsFiles, backend_port: int) -> TlsFront:
        if tls.certificate_file is None or tls.key_file is None:
            raise VenueError("a TLS venue needs its certificate_file and key_file")
        front_config = TlsFrontConfig(
            listen_port=self.config.port,
            backend_port=backend_port,
            certificate_file=tls.certificate_file,
            key_file=tls.key_file,
            client_ca_file=tls.ca_file,
            listen_host=self.config.tls_listen_host,
        )
        front = TlsFront(front_config, on_event=self._tls_event)
        front.start()
        return front

    def _tls_event(self, text: str) -> None:
        self.log.event("TLS", text)
        if self._on_tls_event is not None:
            self._on_tls_event(text)

    def stop(self) -> None:
        """Stop quickfix, then the worker; flush the logs and the journal. Idempotent."""
        acceptor, self._acceptor = self._acceptor, None
        front, self._front = self._front, None
        try:
            try:
                if acceptor is not None:
                    try:
                        self._logout_all(timeout_s=2.0)
                    finally:
                        acceptor.stop(True)
            finally:  # after the Logouts, which go out through the front
                if front is not None:
                    front.stop()
        finally:
            try:
                self._stop_worker()
            finally:
                if self.journal is not None:
                    self.journal.close()
                self.log.close()

    def _logout_all(self, timeout_s: float) -> None:
        """Log every session out and wait briefly for the answers (quickfix's graceful
        stop waits whole seconds)."""
        sessions = [fix.Session.lookupSession(sid) for sid in self._session_ids]
        live = [s for s in sessions if s is not None and s.isLoggedOn()]
        for session in live:
            session.logout("the venue is stopping")
        for session_id in self._session_ids:  # quickfix sends the Logout at its next tick
            session = fix.Session.lookupSession(session_id)
            if session is not None and session.isLoggedOn():
                fix.Session.sendToTarget(
                    build_message("5", [(58, "the venue is stopping")]), session_id
                )
        deadline = time.monotonic() + timeout_s
        while any(s.isLoggedOn() for s in live) and time.monotonic() < deadline:
            time.sleep(0.005)

    def _stop_worker(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None and self._bridge is not None:
            self._bridge.inbox.put(STOP)
            worker.thread.join(timeout=10)
        if worker is not None and worker.order_log is not None:
            worker.order_log.close()

    def __enter__(self) -> FixVenueServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ control
    def call(self, work: Callable[[VenueWorker], T], timeout_s: float = 10.0) -> T:
        """Run ``work(worker)`` on the worker thread and return its result."""
        if self._worker is None or self._bridge is None:
            raise VenueError("the venue server is not running")
        done: Future[T] = Future()
        self._bridge.inbox.put(Control(work, done))
        return done.result(timeout=timeout_s)

    def feed(self, *updates: MarketUpdate) -> None:
        """Apply market updates (in order) on the worker thread; returns once applied."""

        def apply(worker: VenueWorker) -> None:
            for update in updates:
                worker.exchange.feed(update)
            worker.advance()  # the reports it causes are on the wire when feed returns

        self.call(apply)

    def messages_sent(self, client_comp_id: str) -> int:
        """Application messages sent to a client so far (to wait for them in process)."""
        return self.call(lambda worker: worker.sent.get(client_comp_id, 0))

    def close_market(self, symbol: str | None = None) -> None:
        """Close a market (every market by default): resting DAY orders expire."""

        def close(worker: VenueWorker) -> None:
            now = worker.exchange.now_ns or self._clock.now_ns()
            for report in worker.exchange.engine.close_market(now, symbol):
                worker.send_report(report)

        self.call(close)

    def open_market(self, symbol: str | None = None) -> None:
        self.call(lambda worker: worker.exchange.engine.open_market(symbol))

    def is_logged_on(self) -> bool:
        return self._bridge is not None and self._bridge.logged_on.is_set()

    # ------------------------------------------------------------------ faults
    def suppress_reports(self, client_order_id: str) -> None:
        """Fault: never send (nor store) reports about ``client_order_id`` from now on, as a
        venue that lost them would. Reconciliation (35=H) must still find the truth."""
        self.call(lambda worker: worker.suppressed.add(client_order_id))

    def resend_last_report(self, client_comp_id: str, *, poss_resend: bool = False) -> str:
        """Fault: send the last message to a client again, flagged PossDupFlag=Y (or
        PossResend=Y), as a venue recovering from a crash might. Returns the original."""
        return self.call(lambda worker: worker.resend_last(client_comp_id, resend=poss_resend))
