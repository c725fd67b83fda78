"""Peer addresses of accepted connections, read from /proc (Linux)."""

from __future__ import annotations

import socket
from pathlib import Path

from emp.adapters.fix_quickfix.peers import loopback_only, peers_on


def accepted_from(host: str) -> tuple[socket.socket, socket.socket, socket.socket, int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection((host, port))
    accepted, _ = server.accept()
    return server, client, accepted, port


HEADER = (
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
    "timeout inode\n"
)
TAIL = " 00000000:00000000 00:00000000 00000000     0        0 "


def tcp_table(tmp_path: Path, *rows: str) -> Path:
    """A /proc/net/tcp as the kernel writes it (addresses as little-endian hex words)."""
    path = tmp_path / "tcp"
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows))
    return path


# 127.0.0.1:8080 accepted from 10.1.2.3:54321, established (01), inode 4242
REMOTE_ROW = "   0: 0100007F:1F90 0302010A:D431 01" + TAIL + "4242 1"
# the same port, from 127.0.0.1, inode 4343; and the port's LISTEN row (state 0A)
LOOPBACK_ROW = "   1: 0100007F:1F90 0100007F:D432 01" + TAIL + "4343 1"
LISTEN_ROW = "   2: 00000000:1F90 00000000:0000 0A" + TAIL + "4141 1"


class TestPeers:
    def test_a_loopback_connection_is_seen_and_admitted(self):
        sockets = accepted_from("127.0.0.1")
        try:
            assert peers_on(sockets[3]) == ["127.0.0.1"]
            assert loopback_only(sockets[3])() is None
        finally:
            for sock in sockets[:3]:
                sock.close()

    def test_a_connection_from_another_address_is_named_in_the_refusal(self, tmp_path):
        table = tcp_table(tmp_path, LISTEN_ROW, LOOPBACK_ROW, REMOTE_ROW)

        def peers(port: int) -> list[str] | None:
            return peers_on(port, tcp_tables=[table], own_inodes=lambda: {"4141", "4242", "4343"})

        assert peers(8080) == ["127.0.0.1", "10.1.2.3"]
        reason = loopback_only(8080, peers)()
        assert reason is not None and "10.1.2.3" in reason and "127.0.0.1" not in reason

    def test_sockets_of_other_processes_and_other_ports_are_not_peers(self, tmp_path):
        table = tcp_table(tmp_path, REMOTE_ROW, LOOPBACK_ROW)
        assert peers_on(8080, tcp_tables=[table], own_inodes=lambda: {"4343"}) == ["127.0.0.1"]
        assert peers_on(8081, tcp_tables=[table], own_inodes=lambda: {"4242"}) == []

    def test_without_proc_nothing_is_known_and_nothing_refused(self):
        def unreadable() -> set[str]:
            raise OSError("no /proc here")

        assert peers_on(8080, own_inodes=unreadable) is None
        assert loopback_only(8080, lambda port: None)() is None

    def test_no_connection_means_no_peer(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            sock.listen()
            assert peers_on(sock.getsockname()[1]) == []
