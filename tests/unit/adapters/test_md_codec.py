"""Market-data FIX codec: W/X round trips, dedicated decoder ≡ simplefix, every malformed case."""

from __future__ import annotations

from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.adapters.fix_codec.errors import FixEncodeError
from emp.adapters.fix_codec.md_decode import decode_md
from emp.adapters.fix_codec.md_encode import encode_md, md_body_fields
from emp.adapters.fix_codec.md_errors import MdDecodeError
from emp.adapters.fix_codec.md_kernel import kernel_verdict, validate_md
from emp.adapters.fix_codec.md_session import (
    decode_market_data,
    decode_market_data_request,
    decode_md_simplefix,
    decode_request_reject,
    encode_market_data_request,
    encode_request_reject,
)
from emp.domain.market_data import (
    MdEntries,
    MdIncrement,
    MdMessageQuarantined,
    MdOtherMessage,
    MdRequestRejected,
    MdSnapshot,
    SubscribeMarketData,
    UnsubscribeMarketData,
)
from emp.ports.market_data import MalformedMarketData

T0 = 1_700_000_000_123_000_000
TS = "20231114-22:13:20.123"
HEADER = [(35, "X"), (49, "VENUE"), (56, "EMP"), (34, "7"), (52, TS)]


def frame(
    fields: list[tuple[int, str]], *, length_delta: int = 0, checksum: str | None = None
) -> bytes:
    """A message framed independently of the codec (BodyLength, CheckSum computed here)."""
    body = "".join(f"{t}={v}\x01" for t, v in fields).encode()
    head = b"8=FIX.4.4\x019=" + str(len(body) + length_delta).encode() + b"\x01"
    total = sum(head + body) % 256
    return head + body + b"10=" + (checksum or f"{total:03d}").encode() + b"\x01"


def x_entry(
    action="1", kind="0", symbol="ABC", px="100.5", size="10", rpt="3"
) -> list[tuple[int, str]]:
    fields = [(279, action), (269, kind)]
    if symbol is not None:
        fields.append((55, symbol))
    if px is not None:
        fields.append((270, px))
    if size is not None:
        fields.append((271, size))
    if rpt is not None:
        fields.append((83, rpt))
    return fields


def x_message(*entries: list[tuple[int, str]], count: int | None = None, header=HEADER) -> bytes:
    body = [*header, (268, str(len(entries) if count is None else count))]
    for entry in entries:
        body += entry
    return frame(body)


# ------------------------------------------------------------------------- strategies
prices = st.decimals(min_value="0.01", max_value="99999", places=2).map(float)
sizes = st.integers(min_value=0, max_value=10**9).map(float)


@st.composite
def increments(draw) -> MdIncrement:
    n = draw(st.integers(1, 25))
    with_ids = draw(st.booleans())
    with_levels = draw(st.booleans())
    return MdIncrement(
        entries=MdEntries(
            actions=draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)),
            types=draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)),
            prices=draw(st.lists(prices, min_size=n, max_size=n)),
            sizes=draw(st.lists(sizes, min_size=n, max_size=n)),
            symbols=draw(
                st.lists(st.sampled_from(["ABC", "EUR/USD", "X-1"]), min_size=n, max_size=n)
            ),
            rpt_seqs=draw(st.none() | st.just(list(range(1, n + 1)))),
            levels=draw(st.lists(st.integers(1, 50), min_size=n, max_size=n))
            if with_levels
            else None,
            entry_ids=[f"id{i}" for i in range(n)] if with_ids else None,
        ),
        seq_num=draw(st.integers(1, 10**9)),
        ts_ns=T0 + draw(st.integers(0, 10**6)) * 1_000_000,
    )


@st.composite
def snapshots(draw) -> MdSnapshot:
    x = draw(increments())
    e = x.entries
    n = len(e)
    return MdSnapshot(
        symbol=draw(st.sampled_from(["ABC", "ZN"])),
        entries=MdEntries(
            actions=[0] * n, types=e.types, prices=e.prices, sizes=e.sizes,
            symbols=[draw(st.sampled_from(["ABC"]))] * n, levels=e.levels, entry_ids=e.entry_ids,
        ),
        seq_num=x.seq_num,
        ts_ns=x.ts_ns,
        rpt_seq=draw(st.none() | st.integers(0, 10**6)),
        request_id=draw(st.sampled_from(["", "req-1"])),
    )  # fmt: skip


def encoded(message) -> bytes:
    return encode_md(message, sender_comp_id="VENUE", target_comp_id="EMP")


class TestRoundTrips:
    @settings(max_examples=120, deadline=None)
    @given(message=increments())
    def test_an_increment_survives_encode_then_decode_exactly(self, message):
        assert decode_md(encoded(message)) == message

    @settings(max_examples=120, deadline=None)
    @given(message=snapshots())
    def test_a_snapshot_survives_encode_then_decode_exactly(self, message):
        decoded = decode_md(encoded(message))
        assert decoded == MdSnapshot(
            symbol=message.symbol,
            entries=MdEntries(
                **{**_fields(message.entries), "symbols": [message.symbol] * len(message.entries)}
            ),
            seq_num=message.seq_num,
            ts_ns=message.ts_ns,
            rpt_seq=message.rpt_seq,
            request_id=message.request_id,
        )

    @settings(max_examples=80, deadline=None)
    @given(message=increments() | snapshots())
    def test_the_dedicated_decoder_agrees_with_the_simplefix_reference(self, message):
        raw = encoded(message)
        assert decode_md(raw) == decode_md_simplefix(raw)

    @settings(max_examples=80, deadline=None)
    @given(message=increments() | snapshots())
    def test_the_kernel_accepts_every_valid_message_or_hands_it_back(self, message):
        raw = encoded(message)
        verdict = kernel_verdict(raw)
        unusual = message.entries.entry_ids is not None or message.entries.levels is not None
        multi = len(set(message.entries.symbols)) > 1 and isinstance(message, MdIncrement)
        assert verdict.status == ("handback" if unusual or multi else "ok"), verdict

    def test_irregular_groups_decode_with_missing_optional_tags_filled_in(self):
        raw = x_message(x_entry(size=None, action="2", rpt=None), x_entry(symbol=None, rpt="4"))
        message = decode_md(raw)
        assert message.entries.actions == [2, 1] and message.entries.sizes == [0.0, 10.0]
        assert message.entries.symbols == ["ABC", "ABC"] and message.entries.rpt_seqs == [0, 4]

    def test_a_value_holding_an_equals_sign_is_split_correctly(self):
        raw = x_message(x_entry(symbol="A=B"))
        assert decode_md(raw).entries.symbols == ["A=B"]

    def test_body_fields_are_what_a_quickfix_session_would_publish(self):
        message = decode_md(x_message(x_entry()))
        assert md_body_fields(message) == [
            (268, "1"),
            (279, "1"),
            (269, "0"),
            (55, "ABC"),
            (270, "100.5"),
            (271, "10"),
            (83, "3"),
        ]


def _fields(entries: MdEntries) -> dict:
    return {name: getattr(entries, name) for name in MdEntries.__slots__}


class TestMalformedMessages:
    """Each case: the raw bytes and the tag the error must name."""

    CASES: ClassVar[dict] = {
        "bad checksum": (lambda: frame([*HEADER, (268, "1"), *x_entry()], checksum="000"), 10),
        "checksum not three digits": (
            lambda: frame([*HEADER, (268, "1"), *x_entry()], checksum="7"),
            10,
        ),
        "body length too long": (
            lambda: frame([*HEADER, (268, "1"), *x_entry()], length_delta=3),
            9,
        ),
        "body length not a number": (
            lambda: frame([*HEADER, (268, "1"), *x_entry()]).replace(b"9=", b"9=x", 1),
            9,
        ),
        "no NoMDEntries": (lambda: frame([*HEADER, *x_entry()]), 268),
        "NoMDEntries not a number": (lambda: x_message(x_entry(), count="one"), 268),  # type: ignore[arg-type]
        "NoMDEntries too high": (lambda: x_message(x_entry(), count=2), 268),
        "NoMDEntries too low": (lambda: x_message(x_entry(), x_entry(rpt="4"), count=1), 268),
        "entry not starting with MDUpdateAction": (
            lambda: frame(
                [*HEADER, (268, "1"), (269, "0"), (279, "0"), (270, "1"), (271, "1"), (55, "A")]
            ),
            279,
        ),
        "unknown action": (lambda: x_message(x_entry(action="7")), 279),
        "unknown entry type": (lambda: x_message(x_entry(kind="Z")), 269),
        "missing entry type": (
            lambda: frame([*HEADER, (268, "1"), (279, "0"), (55, "A"), (270, "1"), (271, "1")]),
            269,
        ),
        "negative size": (lambda: x_message(x_entry(size="-5")), 271),
        "non-numeric price": (lambda: x_message(x_entry(px="abc")), 270),
        "price with exponent": (lambda: x_message(x_entry(px="1e5")), 270),
        "price nan": (lambda: x_message(x_entry(px="nan")), 270),
        "price with two points": (lambda: x_message(x_entry(px="1.2.3")), 270),
        "missing price on a new": (lambda: x_message(x_entry(action="0", px=None)), 270),
        "missing size on a change": (lambda: x_message(x_entry(size=None)), 271),
        "non-numeric size": (lambda: x_message(x_entry(size="ten")), 271),
        "bad RptSeq": (lambda: x_message(x_entry(rpt="-1")), 83),
        "no symbol anywhere": (lambda: x_message(x_entry(symbol=None)), 55),
        "W without symbol": (
            lambda: frame([(35, "W"), *HEADER[1:], (268, "1"), (269, "0"), (270, "1"), (271, "1")]),
            55,
        ),
        "W entry without size": (
            lambda: frame([(35, "W"), *HEADER[1:], (55, "A"), (268, "1"), (269, "0"), (270, "1")]),
            271,
        ),
        "missing MsgSeqNum": (
            lambda: x_message(x_entry(), header=[h for h in HEADER if h[0] != 34]),
            34,
        ),
        "MsgSeqNum zero": (
            lambda: x_message(x_entry(), header=[*HEADER[:3], (34, "0"), HEADER[4]]),
            34,
        ),
        "missing SenderCompID": (
            lambda: x_message(x_entry(), header=[h for h in HEADER if h[0] != 49]),
            49,
        ),
        "missing SendingTime": (
            lambda: x_message(x_entry(), header=[h for h in HEADER if h[0] != 52]),
            52,
        ),
        "bad SendingTime": (
            lambda: x_message(x_entry(), header=[*HEADER[:4], (52, "2023-11-14")]),
            52,
        ),
        "duplicate header tag": (lambda: x_message(x_entry(), header=[*HEADER, (49, "AGAIN")]), 49),
        "duplicate tag in an entry": (
            lambda: frame(
                [
                    *HEADER,
                    (268, "1"),
                    (279, "0"),
                    (269, "0"),
                    (55, "A"),
                    (270, "1"),
                    (270, "2"),
                    (271, "1"),
                ]
            ),
            270,
        ),
        "wrong MsgType": (lambda: frame([(35, "D"), *HEADER[1:], (268, "0")]), 35),
        "wrong BeginString": (
            lambda: frame([*HEADER, (268, "1"), *x_entry()]).replace(b"FIX.4.4", b"FIX.4.2"),
            8,
        ),
        "empty value": (lambda: x_message(x_entry(symbol="")), 55),
    }

    @pytest.mark.parametrize("path", ["python", "kernel"])
    @pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
    def test_a_malformed_message_raises_an_error_naming_the_offending_tag(self, case, path):
        build, tag = self.CASES[case]
        raw = build()
        if path == "kernel":  # the compiled kernel must name the same tag on its own
            verdict = kernel_verdict(raw)
            assert verdict.status in ("error", "other") and verdict.tag == tag, verdict
        with pytest.raises(MdDecodeError) as caught:
            (decode_md if path == "python" else validate_md)(raw)
        assert caught.value.tag == tag, str(caught.value)
        assert isinstance(caught.value, MalformedMarketData)
        assert str(tag) in str(caught.value)

    @pytest.mark.parametrize("path", ["python", "kernel"])
    @pytest.mark.parametrize(
        "raw",
        [b"", b"hello", b"8=FIX.4.4\x019=5\x0135=X", b"8=FIX.4.4\x019=5\x0135=X\x01"],
        ids=["empty", "not FIX", "truncated", "no checksum"],
    )
    def test_bytes_that_are_not_a_whole_message_raise_a_named_error(self, raw, path):
        if path == "kernel":
            verdict = kernel_verdict(raw)
            assert verdict.status == "error"
            assert verdict.tag == decode_market_data(raw).tag  # type: ignore[union-attr]
        with pytest.raises(MdDecodeError):
            (decode_md if path == "python" else validate_md)(raw)

    def test_the_error_names_the_message_and_the_symbols_it_touched(self):
        with pytest.raises(MdDecodeError) as caught:
            decode_md(x_message(x_entry(), x_entry(px="bad", rpt="4")))
        assert caught.value.ref_seq_num == 7 and caught.value.ref_msg_type == "X"
        assert caught.value.symbols == ("ABC",)

    def test_dispatch_quarantines_a_malformed_message_instead_of_raising(self):
        raw = x_message(x_entry(size="-1"))
        message = decode_market_data(raw)
        assert isinstance(message, MdMessageQuarantined)
        assert (message.tag, message.seq_num, message.symbols, message.raw) == (
            271,
            7,
            ("ABC",),
            raw,
        )

    def test_dispatch_passes_other_messages_on_with_their_sequence_number(self):
        heartbeat = frame([(35, "0"), *HEADER[1:]])
        assert decode_market_data(heartbeat) == MdOtherMessage(seq_num=7, msg_type="0")


class TestRequests:
    def test_a_subscription_round_trips_through_simplefix(self):
        command = SubscribeMarketData(request_id="r1", symbols=("ABC", "XYZ"), depth=10)
        raw = encode_market_data_request(
            command, sender_comp_id="EMP", target_comp_id="V", seq_num=2, sending_ns=T0
        )
        assert b"\x01263=1\x01" in raw and b"\x01146=2\x01" in raw
        assert decode_market_data_request(raw) == command

    def test_a_snapshot_request_and_an_unsubscribe_round_trip(self):
        for command in (
            SubscribeMarketData(request_id="r2", symbols=("ABC",), snapshot_only=True),
            UnsubscribeMarketData(request_id="r1", symbols=("ABC",)),
        ):
            raw = encode_market_data_request(
                command, sender_comp_id="EMP", target_comp_id="V", seq_num=3, sending_ns=T0
            )
            assert decode_market_data_request(raw) == command

    def test_a_request_with_a_wrong_symbol_count_is_refused(self):
        raw = frame(
            [(35, "V"), *HEADER[1:], (262, "r"), (263, "1"), (264, "0"), (146, "2"), (55, "A")]
        )
        with pytest.raises(MdDecodeError) as caught:
            decode_market_data_request(raw)
        assert caught.value.tag == 146

    def test_a_request_without_symbols_cannot_be_encoded(self):
        with pytest.raises(FixEncodeError):
            encode_market_data_request(
                SubscribeMarketData(request_id="r", symbols=()),
                sender_comp_id="E",
                target_comp_id="V",
                seq_num=1,
                sending_ns=T0,
            )

    def test_a_reject_round_trips_and_a_bad_one_names_the_tag(self):
        reject = MdRequestRejected(
            request_id="r1", reason_code=0, text="unknown symbol", seq_num=4, ts_ns=T0
        )
        raw = encode_request_reject(reject, sender_comp_id="V", target_comp_id="EMP")
        assert decode_request_reject(raw) == reject
        assert decode_market_data(raw) == reject
        with pytest.raises(MdDecodeError) as caught:
            decode_request_reject(frame([(35, "Y"), *HEADER[1:]]))
        assert caught.value.tag == 262


class TestBatchDecoding:
    def test_batch_checksums_flag_exactly_the_bad_and_unusual_messages(self):
        from emp.adapters.fix_codec.md_batch import checksums_ok

        good = x_message(x_entry())
        wrong = frame([*HEADER, (268, "1"), *x_entry()], checksum="000")
        short_sum = frame([*HEADER, (268, "1"), *x_entry()], checksum="7")
        assert checksums_ok([good, wrong, b"8=", short_sum, good]) == [
            True,
            False,
            False,
            False,
            True,
        ]

    def test_a_batch_decodes_like_one_at_a_time_and_still_names_a_bad_checksum(self):
        from emp.adapters.fix_codec.md_batch import decode_market_data_batch

        raws = [
            x_message(x_entry()),
            frame([*HEADER, (268, "1"), *x_entry()], checksum="001"),
            x_message(x_entry(px="7")),
        ]
        batch = decode_market_data_batch(raws)
        assert batch[0] == decode_md(raws[0]) and batch[2] == decode_md(raws[2])
        assert isinstance(batch[1], MdMessageQuarantined) and batch[1].tag == 10
