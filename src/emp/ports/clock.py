"""ClockPort: the only way anything in EMP learns the time."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class ClockPort(Protocol):
    def now_ns(self) -> int:
        """Current time in UTC nanoseconds since the epoch."""
        ...
