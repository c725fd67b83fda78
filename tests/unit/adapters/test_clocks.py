import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emp.adapters.clocks import ManualClock, SystemClock
from emp.ports.clock import ClockPort
from emp.ports.settable_clock import SettableClockPort


class TestSystemClock:
    def test_system_clock_implements_the_clock_port(self) -> None:
        assert isinstance(SystemClock(), ClockPort)

    def test_now_is_the_wall_clock_in_nanoseconds(self) -> None:
        before = time.time_ns()
        now = SystemClock().now_ns()
        after = time.time_ns()
        assert isinstance(now, int)
        assert before <= now <= after


class TestManualClockReading:
    def test_manual_clock_implements_both_clock_ports(self) -> None:
        clock = ManualClock()
        assert isinstance(clock, ClockPort)
        assert isinstance(clock, SettableClockPort)

    def test_clock_starts_at_zero_by_default(self) -> None:
        assert ManualClock().now_ns() == 0

    def test_clock_starts_at_the_given_time(self) -> None:
        assert ManualClock(start_ns=1_700_000_000_000_000_000).now_ns() == 1_700_000_000_000_000_000

    def test_numpy_integers_are_accepted_and_returned_as_int(self) -> None:
        clock = ManualClock(start_ns=np.int64(5))
        assert clock.now_ns() == 5
        assert type(clock.now_ns()) is int

    def test_a_float_start_is_rejected(self) -> None:
        with pytest.raises(TypeError, match="integer number of nanoseconds"):
            ManualClock(start_ns=1.5)  # type: ignore[arg-type]


class TestManualClockAdvancing:
    def test_advance_to_moves_to_the_given_time(self) -> None:
        clock = ManualClock(start_ns=100)
        clock.advance_to(250)
        assert clock.now_ns() == 250

    def test_advance_to_the_current_time_is_allowed(self) -> None:
        clock = ManualClock(start_ns=100)
        clock.advance_to(100)
        assert clock.now_ns() == 100

    def test_advance_to_an_earlier_time_raises_naming_both_times(self) -> None:
        clock = ManualClock(start_ns=500)
        with pytest.raises(ValueError, match=r"500.*was 499"):
            clock.advance_to(499)
        assert clock.now_ns() == 500

    def test_advance_by_adds_the_delta(self) -> None:
        clock = ManualClock(start_ns=10)
        clock.advance_by(7)
        clock.advance_by(0)
        assert clock.now_ns() == 17

    def test_advance_by_a_negative_delta_raises(self) -> None:
        clock = ManualClock(start_ns=10)
        with pytest.raises(ValueError, match="was -1"):
            clock.advance_by(-1)
        assert clock.now_ns() == 10

    @given(st.lists(st.integers(min_value=-(10**12), max_value=10**12), max_size=50))
    def test_time_never_decreases_whatever_is_asked(self, targets: list[int]) -> None:
        clock = ManualClock()
        seen = [clock.now_ns()]
        for target in targets:
            try:
                clock.advance_to(target)
            except ValueError:
                assert target < seen[-1]
            seen.append(clock.now_ns())
        assert seen == sorted(seen)
