"""SystemClock: the one place in EMP that reads the wall clock."""

from __future__ import annotations

import time


class SystemClock:
    """The operating system's wall clock, in UTC nanoseconds since the epoch.

    Every other part of EMP learns the time through a ``ClockPort``; this adapter is the
    only code that calls :func:`time.time_ns`.
    """

    def now_ns(self) -> int:
        return time.time_ns()

    def __repr__(self) -> str:
        return "SystemClock()"
