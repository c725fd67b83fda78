"""SettableClockPort: a clock that a simulation drives (backtests, replays, tests)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class SettableClockPort(Protocol):
    def now_ns(self) -> int: ...

    def advance_to(self, ts_ns: int) -> None:
        """Move time forward to ``ts_ns``; moving backwards raises ``ValueError``."""
        ...
