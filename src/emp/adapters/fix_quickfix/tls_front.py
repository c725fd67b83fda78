"""TlsFront: TLS (and mutual TLS) terminated in Python in front of a plain quickfix acceptor.

quickfix-ssl 1.15.1's acceptor is unfit to face a network with TLS: after one failed
handshake (a client without a certificate, one signed by another CA, or a plain TCP
connection) it closes that socket but keeps it in its select set, and from then on it
answers no handshake at all: one bad connection takes the venue down for every client.
The served venue therefore terminates TLS here, with Python's :mod:`ssl` (the system's
OpenSSL, TLS 1.2 and 1.3): each connection is handshaken on its own thread with a time
limit, a failed one is closed and recorded, and a verified one is relayed byte for byte to
the quickfix acceptor on a loopback port.

Unlike quickfix 1.15, the front binds one address: ``127.0.0.1`` serves this machine
only. The relayed connections reach quickfix from loopback, so the acceptor behind it
keeps its loopback-only Logon check (:mod:`.peers`) against direct connections.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from emp.adapters.fix_quickfix.config import check_port
from emp.domain.errors import InvalidConfiguration
from emp.ports.venue import VenueError

_CHUNK = 65536


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsFrontConfig:
    """Where the front listens and what it requires.

    Attributes:
        listen_port: the port clients connect to with TLS.
        backend_port: the plain quickfix acceptor's port on 127.0.0.1.
        certificate_file: the venue's PEM certificate (chain).
        key_file: its PEM private key.
        client_ca_file: PEM CA bundle client certificates must chain to; given, every
            client must present a verified certificate (mutual TLS); ``None``: none asked.
        listen_host: the address to bind (``127.0.0.1``: this machine only; ``0.0.0.0``:
            every IPv4 interface).
        handshake_timeout_s: a client that has not completed its handshake by then is
            disconnected.
    """

    listen_port: int
    backend_port: int
    certificate_file: Path
    key_file: Path
    client_ca_file: Path | None = None
    listen_host: str = "127.0.0.1"
    handshake_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        check_port(self.listen_port)
        check_port(self.backend_port)
        if self.handshake_timeout_s <= 0:
            raise InvalidConfiguration(
                f"handshake_timeout_s must be > 0, was {self.handshake_timeout_s!r}"
            )


def free_loopback_port() -> int:
    """A TCP port free on 127.0.0.1 now (for the acceptor behind a front)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_context(config: TlsFrontConfig) -> ssl.SSLContext:
    """The server-side SSLContext: TLS >= 1.2, client certificates required iff a CA is."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(config.certificate_file), str(config.key_file))
        if config.client_ca_file is not None:
            context.load_verify_locations(cafile=str(config.client_ca_file))
            context.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as e:
        raise InvalidConfiguration(
            f"cannot load the TLS files (certificate {config.certificate_file}, key "
            f"{config.key_file}, client CA {config.client_ca_file}): {e}"
        ) from e
    return context


class TlsFront:
    """Accepts TLS on ``listen_port`` and relays each verified connection to the backend.

    Call :meth:`start`, and :meth:`stop` in a ``finally`` (after the acceptor behind it has
    logged its sessions out, so that the Logouts still get through).

    Args:
        config: addresses, files and limits.
        on_event: called (on the front's threads) with one line per accepted or refused
            connection, e.g. to write the venue's log; must not block.
    """

    def __init__(
        self, config: TlsFrontConfig, *, on_event: Callable[[str], None] | None = None
    ) -> None:
        self.config = config
        self._on_event = on_event
        self._context = server_context(config)
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._sockets: set[socket.socket] = set()
        #: Why each refused connection was refused, in arrival order.
        self.refusals: list[str] = []
        #: Connections handshaken and relayed so far.
        self.accepted = 0

    def start(self) -> None:
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.config.listen_host, self.config.listen_port))
            listener.listen(64)
        except OSError as e:
            listener.close()
            raise VenueError(
                f"cannot listen for TLS on {self.config.listen_host}:{self.config.listen_port}: {e}"
            ) from e
        listener.settimeout(0.2)
        self._listener = listener
        self._stopping.clear()
        self._spawn(self._accept_loop, listener, name="emp-tls-accept")

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop accepting, close every relayed connection, join the threads. Idempotent."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        self._stopping.set()
        with self._lock:
            for sock in list(self._sockets):
                _shutdown(sock)
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=timeout_s)
        listener.close()
        with self._lock:
            self._threads.clear()

    def __enter__(self) -> TlsFront:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ threads
    def _spawn(self, target: Callable[..., None], *args: object, name: str) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _track(self, sock: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._sockets.add(sock)
            else:
                self._sockets.discard(sock)

    def _event(self, text: str) -> None:
        if self._on_event is not None:
            self._on_event(text)

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                raw, address = listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by stop()
                return
            peer = f"{address[0]}:{address[1]}"
            self._spawn(self._serve, raw, peer, name=f"emp-tls-{peer}")

    def _serve(self, raw: socket.socket, peer: str) -> None:
        self._track(raw, add=True)
        try:
            tls = self._handshake(raw, peer)
            if tls is None:
                return
            self._track(tls, add=True)
            try:
                self._relay(tls, peer)
            finally:
                self._track(tls, add=False)
                tls.close()
        finally:
            self._track(raw, add=False)
            raw.close()

    def _handshake(self, raw: socket.socket, peer: str) -> ssl.SSLSocket | None:
        raw.settimeout(self.config.handshake_timeout_s)
        try:
            tls = self._context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            reason = _reason(e)
            self.refusals.append(reason)
            self._event(f"refused a TLS connection from {peer}: {reason}")
            return None
        subject = _subject(tls.getpeercert())
        self.accepted += 1
        self._event(
            f"accepted a TLS connection from {peer} ({tls.version()}"
            + (f", client certificate {subject}" if subject else "")
            + ")"
        )
        return tls

    def _relay(self, tls: ssl.SSLSocket, peer: str) -> None:
        """Copy bytes both ways on this one thread (an SSL object is not shared between
        threads) until either side closes or the front stops."""
        try:
            backend = socket.create_connection(("127.0.0.1", self.config.backend_port), 5.0)
        except OSError as e:
            self._event(f"dropped {peer}: the FIX acceptor behind the TLS front is down: {e}")
            return
        self._track(backend, add=True)
        tls.settimeout(None)
        backend.settimeout(None)
        backend.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while not self._stopping.is_set():
                ready = [tls] if tls.pending() else _readable(tls, backend)
                if tls in ready:
                    data = tls.recv(_CHUNK)
                    if not data:
                        return
                    backend.sendall(data)
                if backend in ready:
                    data = backend.recv(_CHUNK)
                    if not data:
                        return
                    tls.sendall(data)
        except (OSError, ssl.SSLError):
            return  # either side went away (or stop() shut them down)
        finally:
            self._track(backend, add=False)
            backend.close()


def _readable(*sockets: socket.socket) -> list[socket.socket]:
    ready, _, _ = select.select(list(sockets), [], [], 0.2)
    return ready


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _reason(error: BaseException) -> str:
    """A failed handshake in words, e.g. ``"no client certificate: ..."``."""
    text = getattr(error, "reason", None) or str(error) or type(error).__name__
    if isinstance(error, TimeoutError | socket.timeout):
        return "the TLS handshake did not complete in time"
    if "PEER_DID_NOT_RETURN_A_CERTIFICATE" in str(text).upper():
        return f"no client certificate: mutual TLS requires one ({text})"
    if "CERTIFICATE_VERIFY_FAILED" in str(text).upper():
        return f"the client certificate does not verify against the client CA ({error})"
    return f"TLS handshake failed ({text})"


def _subject(certificate: dict | None) -> str:
    if not certificate:
        return ""
    parts = [f"{k}={v}" for rdn in certificate.get("subject", ()) for k, v in rdn]
    return ",".join(parts)
