"""Clocks: the wall clock (:class:`SystemClock`) and a hand-driven one (:class:`ManualClock`).

Implements :class:`emp.ports.clock.ClockPort` and
:class:`emp.ports.settable_clock.SettableClockPort`.
"""

from emp.adapters.clocks.clock import SystemClock
from emp.adapters.clocks.settable_clock import ManualClock

__all__ = ["ManualClock", "SystemClock"]
