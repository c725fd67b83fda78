"""ManualClock: a clock that only moves when told to (backtests, replays, tests)."""

from __future__ import annotations

import operator


def _as_int(name: str, value: int) -> int:
    try:
        return operator.index(value)
    except TypeError as e:
        raise TypeError(
            f"expected {name} to be an integer number of nanoseconds, "
            f"was {value!r} ({type(value).__name__})"
        ) from e


class ManualClock:
    """A settable clock in UTC nanoseconds. Time never moves backwards.

    >>> clock = ManualClock(start_ns=10)
    >>> clock.advance_by(5)
    >>> clock.now_ns()
    15
    """

    def __init__(self, start_ns: int = 0) -> None:
        self._now_ns = _as_int("start_ns", start_ns)

    def now_ns(self) -> int:
        return self._now_ns

    def advance_to(self, ts_ns: int) -> None:
        """Move to ``ts_ns``; staying put is allowed, moving backwards raises ``ValueError``."""
        # an int is its own index: only other types go through the conversion (per bar)
        target = ts_ns if type(ts_ns) is int else _as_int("ts_ns", ts_ns)
        if target < self._now_ns:
            raise ValueError(
                f"clock cannot move backwards: expected ts_ns >= {self._now_ns} "
                f"(the current time), was {target}"
            )
        self._now_ns = target

    def advance_by(self, delta_ns: int) -> None:
        """Move forward by ``delta_ns`` (zero allowed); a negative delta raises ``ValueError``."""
        delta = _as_int("delta_ns", delta_ns)
        if delta < 0:
            raise ValueError(f"clock cannot move backwards: expected delta_ns >= 0, was {delta}")
        self._now_ns += delta

    def __repr__(self) -> str:
        return f"ManualClock(now_ns={self._now_ns})"
