"""The mock-FIX face: the same venue through raw FIX bytes gives the same events."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.adapters.fix_codec import FixCodec
from emp.adapters.fix_codec.tags import FIX44_ORD_REJ_REASONS
from emp.adapters.fix_sim import MockFixVenue, SimulatedVenue, SimulatedVenueConfig
from emp.domain.bars import Bar
from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder
from emp.domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
)
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.orders import OrderSide, OrderType, TimeInForce
from emp.ports.simulated_venue import SimulatedVenuePort
from tests.fakes.clock import FakeClock

SOH = "\x01"
T0 = 1_700_000_000_000_000_000
MINUTE = 60_000_000_000
BUY, SELL = OrderSide.BUY, OrderSide.SELL
DAY, GTC, IOC, FOK = TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK


def registry() -> InstrumentRegistry:
    return InstrumentRegistry(
        [Instrument(symbol="AAPL", tick_size=0.01), Instrument(symbol="ES", tick_size=0.25)]
    )


CONFIG = SimulatedVenueConfig(
    commission_bps=1.3,
    commission_per_share=0.0035,
    min_commission=0.35,
    slippage_bps=3.7,
    max_volume_participation=0.1,
)


def faces(
    config: SimulatedVenueConfig = CONFIG,
) -> tuple[tuple[SimulatedVenue, FakeClock], tuple[MockFixVenue, FakeClock]]:
    direct_clock, mock_clock = FakeClock(T0), FakeClock(T0)
    return (
        (SimulatedVenue(registry(), direct_clock, config), direct_clock),
        (MockFixVenue(registry(), mock_clock, config), mock_clock),
    )


def fields(raw: bytes) -> dict[int, str]:
    return dict(
        (int(tag), value)
        for tag, _, value in (f.partition("=") for f in raw.decode()[:-1].split(SOH))
    )


def wrong_checksum(raw: bytes) -> bytes:
    """``raw`` with a CheckSum that does not match its bytes."""
    other = b"000" if raw[-4:-1] != b"000" else b"001"
    return raw[:-4] + other + b"\x01"


def frame(body: list[tuple[int, str]]) -> bytes:
    payload = "".join(f"{tag}={value}{SOH}" for tag, value in body).encode()
    head = f"8=FIX.4.4{SOH}9={len(payload)}{SOH}".encode()
    return head + payload + f"10={sum(head + payload) % 256:03d}{SOH}".encode()


def without(raw: bytes, tag: int) -> bytes:
    return frame([(t, v) for t, v in fields(raw).items() if t not in (8, 9, 10, tag)])


def with_value(raw: bytes, tag: int, value: str) -> bytes:
    return frame(
        [(t, value if t == tag else v) for t, v in fields(raw).items() if t not in (8, 9, 10)]
    )


def submit(cl_id: str, **overrides: object) -> SubmitOrder:
    terms: dict = {
        "client_order_id": cl_id,
        "symbol": "AAPL",
        "side": BUY,
        "quantity": 100.0,
        "time_in_force": GTC,
        "strategy": "s1",
    }
    terms.update(overrides)
    return SubmitOrder(**terms)


def limit(cl_id: str, side: OrderSide, price: float, **overrides: object) -> SubmitOrder:
    return submit(cl_id, side=side, order_type=OrderType.LIMIT, limit_price=price, **overrides)


def a_bar(i: int, o: float, h: float, low: float, c: float, v: float = 1000.0) -> Bar:
    return Bar("AAPL", T0 + i * MINUTE, o, h, low, c, v)


def run_scenario(venue: SimulatedVenuePort, clock: FakeClock) -> list[OrderEvent]:
    """Every event kind, partial fills, fees and slippage; all times millisecond-aligned."""
    events: list[OrderEvent] = []
    clock.advance_to(T0 + 250_000_000)
    venue.submit_order(submit("M1", quantity=250.0, ts_ns=clock.now_ns()))
    venue.submit_order(limit("L1", SELL, 101.37, quantity=60.0, time_in_force=DAY))
    venue.submit_order(limit("L2", BUY, 99.01, quantity=80.0))
    venue.submit_order(submit("BAD1", symbol="TSLA"))
    venue.submit_order(limit("BAD2", BUY, 99.105))
    venue.submit_order(submit("IOC1", quantity=150.0, time_in_force=IOC))
    venue.submit_order(submit("FOK1", side=SELL, quantity=500.0, time_in_force=FOK))
    events += venue.drain_events()
    clock.advance_to(T0 + MINUTE)
    venue.on_bar(a_bar(1, 100.03, 101.5, 99.07, 100.9, v=1070))
    events += venue.drain_events()
    clock.advance_to(T0 + MINUTE + 1_000_000)
    venue.replace_order(
        ReplaceOrder(
            client_order_id="L2b",
            orig_client_order_id="L2",
            symbol="AAPL",
            side=BUY,
            quantity=90.0,
            limit_price=98.77,
        )
    )
    venue.cancel_order(
        CancelOrder(client_order_id="X1", orig_client_order_id="L1", symbol="AAPL", side=SELL)
    )
    venue.cancel_order(
        CancelOrder(client_order_id="X2", orig_client_order_id="M1", symbol="AAPL", side=BUY)
    )
    venue.submit_order(limit("L3", BUY, 50.0, time_in_force=DAY))
    events += venue.drain_events()
    clock.advance_to(T0 + 2 * MINUTE)
    venue.on_bar(a_bar(2, 98.9, 99.2, 98.1, 98.5, v=3333))
    venue.on_bar(a_bar(3, 98.6, 99.0, 97.9, 98.2, v=512))
    events += venue.drain_events()
    return events


def as_fix44(event: object) -> object:
    """What FIX 4.4 can carry of an event: a reject code it lacks (18, invalid price
    increment, is FIX 5.0) arrives as 99 (Other), the reason kept in Text."""
    if isinstance(event, OrderRejected) and event.code not in FIX44_ORD_REJ_REASONS:
        return dataclasses.replace(event, code=99)
    return event


class TestSameEventsAsTheDirectFace:
    def test_the_scenario_gives_equal_events_through_fix(self) -> None:
        (direct, direct_clock), (mock, mock_clock) = faces()
        direct_events = run_scenario(direct, direct_clock)
        mock_events = run_scenario(mock, mock_clock)
        assert mock_events == [as_fix44(e) for e in direct_events]
        assert any(isinstance(e, OrderRejected) and e.code == 18 for e in direct_events)
        kinds = {type(e) for e in direct_events}
        assert kinds == {
            OrderAccepted,
            OrderRejected,
            OrderFilled,
            OrderCanceled,
            OrderCancelRejected,
            OrderReplaced,
            OrderExpired,
        }

    @settings(max_examples=40, deadline=None)
    @given(
        opens=st.lists(st.floats(0.01, 1e5), min_size=1, max_size=6),
        slippage=st.floats(0.0, 500.0),
        bps=st.floats(0.0, 50.0),
        quantity=st.integers(1, 10_000),
        side=st.sampled_from([BUY, SELL]),
    )
    def test_prices_and_fees_are_bit_identical(self, opens, slippage, bps, quantity, side) -> None:
        config = SimulatedVenueConfig(
            slippage_bps=slippage, commission_bps=bps, max_volume_participation=0.5
        )
        (direct, _), (mock, _) = faces(config)
        for venue in (direct, mock):
            venue.submit_order(submit("C1", side=side, quantity=float(quantity)))
            for i, o in enumerate(opens, start=1):
                venue.on_bar(Bar("AAPL", T0 + i * MINUTE, o, o * 1.01, o * 0.99, o, 3000.0))
        direct_fills = [e.fill for e in direct.drain_events() if isinstance(e, OrderFilled)]
        mock_fills = [e.fill for e in mock.drain_events() if isinstance(e, OrderFilled)]
        assert direct_fills
        assert [(f.price.hex(), f.fee.hex(), f.quantity.hex()) for f in mock_fills] == [
            (f.price.hex(), f.fee.hex(), f.quantity.hex()) for f in direct_fills
        ]

    def test_sub_millisecond_times_are_truncated_through_fix(self) -> None:
        (_, _), (mock, clock) = faces()
        clock.advance_to(T0 + 1_234_567)
        mock.submit_order(submit("C1"))
        [event] = mock.drain_events()
        assert event.ts_ns == T0 + 1_000_000

    def test_it_is_a_simulated_venue(self) -> None:
        (_, _), (mock, _) = faces()
        assert isinstance(mock, SimulatedVenuePort)


class TestJournal:
    def test_the_journal_holds_every_message_in_order_with_its_direction(self) -> None:
        (_, _), (mock, _) = faces(SimulatedVenueConfig())
        mock.submit_order(submit("C1"))
        mock.on_bar(a_bar(1, 100, 101, 99, 100))
        mock.cancel_order(
            CancelOrder(client_order_id="X1", orig_client_order_id="C1", symbol="AAPL", side=BUY)
        )
        mock.replace_order(
            ReplaceOrder(
                client_order_id="C2",
                orig_client_order_id="C1",
                symbol="AAPL",
                side=BUY,
                quantity=10.0,
            )
        )
        journal = [(d, fields(raw)[35], fields(raw).get(150)) for d, raw in mock.journal]
        assert journal == [
            ("client->venue", "D", None),
            ("venue->client", "8", "0"),
            ("venue->client", "8", "F"),
            ("client->venue", "F", None),
            ("venue->client", "9", None),
            ("client->venue", "G", None),
            ("venue->client", "9", None),
        ]

    def test_each_side_numbers_its_own_messages_and_names_both_comp_ids(self) -> None:
        (_, _), (mock, _) = faces()
        mock.submit_order(submit("C1"))
        mock.submit_order(submit("C2"))
        seen = [(d, fields(raw)[34], fields(raw)[49], fields(raw)[56]) for d, raw in mock.journal]
        assert seen == [
            ("client->venue", "1", "EMP", "EMPSIM"),
            ("venue->client", "1", "EMPSIM", "EMP"),
            ("client->venue", "2", "EMP", "EMPSIM"),
            ("venue->client", "2", "EMPSIM", "EMP"),
        ]

    def test_the_journal_cannot_be_changed_from_outside(self) -> None:
        (_, _), (mock, _) = faces()
        mock.submit_order(submit("C1"))
        mock.journal.clear()
        assert len(mock.journal) == 2


def a_new_order_raw(cl_id: str = "R1", seq_num: int = 1) -> bytes:
    codec = FixCodec("EMP", "EMPSIM")
    raw = b""
    for _ in range(seq_num):
        raw = codec.encode_command(submit(cl_id, ts_ns=T0), sending_ns=T0)
    return raw


class TestMalformedInbound:
    @pytest.mark.parametrize(
        ("mutate", "ref_tag", "words"),
        [
            (wrong_checksum, 10, "CheckSum"),
            (lambda raw: without(raw, 55), 55, "missing"),
            (lambda raw: with_value(raw, 38, "lots"), 38, "decimal number"),
        ],
    )
    def test_a_bad_message_gets_a_session_reject_and_changes_nothing(
        self, mutate, ref_tag, words
    ) -> None:
        (_, _), (mock, _) = faces()
        replies = mock.receive_raw(mutate(a_new_order_raw("R1", seq_num=3)))
        [reply] = replies
        reject = FixCodec("EMP", "EMPSIM").decode_session_reject(reply)
        assert reject.ref_tag_id == ref_tag
        assert reject.ref_seq_num == 3
        assert words in reject.text
        assert f"tag {ref_tag}" in reject.text
        assert mock.journal[-1] == ("venue->client", reply)
        assert mock.drain_events() == []
        # the venue keeps working: the next valid order (same id, never registered) is taken
        [accepted_raw] = mock.receive_raw(a_new_order_raw("R1"))
        assert fields(accepted_raw)[150] == "0"
        assert mock.drain_events() == [
            OrderAccepted(client_order_id="R1", venue_order_id="SIM-1", ts_ns=T0)
        ]

    def test_garbage_gets_a_reject_without_a_ref_tag(self) -> None:
        (_, _), (mock, _) = faces()
        [reply] = mock.receive_raw(b"this is not FIX")
        reject = FixCodec("EMP", "EMPSIM").decode_session_reject(reply)
        assert (reject.ref_tag_id, reject.ref_seq_num) == (None, 0)
        assert "not a FIX message" in reject.text

    def test_a_message_the_venue_does_not_take_gets_an_invalid_msg_type_reject(self) -> None:
        (_, _), (mock, _) = faces()
        [reply] = mock.receive_raw(with_value(a_new_order_raw(), 35, "8"))
        f = fields(reply)
        assert (f[35], f[371], f[372], f[373]) == ("3", "35", "8", "11")

    def test_valid_raw_messages_are_answered_with_their_reports(self) -> None:
        (_, _), (mock, _) = faces()
        [reply] = mock.receive_raw(a_new_order_raw("R1"))
        f = fields(reply)
        assert (f[35], f[150], f[39], f[11], f[37]) == ("8", "0", "0", "R1", "SIM-1")
