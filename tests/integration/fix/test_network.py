"""Where the served venue can be reached from: loopback only, unless told otherwise.

Tests talk to 127.0.0.1 only, so the non-loopback peer is what the venue's connection
table reports (``peers.peers_on``, replaced here); the sessions are real quickfix ones.
"""

from __future__ import annotations

import pytest

from emp.adapters.fix_quickfix import VenueLogonRefused, peers
from tests.integration.fix.conftest import message_lines
from tests.integration.fix.test_recovery import wait_until

REMOTE = "198.51.100.7"  # TEST-NET-2


@pytest.fixture
def remote_peer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every connection to the venue looks as if it came from REMOTE."""
    monkeypatch.setattr(peers, "peers_on", lambda port: [REMOTE])


class TestLoopbackOnly:
    def test_a_client_on_a_non_loopback_address_is_refused_at_logon(self, lab, remote_peer):
        server = lab.server()
        client = lab.client(server.config.port, wait=False)
        with pytest.raises(VenueLogonRefused, match="loopback clients only"):
            client.wait_logged_on(10)
        assert not server.is_logged_on()
        events = server.log.events_path.read_text()
        assert f"connections from {REMOTE} are refused" in events
        assert not any("|35=D|" in line for line in message_lines(server))

    def test_the_same_client_logs_on_when_remote_sessions_are_allowed(self, lab, remote_peer):
        server = lab.server(loopback_only=False)
        client = lab.client(server.config.port)
        assert client.is_logged_on
        wait_until(server.is_logged_on)  # the venue's onLogon may come a moment later

    def test_a_loopback_client_logs_on_by_default(self, lab):
        server = lab.server()
        client = lab.client(server.config.port)
        assert client.is_logged_on
