"""Hot-path pieces of the quickfix adapter: the sent text handed from toApp to the
sender, the callback thread's kept Python state, and the mass cancel bodies."""

from __future__ import annotations

import dataclasses
import threading

import quickfix as fix
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.adapters.clocks import SystemClock
from emp.adapters.fix_codec import encode
from emp.adapters.fix_quickfix import bridge
from emp.adapters.fix_quickfix.message_log import RedactingMessageLog
from emp.adapters.fix_quickfix.wire import (
    build_message,
    mass_cancel_report,
    mass_cancel_request,
    new_order_single_text,
)
from emp.domain.commands import SubmitOrder
from emp.domain.orders import OrderSide, OrderType, TimeInForce

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


def _engine_reports(lot_size: float, tick_size: float, sizes: list[int]) -> list:
    """Acceptances, partial and full fills, cancels, expiries, rejects and replaces."""
    from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder
    from emp.domain.instruments import Instrument, InstrumentRegistry
    from emp.domain.matching import MatchingConfig, MatchingEngine, ladder
    from emp.domain.orders import OrderSide, OrderType

    instrument = Instrument(symbol="ABC", lot_size=lot_size, tick_size=tick_size)
    engine = MatchingEngine(InstrumentRegistry([instrument]), MatchingConfig(commission_bps=1.5))
    engine.apply(ladder(instrument, ts_ns=0, best_bid=100.0, levels=3, size=5 * lot_size))
    reports = []
    for n, lots in enumerate(sizes):
        side = OrderSide.BUY if n % 2 else OrderSide.SELL
        market = SubmitOrder(
            client_order_id=f"m{n}", symbol="ABC", side=side, quantity=lots * lot_size, ts_ns=n
        )
        reports += engine.submit(market, now_ns=1_700_000_000_123_456_789 + n, owner="EMP")
        resting = SubmitOrder(
            client_order_id=f"r{n}",
            symbol="ABC",
            side=OrderSide.BUY,
            quantity=lots * lot_size,
            order_type=OrderType.LIMIT,
            limit_price=50.0 + n * tick_size,
            ts_ns=n,
        )
        reports += engine.submit(resting, now_ns=n, owner="EMP")
        reports += engine.submit(resting, now_ns=n, owner="EMP")  # a duplicate: rejected
        replace = ReplaceOrder(
            client_order_id=f"r{n}b",
            orig_client_order_id=f"r{n}",
            symbol="ABC",
            side=OrderSide.BUY,
            quantity=lots * lot_size,
            limit_price=51.0,
            ts_ns=n,
        )
        reports += engine.replace(replace, now_ns=n, owner="EMP")
        cancel = CancelOrder(
            client_order_id=f"x{n}",
            orig_client_order_id=f"r{n}b" if n % 3 else "nope",
            symbol="ABC",
            side=OrderSide.BUY,
            ts_ns=n,
        )
        reports += engine.cancel(cancel, now_ns=n, owner="EMP")
    reports += engine.close_market(99)
    return reports


class TestExecutionReportText:
    @settings(max_examples=30, deadline=None)
    @given(
        lot_size=st.sampled_from([1.0, 0.1, 0.001, 100.0]),
        tick_size=st.sampled_from([0.01, 0.5, 0.0001]),
        sizes=st.lists(st.integers(1, 12), min_size=1, max_size=6),
    )
    def test_the_fast_text_is_what_the_codec_writes(self, lot_size, tick_size, sizes):
        from emp.adapters.fix_codec import encode
        from emp.adapters.fix_quickfix.wire import execution_report_text, report_state

        fast = 0
        for report in _engine_reports(lot_size, tick_size, sizes):
            text = execution_report_text(report)
            if text is None:
                continue
            fast += 1
            body = encode.execution_report(report.event, report_state(report.state), report.exec_id)
            assert text == "".join(f"{tag}={value}\x01" for tag, value in body)
        assert fast >= 2 * len(sizes), "acceptances and fills take the fast path"

    def test_a_value_holding_soh_takes_the_checked_path(self):
        import dataclasses

        from emp.adapters.fix_quickfix.wire import execution_report_text

        report = next(r for r in _engine_reports(1.0, 0.01, [1]) if r.state.order_id)
        bad = dataclasses.replace(
            report, event=dataclasses.replace(report.event, client_order_id="a\x01b")
        )
        assert execution_report_text(report) is not None
        assert execution_report_text(bad) is None


class TestNewOrderSingleText:
    @settings(max_examples=60, deadline=None)
    @given(
        quantity=st.one_of(st.integers(1, 10**6), st.floats(0.001, 1e6)),
        price=st.one_of(st.none(), st.floats(0.0001, 1e5)),
        strategy=st.sampled_from(["", "alpha"]),
        order_type=st.sampled_from(list(OrderType)),
        tif=st.sampled_from(list(TimeInForce)),
        side=st.sampled_from(list(OrderSide)),
        ts_ns=st.integers(0, 4_000_000_000_000_000_000),
    )
    def test_the_fast_text_is_what_the_codec_writes(
        self, quantity, price, strategy, order_type, tif, side, ts_ns
    ):
        command = SubmitOrder(
            client_order_id="c-1",
            symbol="ABC",
            side=side,
            quantity=quantity,
            order_type=order_type,
            limit_price=price,
            time_in_force=tif,
            strategy=strategy,
            ts_ns=ts_ns,
        )
        body = encode.new_order_single(command)
        assert new_order_single_text(command) == "".join(f"{t}={v}\x01" for t, v in body)

    def test_a_value_the_codec_must_check_takes_the_checked_path(self):
        good = SubmitOrder(client_order_id="c", symbol="ABC", side=OrderSide.BUY, quantity=1)
        assert new_order_single_text(good) is not None
        for bad in ({"client_order_id": "a\x01b"}, {"symbol": ""}, {"strategy": "x\x01"}):
            assert new_order_single_text(dataclasses.replace(good, **bad)) is None


class TestCommonExecutionReportDecode:
    @settings(max_examples=20, deadline=None)
    @given(sizes=st.lists(st.integers(1, 12), min_size=1, max_size=5))
    def test_the_fast_decode_gives_the_checked_decodes_event(self, sizes):
        from emp.adapters.fix_codec.decode import (
            _checked_execution_report,
            _common_execution_report,
        )
        from emp.adapters.fix_codec.engine_fields import fields_from_engine
        from emp.adapters.fix_quickfix.wire import report_message

        fast = 0
        for report in _engine_reports(0.1, 0.01, sizes):
            msg_type, body = report_message(report)
            if msg_type != "8":
                continue
            fields = fields_from_engine(build_message(msg_type, body).toString())
            event = _common_execution_report(fields.values)
            if event is not None:
                fast += 1
                assert event == _checked_execution_report(fields)
        assert fast >= 2 * len(sizes)

    def test_a_report_the_checks_refuse_is_left_to_the_checked_decode(self):
        from emp.adapters.fix_codec.decode import _common_execution_report
        from emp.adapters.fix_codec.engine_fields import fields_from_engine
        from emp.adapters.fix_quickfix.wire import report_message

        report = next(
            r
            for r in _engine_reports(1.0, 0.01, [2])
            if r.event.__class__.__name__ == "OrderFilled"
        )
        raw = build_message(*report_message(report)).toString()
        assert _common_execution_report(fields_from_engine(raw).values) is not None
        for good, bad in (
            ("\x0131=", "\x0131=-"),
            ("\x01151=", "\x01151=x"),
            ("\x0154=", "\x0154=9"),
        ):
            broken = raw.replace(good, bad, 1)
            assert broken != raw
            assert _common_execution_report(fields_from_engine(broken).values) is None
        without_symbol = raw.replace("\x0155=ABC", "", 1)
        assert _common_execution_report(fields_from_engine(without_symbol).values) is None


class TestReusedMessage:
    def test_it_holds_what_a_new_message_would_and_is_reused_by_its_thread(self):
        from emp.adapters.fix_quickfix.wire import build_reused_message

        first = build_reused_message("8", [(11, "a"), (39, "0")])
        assert first.toString() == build_message("8", [(11, "a"), (39, "0")]).toString()
        second = build_reused_message("D", "11=b\x0155=ABC\x01")
        assert second is first, "one Message per thread, parsed again in place"
        assert second.toString() == build_message("D", "11=b\x0155=ABC\x01").toString()
        assert "11=a" not in second.toString()
        other: list[fix.Message] = []
        thread = threading.Thread(target=lambda: other.append(build_reused_message("8", "")))
        thread.start()
        thread.join()
        assert other[0] is not first

    def test_a_duplicates_header_names_the_originals_sending_time(self):
        from emp.adapters.fix_quickfix.wire import possible_duplicate_header

        sent = "8=FIX.4.4\x019=50\x0135=8\x0134=7\x0152=20261121-13:40:00.123\x0111=a\x0110=1\x01"
        assert possible_duplicate_header(sent, resend=False) == [
            (43, "Y"),
            (122, "20261121-13:40:00.123"),
        ]
        assert possible_duplicate_header(sent, resend=True)[0] == (97, "Y")


class TestCommonNewOrderSingleDecode:
    @settings(max_examples=40, deadline=None)
    @given(
        quantity=st.integers(1, 10**6),
        price=st.one_of(st.none(), st.floats(0.0001, 1e5)),
        strategy=st.sampled_from(["", "alpha"]),
        tif=st.sampled_from(list(TimeInForce)),
        order_type=st.sampled_from(list(OrderType)),
    )
    def test_the_fast_decode_gives_the_checked_decodes_command(
        self, quantity, price, strategy, tif, order_type
    ):
        from emp.adapters.fix_codec.decode import (
            _checked_new_order_single,
            _common_new_order_single,
        )
        from emp.adapters.fix_codec.engine_fields import fields_from_engine

        command = SubmitOrder(
            client_order_id="c-1",
            symbol="ABC",
            side=OrderSide.SELL,
            quantity=quantity,
            order_type=order_type,
            limit_price=price,
            time_in_force=tif,
            strategy=strategy,
            ts_ns=1_700_000_000_123_000_000,
        )
        raw = build_message("D", encode.new_order_single(command)).toString()
        fields = fields_from_engine(raw)
        assert _common_new_order_single(fields.values) == _checked_new_order_single(fields)

    def test_an_order_the_checks_refuse_is_left_to_the_checked_decode(self):
        from emp.adapters.fix_codec.decode import _common_new_order_single
        from emp.adapters.fix_codec.engine_fields import fields_from_engine

        command = SubmitOrder(client_order_id="c", symbol="ABC", side=OrderSide.BUY, quantity=1)
        raw = build_message("D", encode.new_order_single(command)).toString()
        assert _common_new_order_single(fields_from_engine(raw).values) is not None
        for good, bad in (("\x0138=1", "\x0138=x"), ("\x0159=0", "\x0159=Z"), ("\x0154=1", "")):
            broken = raw.replace(good, bad, 1)
            assert broken != raw
            assert _common_new_order_single(fields_from_engine(broken).values) is None
