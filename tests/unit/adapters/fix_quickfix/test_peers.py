"""Peer addresses of accepted connections, read from /proc (Linux)."""

from __future__ import annotations

import socket

from emp.adapters.fix_quickfix.peers import loopback_only, peers_on


def accepted_from(host: str) -> tuple[socket.socket, socket.socket, socket.socket, int]:
    server = socket.socket()
    server.bind(("0.0.0.0", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection((host, port))
    accepted, _ = server.accept()
    return server, client, accepted, port


def outgoing_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("192.0.2.1", 9))
        return sock.getsockname()[0]


class TestPeers:
    def test_a_loopback_connection_is_seen_and_admitted(self):
        sockets = accepted_from("127.0.0.1")
        try:
            assert peers_on(sockets[3]) == ["127.0.0.1"]
            assert loopback_only(sockets[3])() is None
        finally:
            for sock in sockets[:3]:
                sock.close()

    def test_a_connection_from_another_address_is_named_in_the_refusal(self):
        address = outgoing_address()
        assert not address.startswith("127."), "needs a non-loopback IPv4 address"
        sockets = accepted_from(address)
        try:
            assert peers_on(sockets[3]) == [address]
            reason = loopback_only(sockets[3])()
            assert reason is not None and address in reason
        finally:
            for sock in sockets[:3]:
                sock.close()

    def test_no_connection_means_no_peer(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            sock.listen()
            assert peers_on(sock.getsockname()[1]) == []
