"""Real quickfix sessions over loopback: logon, logout, credentials, validation, stores."""

from __future__ import annotations

import time

import pytest
import quickfix as fix

from emp.adapters.fix_quickfix import VenueLogonRefused
from emp.domain.commands import SubmitOrder
from emp.domain.events import OrderAccepted
from emp.domain.orders import OrderSide, OrderType
from emp.ports.venue import VenueDisconnected
from tests.integration.fix.conftest import PASSWORD, SYMBOL, collect, message_lines, of_kind


def _order(cid: str) -> SubmitOrder:
    return SubmitOrder(
        client_order_id=cid,
        symbol=SYMBOL,
        side=OrderSide.BUY,
        quantity=1.0,
        order_type=_LIMIT,
        limit_price=90.0,
    )


_LIMIT = OrderType.LIMIT


class TestLogon:
    def test_the_initiator_logs_on_and_logs_out_cleanly(self, lab):
        server = lab.server()
        client = lab.client(server.config.port)
        assert client.is_logged_on
        deadline = time.monotonic() + 5
        while not server.is_logged_on() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.is_logged_on()
        client.stop()
        assert not client.is_logged_on
        events = client.log.events_path.read_text()
        assert "logged on" in events and "logged out" in events

    def test_a_wrong_password_is_refused_with_a_logout_that_says_why(self, lab):
        server = lab.server()
        client = lab.client(server.config.port, password="wrong", wait=False)
        with pytest.raises(VenueLogonRefused, match="invalid username or password"):
            client.wait_logged_on(5)
        assert not client.is_logged_on
        venue_events = server.log.events_path.read_text()
        assert "logon refused: invalid username or password" in venue_events

    def test_a_refused_logon_is_not_retried(self, lab):
        server = lab.server()
        client = lab.client(server.config.port, password="wrong", wait=False)
        with pytest.raises(VenueLogonRefused):
            client.wait_logged_on(5)
        time.sleep(2.5)  # quickfix would reconnect every second if allowed
        logons = sum("|35=A|" in line for line in message_lines(client))
        assert logons == 1

    def test_an_order_on_a_session_that_is_not_logged_on_is_refused_not_queued(self, lab):
        server = lab.server()
        client = lab.client(server.config.port, password="wrong", wait=False)
        with pytest.raises(VenueDisconnected, match="not logged on"):
            client.submit_order(_order("x1"))


class TestCredentials:
    def test_the_password_appears_in_no_log_store_or_journal_file(self, lab):
        server = lab.server(journal=True)
        client = lab.client(server.config.port, journal=True)
        client.submit_order(_order("c1"))
        collect(client, lambda events: bool(of_kind(events, OrderAccepted)))
        client.stop()
        server.stop()
        files = [p for p in lab.root.rglob("*") if p.is_file()]
        assert any(p.name.endswith("messages.log") for p in files)
        assert any(p.suffix == ".body" for p in files)
        for path in files:
            assert PASSWORD.encode() not in path.read_bytes(), f"password found in {path}"
        logon_lines = [
            line for line in message_lines(client) if "|35=A|" in line and " OUT " in line
        ]
        assert logon_lines and all("554=***" in line for line in logon_lines)

    def test_credentials_print_masked(self):
        from emp.adapters.fix_quickfix import FixCredentials, Secret

        credentials = FixCredentials(username="emp", password=Secret(PASSWORD))
        assert PASSWORD not in repr(credentials)
        assert PASSWORD not in f"{credentials.password}"
        assert credentials.password.reveal() == PASSWORD


class TestSessionLayer:
    def test_sequence_numbers_survive_a_restart_of_both_sides(self, lab):
        port = lab.server(name="v1").config.port
        client = lab.client(port, name="c1")
        client.submit_order(_order("s1"))
        collect(client, lambda events: bool(of_kind(events, OrderAccepted)))
        lab.stop_all()
        server = lab.server(port=port, name="v1")
        client = lab.client(port, name="c1")
        assert server.is_logged_on() or client.is_logged_on
        session = fix.Session.lookupSession(fix.SessionID("FIX.4.4", "EMP", "EMPSIM"))
        assert session.getExpectedSenderNum() > 4  # logon, order, logout, logon at least

    def test_a_message_the_dictionary_refuses_gets_a_session_reject(self, lab):
        lab.session_rejects_expected = True
        server = lab.server()
        client = lab.client(server.config.port)
        message = fix.Message()
        message.getHeader().setField(fix.MsgType("D"))
        message.setField(fix.StringField(11, "bad1"))  # no Symbol, Side, OrderQty...
        fix.Session.sendToTarget(message, fix.SessionID("FIX.4.4", "EMP", "EMPSIM"))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            text = "\n".join(message_lines(client))
            if "|35=3|" in text:
                break
            time.sleep(0.05)
        rejects = [line for line in text.splitlines() if "|35=3|" in line and " IN " in line]
        assert rejects, "expected a session-level Reject (35=3) from the venue"
        assert "|373=" in rejects[0]
        client.drain_events()
        assert client.session_rejects and "|35=3|" in client.session_rejects[0]
