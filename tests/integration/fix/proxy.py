"""A loopback TCP proxy that can drop one FIX message or cut every connection.

It sits between EMP's initiator and the served venue so tests can make real network
faults: a message lost on the wire (a sequence gap the receiver must resend-request) and
a dropped connection (a reconnect), without touching either engine.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Callable

_HEAD = re.compile(rb"8=FIX\.4\.4\x019=(\d+)\x01")


def split_messages(buffer: bytearray) -> list[bytes]:
    """Complete FIX messages at the front of ``buffer`` (removed from it)."""
    out: list[bytes] = []
    while True:
        match = _HEAD.match(buffer)
        if match is None:
            return out
        end = match.end() + int(match.group(1)) + len(b"10=000\x01")
        if len(buffer) < end:
            return out
        out.append(bytes(buffer[:end]))
        del buffer[:end]


class FlakyProxy:
    """Forwards 127.0.0.1:<port> to the venue's port; see the module docstring."""

    def __init__(self, target_port: int, *, passthrough: bool = False) -> None:
        self._target = target_port
        #: Forward bytes untouched both ways (TLS: no FIX framing to see) and record them.
        self._passthrough = passthrough
        self.recorded = bytearray()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._drop: Callable[[bytes], bool] | None = None
        self.dropped: list[bytes] = []
        self._refusing = False
        self._closed = False
        self._threads: list[threading.Thread] = []
        self._spawn(self._accept)

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="test-proxy")
        thread.start()
        self._threads.append(thread)

    def drop_next_to_client(self, predicate: Callable[[bytes], bool]) -> None:
        """Drop the next venue-to-client message for which ``predicate`` is true."""
        with self._lock:
            self._drop = predicate

    def sever(self, *, refuse: bool = False) -> None:
        """Cut every open connection; with ``refuse``, also refuse new ones until allow()."""
        with self._lock:
            self._refusing = refuse
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def allow(self) -> None:
        with self._lock:
            self._refusing = False

    def close(self) -> None:
        self._closed = True
        self.sever()
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=2)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refusing = self._refusing
            if refusing:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self._target))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            self._spawn(self._pump, client, upstream, False)
            self._spawn(self._pump, upstream, client, True)

    def _pump(self, source: socket.socket, sink: socket.socket, to_client: bool) -> None:
        buffer = bytearray()
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if not to_client or self._passthrough:
                    if self._passthrough:
                        with self._lock:
                            self.recorded += data
                    sink.sendall(data)
                    continue
                buffer += data
                for message in split_messages(buffer):
                    with self._lock:
                        drop = self._drop is not None and self._drop(message)
                        if drop:
                            self._drop = None
                    if drop:
                        self.dropped.append(message)
                        continue
                    sink.sendall(message)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
