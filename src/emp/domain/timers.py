"""Timers a strategy sets on the event clock: :class:`Timer` and :class:`TimerQueue`.

A strategy asks for a call at a time (``ctx.set_timer(ts_ns, name)``); the engine calls
:meth:`~emp.domain.strategy.Strategy.on_timer` when its clock reaches that time — before
the bar or book update stamped at or after it, so a timer never sees market data from
after its time. Timers due at one time fire in the order they were set. A timer due after
the run's last event never fires (there is no clock beyond the data).
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass

from emp.domain.errors import InvalidConfiguration


@dataclass(frozen=True, slots=True)
class Timer:
    """A call a strategy asked for: at ``ts_ns`` (UTC nanoseconds), named ``name``."""

    ts_ns: int
    name: str = ""


class TimerQueue:
    """Pending timers, earliest first (ties in the order they were set)."""

    __slots__ = ("_heap", "_sequence")

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Timer]] = []
        self._sequence = itertools.count()

    def __bool__(self) -> bool:
        return bool(self._heap)

    def __len__(self) -> int:
        return len(self._heap)

    @property
    def pending(self) -> list[tuple[int, int, Timer]]:
        """The live heap of ``(ts_ns, sequence, timer)`` (read it, never change it): an
        event loop tests ``pending and pending[0][0] <= ts`` without a call per event."""
        return self._heap

    @property
    def next_ns(self) -> int | None:
        """When the earliest pending timer is due (``None``: none pending)."""
        return self._heap[0][0] if self._heap else None

    def set(self, ts_ns: int, name: str, *, now_ns: int) -> Timer:
        """Schedule a timer at ``ts_ns`` (not before ``now_ns``: the clock never goes back)."""
        if isinstance(ts_ns, bool) or not isinstance(ts_ns, int):
            raise InvalidConfiguration(
                f"a timer's time must be an int of UTC nanoseconds, was {ts_ns!r}"
            )
        if ts_ns < now_ns:
            raise InvalidConfiguration(
                f"a timer cannot be set in the past: expected ts_ns >= {now_ns}, was {ts_ns}"
            )
        timer = Timer(ts_ns, name)
        heapq.heappush(self._heap, (ts_ns, next(self._sequence), timer))
        return timer

    def cancel(self, name: str) -> int:
        """Drop every pending timer named ``name``; returns how many."""
        heap = self._heap
        kept = [entry for entry in heap if entry[2].name != name]
        dropped = len(heap) - len(kept)
        if dropped:
            heap[:] = kept  # in place: :attr:`pending` stays the live list
            heapq.heapify(heap)
        return dropped

    def pop_due(self, ts_ns: int) -> Timer | None:
        """The earliest timer due at or before ``ts_ns``, removed; ``None`` if none is."""
        heap = self._heap
        if heap and heap[0][0] <= ts_ns:
            return heapq.heappop(heap)[2]
        return None
