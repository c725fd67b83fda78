"""Where the served venue can be reached from: loopback only, unless told otherwise."""

from __future__ import annotations

import pytest

from emp.adapters.fix_quickfix import VenueLogonRefused
from tests.integration.fix.conftest import message_lines, non_loopback_address
from tests.integration.fix.test_recovery import wait_until


class TestLoopbackOnly:
    def test_a_client_on_a_non_loopback_address_is_refused_at_logon(self, lab):
        server = lab.server()
        address = non_loopback_address()
        client = lab.client(server.config.port, host=address, wait=False)
        with pytest.raises(VenueLogonRefused, match="loopback clients only"):
            client.wait_logged_on(10)
        assert not server.is_logged_on()
        events = server.log.events_path.read_text()
        assert f"connections from {address} are refused" in events
        assert not any("|35=D|" in line for line in message_lines(server))

    def test_the_same_client_logs_on_when_remote_sessions_are_allowed(self, lab):
        server = lab.server(loopback_only=False)
        client = lab.client(server.config.port, host=non_loopback_address())
        assert client.is_logged_on
        wait_until(server.is_logged_on)  # the venue's onLogon may come a moment later

    def test_a_loopback_client_logs_on_by_default(self, lab):
        server = lab.server()
        client = lab.client(server.config.port)
        assert client.is_logged_on
