"""Hot-path pieces of the quickfix adapter: the sent text handed from toApp to the
sender, the callback thread's kept Python state, and the mass cancel bodies."""

from __future__ import annotations

import threading

import quickfix as fix

from emp.adapters.clocks import SystemClock
from emp.adapters.fix_quickfix import bridge
from emp.adapters.fix_quickfix.message_log import RedactingMessageLog
from emp.adapters.fix_quickfix.wire import (
    build_message,
    mass_cancel_report,
    mass_cancel_request,
)

SESSION = fix.SessionID("FIX.4.4", "EMPSIM", "EMP")


def _bridge(tmp_path) -> bridge.AcceptorBridge:
    log = RedactingMessageLog(tmp_path, SystemClock(), name="t")
    log.open()
    return bridge.AcceptorBridge(log, SystemClock(), None)


def _report(cid: str) -> fix.Message:
    header = [(49, "EMPSIM"), (56, "EMP"), (34, "7")]
    return build_message("8", [(11, cid), (39, "0")], header)


class TestSentText:
    def test_to_app_hands_its_text_to_the_sender_once(self, tmp_path):
        acceptor = _bridge(tmp_path)
        bridge.take_sent_text()
        message = _report("c1")
        acceptor.toApp(message, SESSION)
        assert bridge.take_sent_text() == message.toString()
        assert bridge.take_sent_text() is None, "taken once"

    def test_each_thread_sees_only_what_it_sent(self, tmp_path):
        acceptor = _bridge(tmp_path)
        bridge.take_sent_text()
        acceptor.toApp(_report("mine"), SESSION)
        seen: list[str | None] = []
        other = threading.Thread(target=lambda: seen.append(bridge.take_sent_text()))
        other.start()
        other.join()
        assert seen == [None]
        assert "\x0111=mine\x01" in (bridge.take_sent_text() or "")

    def test_a_callback_thread_keeps_its_state_after_the_first_callback(self, tmp_path):
        acceptor = _bridge(tmp_path)
        kept: list[bool] = []

        def callbacks() -> None:
            kept.append(bridge._per_thread.kept)
            acceptor.onCreate(SESSION)
            kept.append(bridge._per_thread.kept)

        thread = threading.Thread(target=callbacks)
        thread.start()
        thread.join()
        assert kept == [False, True]


class TestMassCancelBodies:
    def test_a_request_cancels_all_orders(self):
        body = dict(mass_cancel_request("K1-Q", 1_700_000_000_000_000_000))
        assert body[11] == "K1-Q" and body[530] == "7" and body[60].startswith("20231114-")

    def test_an_accepted_report_echoes_the_type_and_counts_the_orders(self):
        body = dict(mass_cancel_report("K1-Q", "MC1", "7", affected=3, ts_ns=1))
        assert (body[531], body[533]) == ("7", "3") and 532 not in body

    def test_a_rejected_report_says_why(self):
        body = dict(mass_cancel_report("q", "MC2", "3", affected=0, ts_ns=1, reject_reason="0"))
        assert (body[530], body[531], body[532]) == ("3", "0", "0")
