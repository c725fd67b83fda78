"""HotStatePublisher: what a session writes to the hot state store, and when."""

from __future__ import annotations

import pytest

from emp.app.hot_state import HotStatePublisher
from emp.ports.state_store import BestBidOffer, Heartbeat, PositionsSnapshot, SignalValue
from emp.ports.store_errors import StoreUnavailable
from tests.fakes.clock import FakeClock

SECOND = 1_000_000_000


class RecordingState:
    """A StateStorePort that records writes and can be switched off."""

    def __init__(self) -> None:
        self.positions: list[PositionsSnapshot] = []
        self.beats: list[Heartbeat] = []
        self.bbos: list[BestBidOffer] = []
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailable("redis:redis://127.0.0.1:1/0 is unreachable")

    def put_bbo(self, bbo: BestBidOffer) -> bool:
        self._check()
        self.bbos.append(bbo)
        return True

    def get_bbo(self, symbol: str) -> BestBidOffer | None:
        return None

    def put_signal(self, signal: SignalValue) -> bool:
        return True

    def get_signals(self, symbol: str) -> dict[str, SignalValue]:
        return {}

    def put_positions(self, snapshot: PositionsSnapshot) -> bool:
        self._check()
        self.positions.append(snapshot)
        return True

    def get_positions(self, account: str) -> PositionsSnapshot | None:
        return None

    def beat(self, heartbeat: Heartbeat) -> bool:
        self._check()
        self.beats.append(heartbeat)
        return True

    def last_heartbeat(self, component: str) -> Heartbeat | None:
        return None


def publisher(state: RecordingState, clock: FakeClock) -> HotStatePublisher:
    return HotStatePublisher(state, clock, account="acct", component="replay:r1", refresh_ns=SECOND)


class TestStart:
    def test_start_beats_once_stamped_by_the_wall_clock(self) -> None:
        state, clock = RecordingState(), FakeClock(5 * SECOND)
        publisher(state, clock).start()
        assert state.beats == [Heartbeat(component="replay:r1", ts_ns=5 * SECOND)]

    def test_an_unreachable_store_at_start_is_an_error(self) -> None:
        state = RecordingState()
        state.down = True
        with pytest.raises(StoreUnavailable, match="unreachable"):
            publisher(state, FakeClock()).start()


class TestPositions:
    def test_positions_are_written_when_they_change_and_flat_ones_are_left_out(self) -> None:
        state, clock = RecordingState(), FakeClock(SECOND)
        hot = publisher(state, clock)
        hot.on_step({"AAA": 10.0, "BBB": 0.0})
        clock.advance_to(SECOND + 1)
        hot.on_step({"AAA": 10.0, "BBB": 0.0})  # unchanged, not due: nothing
        clock.advance_to(SECOND + 2)
        hot.on_step({"AAA": 5.0})
        assert [dict(p.positions) for p in state.positions] == [{"AAA": 10.0}, {"AAA": 5.0}]
        assert [p.ts_ns for p in state.positions] == [SECOND, SECOND + 2]
        assert {p.account for p in state.positions} == {"acct"}

    def test_unchanged_positions_are_refreshed_once_the_interval_passes(self) -> None:
        state, clock = RecordingState(), FakeClock(SECOND)
        hot = publisher(state, clock)
        hot.on_step({"AAA": 1.0})
        clock.advance_to(2 * SECOND)
        hot.on_step({"AAA": 1.0})
        assert len(state.positions) == 2


class TestHeartbeat:
    def test_beats_are_paced_by_the_refresh_interval(self) -> None:
        state, clock = RecordingState(), FakeClock(0)
        hot = publisher(state, clock)
        hot.start()
        for ns in (1, SECOND // 2, SECOND, SECOND + 1, 2 * SECOND):
            clock.advance_to(ns)
            hot.on_step({})
        assert [b.ts_ns for b in state.beats] == [0, SECOND, 2 * SECOND]


class TestQuotes:
    def test_a_quote_is_written_as_the_bbo(self) -> None:
        state, clock = RecordingState(), FakeClock(7)
        publisher(state, clock).on_quote("AAA", 99.5, 10.0, 100.5, 12.0)
        assert state.bbos == [
            BestBidOffer(symbol="AAA", bid=99.5, bid_size=10.0, ask=100.5, ask_size=12.0, ts_ns=7)
        ]


class TestAStoreLostMidSession:
    def test_failed_writes_are_counted_and_the_session_carries_on(self) -> None:
        state, clock = RecordingState(), FakeClock(0)
        hot = publisher(state, clock)
        hot.start()
        state.down = True
        clock.advance_to(SECOND)
        hot.on_step({"AAA": 1.0})  # positions and heartbeat both fail
        state.down = False
        clock.advance_to(SECOND + 1)
        hot.on_step({"AAA": 1.0})  # retried: positions were never stored, the beat is due
        summary = hot.summary()
        assert summary.failed_writes == 2
        assert "unreachable" in (summary.last_error or "")
        assert [dict(p.positions) for p in state.positions] == [{"AAA": 1.0}]
        assert summary.writes == 1 + 2

    def test_a_bad_refresh_interval_is_refused(self) -> None:
        with pytest.raises(ValueError, match="refresh_ns"):
            HotStatePublisher(
                RecordingState(), FakeClock(), account="a", component="c", refresh_ns=0
            )
