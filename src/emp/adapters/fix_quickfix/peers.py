"""Who is connected to the acceptor: peer addresses read from Linux's ``/proc``.

quickfix 1.15's acceptor has no accept-address setting (``SocketAcceptPort`` only: it
listens on every interface) and does not tell the application a session's peer address.
On Linux the process's own sockets are visible in ``/proc/self/fd`` and their endpoints
in ``/proc/net/tcp`` / ``tcp6``, so the served venue checks at every Logon that each
connection accepted on its port comes from a loopback address, and refuses the Logon if
one does not (:func:`loopback_only`). Where ``/proc`` is unavailable nothing can be
checked and nothing is refused.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Sequence
from pathlib import Path

_ESTABLISHED = "01"


def _own_socket_inodes() -> set[str]:
    inodes: set[str] = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    return inodes


def _address(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address as /proc/net/tcp* writes it (32-bit words in host byte order)."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    if len(words) == 4:
        return ipaddress.IPv4Address(words)
    address = ipaddress.IPv6Address(words)
    return address.ipv4_mapped or address


#: The kernel's TCP tables (IPv4, IPv6): one row per socket, with its inode.
TCP_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")


def peers_on(
    port: int,
    *,
    tcp_tables: Sequence[str | Path] = TCP_TABLES,
    own_inodes: Callable[[], set[str]] = _own_socket_inodes,
) -> list[str] | None:
    """Remote addresses of this process's established connections whose local port is
    ``port`` (the connections an acceptor on ``port`` accepted); ``None`` without /proc.
    ``tcp_tables`` and ``own_inodes`` are where the tables and this process's sockets are
    read from (tests give recorded tables)."""
    try:
        inodes = own_inodes()
    except OSError:
        return None
    peers: list[str] = []
    for table in tcp_tables:
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local, remote, state, inode = parts[1], parts[2], parts[3], parts[9]
            if state != _ESTABLISHED or inode not in inodes:
                continue
            if int(local.rsplit(":", 1)[1], 16) == port:
                peers.append(str(_address(remote.rsplit(":", 1)[0])))
    return peers


def loopback_only(
    port: int, peers: Callable[[int], list[str] | None] | None = None
) -> Callable[[], str | None]:
    """A Logon check for an acceptor on ``port``: the reason to refuse, if any connection
    on the port comes from a non-loopback address (``peers``: :func:`peers_on`)."""

    def check() -> str | None:
        found = (peers or peers_on)(port)  # looked up per call: the module's, unless given
        remote = sorted({p for p in found or () if not ipaddress.ip_address(p).is_loopback})
        if remote:
            return (
                f"connections from {', '.join(remote)} are refused: "
                "this venue serves loopback clients only"
            )
        return None

    return check
