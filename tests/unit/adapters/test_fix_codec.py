"""The FIX 4.4 codec: exact round trips of every command and event, and strict decoding."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emp.adapters.fix_codec import (
    FixCodec,
    FixDecodeError,
    FixEncodeError,
    OrderReportState,
    SessionReject,
)
from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder
from emp.domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
)
from emp.domain.fills import Fill
from emp.domain.orders import OrderSide, OrderStatus, OrderType, TimeInForce
from emp.ports.venue import VenueProtocolError

SOH = "\x01"
T0 = 1_700_000_000_123_000_000  # 2023-11-14 22:13:20.123 UTC, millisecond-aligned


# ------------------------------------------------------------------------------ helpers
def client() -> FixCodec:
    return FixCodec("EMP", "EMPSIM")


def venue() -> FixCodec:
    return FixCodec("EMPSIM", "EMP")


def fields(raw: bytes) -> list[tuple[int, str]]:
    """Every tag=value pair of a raw message, in wire order (parsed independently)."""
    text = raw.decode()
    assert text.endswith(SOH)
    pairs = []
    for field in text[:-1].split(SOH):
        tag, _, value = field.partition("=")
        pairs.append((int(tag), value))
    return pairs


def field_map(raw: bytes) -> dict[int, str]:
    return dict(fields(raw))


def wrong_checksum(raw: bytes) -> bytes:
    """``raw`` with a CheckSum that does not match its bytes."""
    other = b"000" if raw[-4:-1] != b"000" else b"001"
    return raw[:-4] + other + b"\x01"


def frame(body: list[tuple[int, str]], begin_string: str = "FIX.4.4") -> bytes:
    """A correctly framed message (BodyLength, CheckSum) around ``body`` (35 first)."""
    payload = "".join(f"{tag}={value}{SOH}" for tag, value in body).encode()
    head = f"8={begin_string}{SOH}9={len(payload)}{SOH}".encode()
    checksum = sum(head + payload) % 256
    return head + payload + f"10={checksum:03d}{SOH}".encode()


def reframe(raw: bytes, change: dict[int, str | None]) -> bytes:
    """``raw`` with fields replaced (or removed, for None), framing recomputed."""
    body = [(t, v) for t, v in fields(raw) if t not in (8, 9, 10)]
    out = []
    for tag, value in body:
        if tag in change:
            if change[tag] is not None:
                out.append((tag, change[tag]))
        else:
            out.append((tag, value))
    return frame(out)


def a_submit(**overrides: object) -> SubmitOrder:
    terms: dict = {
        "client_order_id": "C-1",
        "symbol": "AAPL",
        "side": OrderSide.BUY,
        "quantity": 100.0,
        "order_type": OrderType.LIMIT,
        "limit_price": 101.15,
        "time_in_force": TimeInForce.GTC,
        "strategy": "sma-cross",
        "ts_ns": T0,
    }
    terms.update(overrides)
    return SubmitOrder(**terms)


def a_state(**overrides: object) -> OrderReportState:
    terms: dict = {
        "symbol": "AAPL",
        "side": OrderSide.BUY,
        "order_quantity": 100.0,
        "order_id": "SIM-1",
        "cum_quantity": 40.0,
        "leaves_quantity": 60.0,
        "average_price": 101.1,
    }
    terms.update(overrides)
    return OrderReportState(**terms)


def a_fill(**overrides: object) -> Fill:
    terms: dict = {
        "exec_id": "SIM-E1",
        "client_order_id": "C-1",
        "symbol": "AAPL",
        "side": OrderSide.BUY,
        "quantity": 40.0,
        "price": 101.1,
        "fee": 0.35,
        "ts_ns": T0,
    }
    terms.update(overrides)
    return Fill(**terms)


def report(event: object, state: OrderReportState | None = None) -> bytes:
    codec = venue()
    if isinstance(event, OrderCancelRejected):
        return codec.encode_order_cancel_reject(
            event, state or a_state(), replace=False, sending_ns=T0
        )
    return codec.encode_execution_report(event, state or a_state(), sending_ns=T0)


# -------------------------------------------------------------------------- strategies
ms_times = st.integers(min_value=0, max_value=4_000_000_000_000).map(lambda ms: ms * 1_000_000)
ids = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/", min_size=1, max_size=20)
sides = st.sampled_from(list(OrderSide))
tifs = st.sampled_from(list(TimeInForce))
grid_prices = st.integers(min_value=1, max_value=10_000_000).map(lambda ticks: ticks / 100)
any_positive = st.floats(min_value=1e-9, max_value=1e12, allow_nan=False, allow_infinity=False)
prices = st.one_of(grid_prices, any_positive)
quantities = st.one_of(st.integers(min_value=1, max_value=10**9).map(float), any_positive)
texts = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=0, max_size=40
)


# ----------------------------------------------------------------------------- tests
class TestCommandsRoundTrip:
    @given(
        cl_id=ids,
        side=sides,
        tif=tifs,
        quantity=quantities,
        price=st.one_of(st.none(), prices),
        strategy=texts,
        ts=ms_times,
    )
    def test_new_order_single_decodes_to_the_same_submit_order(
        self, cl_id, side, tif, quantity, price, strategy, ts
    ) -> None:
        command = SubmitOrder(
            client_order_id=cl_id,
            symbol="AAPL",
            side=side,
            quantity=quantity,
            order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
            limit_price=price,
            time_in_force=tif,
            strategy=strategy,
            ts_ns=ts,
        )
        assert venue().decode_command(client().encode_command(command, sending_ns=ts)) == command

    def test_a_market_order_with_a_price_keeps_the_price_for_the_venue_to_judge(self) -> None:
        command = a_submit(order_type=OrderType.MARKET, limit_price=10.0)
        assert venue().decode_command(client().encode_command(command, sending_ns=T0)) == command

    @given(cl_id=ids, orig=ids, side=sides, ts=ms_times)
    def test_order_cancel_request_decodes_to_the_same_cancel_order(
        self, cl_id, orig, side, ts
    ) -> None:
        command = CancelOrder(
            client_order_id=cl_id, orig_client_order_id=orig, symbol="MSFT", side=side, ts_ns=ts
        )
        assert venue().decode_command(client().encode_command(command, sending_ns=ts)) == command

    @given(side=sides, quantity=quantities, price=st.one_of(st.none(), prices), ts=ms_times)
    def test_cancel_replace_request_decodes_to_the_same_replace_order(
        self, side, quantity, price, ts
    ) -> None:
        command = ReplaceOrder(
            client_order_id="C-2",
            orig_client_order_id="C-1",
            symbol="AAPL",
            side=side,
            quantity=quantity,
            limit_price=price,
            ts_ns=ts,
        )
        assert venue().decode_command(client().encode_command(command, sending_ns=ts)) == command


class TestEventsRoundTrip:
    @given(venue_id=ids, ts=ms_times)
    def test_accepted(self, venue_id, ts) -> None:
        event = OrderAccepted(client_order_id="C-1", venue_order_id=venue_id, ts_ns=ts)
        raw = report(event, a_state(order_id=venue_id))
        assert client().decode_event(raw) == event

    @given(code=st.sampled_from([0, 1, 2, 3, 5, 6, 11, 13, 15, 99]), reason=texts, ts=ms_times)
    def test_rejected(self, code, reason, ts) -> None:
        event = OrderRejected(client_order_id="C-1", reason=reason, code=code, ts_ns=ts)
        assert client().decode_event(report(event)) == event

    @given(reason=texts, ts=ms_times)
    def test_a_reject_code_fix44_lacks_arrives_as_other_with_its_text(self, reason, ts) -> None:
        event = OrderRejected(client_order_id="C-1", reason=reason, code=18, ts_ns=ts)
        decoded = client().decode_event(report(event))
        assert decoded.code == 99
        assert decoded.reason == (reason or "rejected (reason code 18)")

    @given(
        side=sides,
        quantity=quantities,
        price=prices,
        fee=st.one_of(st.just(0.0), any_positive),
        leaves=st.sampled_from([0.0, 60.0]),
        ts=ms_times,
    )
    def test_filled_bit_for_bit(self, side, quantity, price, fee, leaves, ts) -> None:
        fill = a_fill(side=side, quantity=quantity, price=price, fee=fee, ts_ns=ts)
        decoded = client().decode_event(
            report(OrderFilled(fill=fill), a_state(leaves_quantity=leaves))
        )
        assert decoded == OrderFilled(fill=fill)
        assert isinstance(decoded, OrderFilled)
        assert decoded.fill.price.hex() == price.hex()
        assert decoded.fill.fee.hex() == fee.hex()

    @given(reason=texts, ts=ms_times)
    def test_canceled(self, reason, ts) -> None:
        event = OrderCanceled(client_order_id="C-1", ts_ns=ts, reason=reason)
        assert client().decode_event(report(event)) == event

    @given(quantity=quantities, price=st.one_of(st.none(), prices), ts=ms_times)
    def test_replaced(self, quantity, price, ts) -> None:
        event = OrderReplaced(
            orig_client_order_id="C-1",
            client_order_id="C-2",
            quantity=quantity,
            limit_price=price,
            ts_ns=ts,
        )
        assert client().decode_event(report(event)) == event

    @given(ts=ms_times)
    def test_expired(self, ts) -> None:
        event = OrderExpired(client_order_id="C-1", ts_ns=ts)
        assert client().decode_event(report(event)) == event

    @given(reason=texts, ts=ms_times)
    def test_cancel_rejected(self, reason, ts) -> None:
        event = OrderCancelRejected(
            client_order_id="C-9", orig_client_order_id="C-1", reason=reason, ts_ns=ts
        )
        assert client().decode_event(report(event)) == event

    def test_session_reject(self) -> None:
        reject = SessionReject(
            ref_seq_num=7, ref_tag_id=38, ref_msg_type="D", reason_code=6, text="bad qty"
        )
        raw = venue().encode_session_reject(reject, sending_ns=T0)
        assert client().decode_session_reject(raw) == reject


class TestWireFields:
    def test_new_order_single_carries_the_fix_44_tags(self) -> None:
        f = field_map(client().encode_command(a_submit(), sending_ns=T0))
        assert f[35] == "D"
        assert (f[11], f[55], f[54], f[38], f[40], f[44], f[59]) == (
            "C-1",
            "AAPL",
            "1",
            "100",
            "2",
            "101.15",
            "1",
        )
        assert f[60] == "20231114-22:13:20.123"
        assert f[1] == "sma-cross"  # the strategy travels as Account (1)

    def test_a_market_day_sell_has_no_price_and_the_fix_enum_values(self) -> None:
        command = a_submit(
            side=OrderSide.SELL,
            order_type=OrderType.MARKET,
            limit_price=None,
            time_in_force=TimeInForce.DAY,
            strategy="",
        )
        f = field_map(client().encode_command(command, sending_ns=T0))
        assert (f[54], f[40], f[59]) == ("2", "1", "0")
        assert 44 not in f
        assert 1 not in f

    @pytest.mark.parametrize(("tif", "wire"), [("IOC", "3"), ("FOK", "4"), ("GTC", "1")])
    def test_time_in_force_values(self, tif: str, wire: str) -> None:
        command = a_submit(time_in_force=TimeInForce[tif])
        assert field_map(client().encode_command(command, sending_ns=T0))[59] == wire

    def test_cancel_and_replace_requests_carry_orig_cl_ord_id(self) -> None:
        cancel = CancelOrder(
            client_order_id="C-2", orig_client_order_id="C-1", symbol="AAPL", side=OrderSide.BUY
        )
        replace = ReplaceOrder(
            client_order_id="C-3",
            orig_client_order_id="C-1",
            symbol="AAPL",
            side=OrderSide.BUY,
            quantity=50.0,
            limit_price=99.5,
        )
        f = field_map(client().encode_command(cancel, sending_ns=T0))
        assert (f[35], f[11], f[41], f[55], f[54]) == ("F", "C-2", "C-1", "AAPL", "1")
        assert 60 in f
        g = field_map(client().encode_command(replace, sending_ns=T0))
        assert (g[35], g[11], g[41], g[38], g[40], g[44]) == ("G", "C-3", "C-1", "50", "2", "99.5")

    @pytest.mark.parametrize(
        ("event", "exec_type", "ord_status"),
        [
            (OrderAccepted(client_order_id="C-1", venue_order_id="SIM-1", ts_ns=T0), "0", "0"),
            (OrderRejected(client_order_id="C-1", reason="x", code=13, ts_ns=T0), "8", "8"),
            (OrderCanceled(client_order_id="C-1", ts_ns=T0), "4", "4"),
            (OrderExpired(client_order_id="C-1", ts_ns=T0), "C", "C"),
            (
                OrderReplaced(
                    orig_client_order_id="C-1",
                    client_order_id="C-2",
                    quantity=5.0,
                    limit_price=None,
                    ts_ns=T0,
                ),
                "5",
                "1",  # FIX 4.4: the replaced order's current status (40 of 100 filled)
            ),
        ],
    )
    def test_execution_report_exec_type_and_ord_status(self, event, exec_type, ord_status) -> None:
        f = field_map(report(event))
        assert (f[35], f[150], f[39]) == ("8", exec_type, ord_status)
        for required in (37, 17, 55, 54, 151, 14, 6, 60):
            assert required in f

    def test_a_replace_of_a_partly_filled_order_reports_it_partially_filled(self) -> None:
        event = OrderReplaced(
            orig_client_order_id="C-1",
            client_order_id="C-2",
            quantity=5.0,
            limit_price=1.5,
            ts_ns=T0,
        )
        for status in (None, OrderStatus.REPLACED, OrderStatus.PARTIALLY_FILLED):
            state = a_state(cum_quantity=2.0, leaves_quantity=3.0, order_status=status)
            f = field_map(report(event, state))
            assert (f[150], f[39]) == ("5", "1")

    def test_no_report_ever_carries_fix42_ord_status_replaced(self) -> None:
        state = a_state(order_status=OrderStatus.REPLACED)
        f = field_map(report(OrderCanceled(client_order_id="C-1", ts_ns=T0), state))
        assert f[39] == "4"

    def test_a_legacy_ord_status_replaced_still_decodes(self) -> None:
        raw = report(OrderCanceled(client_order_id="C-1", ts_ns=T0))
        legacy = reframe(raw, {39: "5"})
        assert client().decode_event(legacy) == OrderCanceled(client_order_id="C-1", ts_ns=T0)

    def test_an_off_tick_reject_is_sent_as_fix44_other_with_text(self) -> None:
        event = OrderRejected(client_order_id="C-1", reason="price off tick", code=18, ts_ns=T0)
        f = field_map(report(event))
        assert (f[103], f[58]) == ("99", "price off tick")

    def test_rejection_carries_ord_rej_reason_and_text(self) -> None:
        event = OrderRejected(client_order_id="C-1", reason="unknown symbol", code=1, ts_ns=T0)
        f = field_map(report(event))
        assert (f[103], f[58]) == ("1", "unknown symbol")

    def test_replacement_carries_orig_cl_ord_id(self) -> None:
        event = OrderReplaced(
            orig_client_order_id="C-1",
            client_order_id="C-2",
            quantity=5.0,
            limit_price=12.5,
            ts_ns=T0,
        )
        f = field_map(report(event))
        assert (f[11], f[41], f[38], f[44]) == ("C-2", "C-1", "5", "12.5")

    @pytest.mark.parametrize(("leaves", "ord_status"), [(60.0, "1"), (0.0, "2")])
    def test_fill_report_is_partial_or_complete_by_leaves(self, leaves, ord_status) -> None:
        state = a_state(leaves_quantity=leaves, cum_quantity=100.0 - leaves)
        f = field_map(report(OrderFilled(fill=a_fill()), state))
        assert (f[150], f[39]) == ("F", ord_status)
        assert (f[17], f[31], f[32], f[12], f[13]) == ("SIM-E1", "101.1", "40", "0.35", "3")
        assert (f[14], f[151], f[6], f[37]) == (
            str(int(100 - leaves)),
            str(int(leaves)),
            "101.1",
            "SIM-1",
        )

    @pytest.mark.parametrize(("replace", "response_to"), [(False, "1"), (True, "2")])
    def test_cancel_reject_says_which_request_it_answers(self, replace, response_to) -> None:
        event = OrderCancelRejected(
            client_order_id="C-2", orig_client_order_id="C-1", reason="too late", ts_ns=T0
        )
        state = a_state(order_status=OrderStatus.FILLED)
        raw = venue().encode_order_cancel_reject(
            event, state, replace=replace, reason_code=0, sending_ns=T0
        )
        f = field_map(raw)
        assert (f[35], f[434], f[102], f[58], f[39]) == ("9", response_to, "0", "too late", "2")
        assert (f[11], f[41], f[37]) == ("C-2", "C-1", "SIM-1")

    def test_session_reject_fields(self) -> None:
        reject = SessionReject(
            ref_seq_num=3, ref_tag_id=55, ref_msg_type="D", reason_code=1, text="missing"
        )
        f = field_map(venue().encode_session_reject(reject, sending_ns=T0))
        assert (f[35], f[45], f[371], f[372], f[373], f[58]) == (
            "3",
            "3",
            "55",
            "D",
            "1",
            "missing",
        )

    @given(value=st.floats(allow_nan=False, allow_infinity=False))
    def test_floats_are_written_without_exponents_and_read_back_exactly(self, value) -> None:
        command = a_submit(quantity=value)
        text = field_map(client().encode_command(command, sending_ns=T0))[38]
        assert "e" not in text.lower()
        assert float(text).hex() == value.hex() or (value == 0 and float(text) == 0)


class TestHeader:
    def test_messages_are_numbered_from_one_by_each_codec(self) -> None:
        codec = client()
        seqs = [field_map(codec.encode_command(a_submit(), sending_ns=T0))[34] for _ in range(3)]
        assert seqs == ["1", "2", "3"]
        assert codec.next_seq_num == 4

    def test_header_names_version_both_comp_ids_and_the_given_sending_time(self) -> None:
        pairs = fields(client().encode_command(a_submit(), sending_ns=T0 + 456_789))
        assert [tag for tag, _ in pairs[:3]] == [8, 9, 35]
        assert pairs[-1][0] == 10
        f = dict(pairs)
        assert (f[8], f[49], f[56]) == ("FIX.4.4", "EMP", "EMPSIM")
        assert f[52] == "20231114-22:13:20.123"

    def test_body_length_and_checksum_are_correct(self) -> None:
        raw = client().encode_command(a_submit(), sending_ns=T0)
        assert frame([(t, v) for t, v in fields(raw) if t not in (8, 9, 10)]) == raw

    def test_sub_millisecond_nanoseconds_are_truncated(self) -> None:
        command = a_submit(ts_ns=T0 + 999_999)
        decoded = venue().decode_command(client().encode_command(command, sending_ns=0))
        assert isinstance(decoded, SubmitOrder)
        assert decoded.ts_ns == T0

    def test_times_before_the_epoch_round_trip(self) -> None:
        command = a_submit(ts_ns=-86_400_000_000_000 + 5_000_000)
        decoded = venue().decode_command(client().encode_command(command, sending_ns=0))
        assert decoded == command


class TestEncodingRefusals:
    @pytest.mark.parametrize(
        ("overrides", "tag"),
        [
            ({"quantity": math.nan}, 38),
            ({"quantity": math.inf}, 38),
            ({"limit_price": math.nan}, 44),
            ({"client_order_id": ""}, 11),
            ({"symbol": "AA\x01PL"}, 55),
        ],
    )
    def test_values_fix_cannot_carry_raise_fix_encode_error(self, overrides, tag) -> None:
        with pytest.raises(FixEncodeError) as info:
            client().encode_command(a_submit(**overrides), sending_ns=T0)
        assert info.value.tag == tag
        assert isinstance(info.value, VenueProtocolError)

    def test_a_cancel_reject_is_not_an_execution_report(self) -> None:
        event = OrderCancelRejected(
            client_order_id="C-2", orig_client_order_id="C-1", reason="x", ts_ns=T0
        )
        with pytest.raises(FixEncodeError):
            venue().encode_execution_report(event, a_state(), sending_ns=T0)


def a_valid_new_order() -> bytes:
    return client().encode_command(a_submit(), sending_ns=T0)


def a_valid_report() -> bytes:
    return report(OrderAccepted(client_order_id="C-1", venue_order_id="SIM-1", ts_ns=T0))


class TestMalformedCommands:
    @pytest.mark.parametrize(
        ("mutate", "tag", "words"),
        [
            (lambda raw: raw.replace(b"8=FIX.4.4", b"8=FIX.4.2"), 8, "FIX.4.4"),
            (lambda raw: raw.replace(b"\x019=", b"\x019=1", 1), 9, "BodyLength"),
            (wrong_checksum, 10, "CheckSum"),
            (lambda raw: raw[:-4] + b"x1\x01", 10, "three digits"),
            (lambda raw: reframe(raw, {55: None}), 55, "missing"),
            (lambda raw: reframe(raw, {11: None}), 11, "missing"),
            (lambda raw: reframe(raw, {60: None}), 60, "missing"),
            (lambda raw: reframe(raw, {38: "abc"}), 38, "decimal number"),
            (lambda raw: reframe(raw, {38: "1e5"}), 38, "decimal number"),
            (lambda raw: reframe(raw, {38: "nan"}), 38, "decimal number"),
            (lambda raw: reframe(raw, {44: "12,5"}), 44, "decimal number"),
            (lambda raw: reframe(raw, {54: "7"}), 54, "'7'"),
            (lambda raw: reframe(raw, {40: "P"}), 40, "'P'"),
            (lambda raw: reframe(raw, {59: "6"}), 59, "'6'"),
            (lambda raw: reframe(raw, {60: "2023-11-14"}), 60, "UTCTimestamp"),
            (lambda raw: reframe(raw, {60: "20231314-22:13:20.123"}), 60, "calendar"),
            (lambda raw: reframe(raw, {34: "x"}), 34, "integer"),
            (lambda raw: reframe(raw, {49: None}), 49, "missing"),
            (lambda raw: reframe(raw, {35: "A"}), 35, "unsupported MsgType"),
            (lambda raw: reframe(raw, {35: "8"}), 35, "unsupported MsgType"),
        ],
    )
    def test_each_defect_raises_fix_decode_error_naming_its_tag(self, mutate, tag, words) -> None:
        raw = mutate(a_valid_new_order())
        with pytest.raises(FixDecodeError) as info:
            venue().decode_command(raw)
        assert info.value.tag == tag
        assert words in info.value.reason
        assert f"FIX tag {tag}" in str(info.value)

    @pytest.mark.parametrize(
        "raw",
        [
            b"",
            b"hello world",
            b"\x00\xff\x01garbage",
            b"8=FIX.4.4\x019=5\x0135=D\x01",  # no CheckSum
            b"8=FIX.4.4\x019=12\x0135=D\x0111=C",  # cut in the middle of a field
            b"8=FIX.4.4\x01abc=1\x0110=000\x01",
        ],
    )
    def test_garbage_and_truncated_bytes_raise_fix_decode_error_without_a_tag(self, raw) -> None:
        with pytest.raises(FixDecodeError) as info:
            venue().decode_command(raw)
        assert info.value.tag is None
        assert str(info.value).startswith("FIX message:")

    def test_a_repeated_tag_is_refused(self) -> None:
        body = [(t, v) for t, v in fields(a_valid_new_order()) if t not in (8, 9, 10)]
        with pytest.raises(FixDecodeError) as info:
            venue().decode_command(frame([*body, (55, "MSFT")]))
        assert info.value.tag == 55

    def test_bytes_after_the_checksum_are_refused(self) -> None:
        with pytest.raises(FixDecodeError) as info:
            venue().decode_command(a_valid_new_order() + b"35=D\x01")
        assert info.value.tag == 10

    def test_errors_refer_to_the_bad_message_for_a_session_reject(self) -> None:
        raw = reframe(a_valid_new_order(), {38: "abc", 34: "42"})
        with pytest.raises(FixDecodeError) as info:
            venue().decode_command(raw)
        assert (info.value.ref_seq_num, info.value.ref_msg_type) == (42, "D")
        assert info.value.session_reject_reason == 6  # incorrect data format

    def test_fix_decode_error_is_a_venue_protocol_error(self) -> None:
        assert issubclass(FixDecodeError, VenueProtocolError)


class TestMalformedEvents:
    @pytest.mark.parametrize(
        ("change", "tag"),
        [
            ({150: "Z"}, 150),
            ({39: "Z"}, 39),
            ({151: None}, 151),
            ({14: "many"}, 14),
            ({37: None}, 37),
            ({35: "D"}, 35),
            ({35: "3"}, 35),
        ],
    )
    def test_execution_report_defects_raise_with_their_tag(self, change, tag) -> None:
        with pytest.raises(FixDecodeError) as info:
            client().decode_event(reframe(a_valid_report(), change))
        assert info.value.tag == tag

    @pytest.mark.parametrize(
        ("change", "tag"),
        [({32: "0"}, 32), ({31: "-1"}, 31), ({12: "-0.5"}, 12), ({13: "1"}, 13), ({31: None}, 31)],
    )
    def test_fill_defects_raise_with_their_tag(self, change, tag) -> None:
        raw = report(OrderFilled(fill=a_fill()))
        with pytest.raises(FixDecodeError) as info:
            client().decode_event(reframe(raw, change))
        assert info.value.tag == tag

    def test_unknown_cxl_rej_response_to_is_refused(self) -> None:
        event = OrderCancelRejected(
            client_order_id="C-2", orig_client_order_id="C-1", reason="x", ts_ns=T0
        )
        with pytest.raises(FixDecodeError) as info:
            client().decode_event(reframe(report(event), {434: "3"}))
        assert info.value.tag == 434
