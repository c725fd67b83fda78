"""The timer queue: earliest first, ties in the order set, never in the past."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emp.domain.errors import InvalidConfiguration
from emp.domain.timers import Timer, TimerQueue


class TestOrder:
    @given(times=st.lists(st.integers(0, 50), max_size=30))
    def test_timers_come_out_by_time_then_by_the_order_they_were_set(self, times):
        queue = TimerQueue()
        for k, ts in enumerate(times):
            queue.set(ts, f"t{k}", now_ns=0)
        fired = []
        while (timer := queue.pop_due(10**9)) is not None:
            fired.append(timer)
        expected = sorted(
            (Timer(ts, f"t{k}") for k, ts in enumerate(times)),
            key=lambda t: (t.ts_ns, int(t.name[1:])),
        )
        assert fired == expected

    def test_only_timers_due_by_the_time_asked_come_out(self):
        queue = TimerQueue()
        queue.set(5, "a", now_ns=0)
        queue.set(9, "b", now_ns=0)
        assert queue.pop_due(4) is None
        assert queue.pop_due(7) == Timer(5, "a")
        assert queue.pop_due(7) is None
        assert queue.next_ns == 9 and len(queue) == 1

    def test_cancel_drops_every_timer_of_that_name_and_keeps_the_live_heap(self):
        queue = TimerQueue()
        live = queue.pending
        for ts, name in ((3, "x"), (1, "y"), (2, "x")):
            queue.set(ts, name, now_ns=0)
        assert queue.cancel("x") == 2
        assert queue.cancel("x") == 0
        assert queue.pending is live and [e[2] for e in live] == [Timer(1, "y")]


class TestRefusals:
    def test_a_timer_in_the_past_is_refused(self):
        with pytest.raises(InvalidConfiguration, match="cannot be set in the past"):
            TimerQueue().set(4, "late", now_ns=5)

    @pytest.mark.parametrize("ts", [1.5, True, "10"])
    def test_a_time_that_is_not_int_nanoseconds_is_refused(self, ts):
        with pytest.raises(InvalidConfiguration, match="int of UTC nanoseconds"):
            TimerQueue().set(ts, "odd", now_ns=0)
