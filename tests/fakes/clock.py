"""A settable clock for tests (implements ClockPort and SettableClockPort)."""

from __future__ import annotations


class FakeClock:
    """Time stands still until a test moves it forward with :meth:`advance_to`."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now_ns = start_ns

    def now_ns(self) -> int:
        return self._now_ns

    def advance_to(self, ts_ns: int) -> None:
        if ts_ns < self._now_ns:
            raise ValueError(f"clock cannot go backwards: now {self._now_ns}, asked {ts_ns}")
        self._now_ns = ts_ns
