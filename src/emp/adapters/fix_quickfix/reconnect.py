"""Reconnect with backoff: the delay policy and the thread that applies it to a session.

quickfix's initiator reconnects on its own every ``ReconnectInterval`` seconds. To back off
instead, :class:`ReconnectSupervisor` disables the session as soon as it drops, waits the
policy's delay, and enables it again (quickfix then connects at its next timer tick).
After a Logon refused for bad credentials it leaves the session disabled: retrying a
wrong password only locks accounts at real brokers.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
import quickfix as fix

from emp.domain.errors import InvalidConfiguration


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Exponential backoff with optional seeded jitter.

    The n-th consecutive reconnect waits ``min(max_s, initial_s * factor**(n-1))`` seconds,
    times a factor drawn uniformly from ``[1 - jitter, 1]`` when ``jitter`` > 0.
    """

    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.initial_s) and self.initial_s >= 0):
            raise InvalidConfiguration(f"initial_s must be >= 0, was {self.initial_s!r}")
        if not (math.isfinite(self.factor) and self.factor >= 1):
            raise InvalidConfiguration(f"factor must be >= 1, was {self.factor!r}")
        if not (math.isfinite(self.max_s) and self.max_s >= self.initial_s):
            raise InvalidConfiguration(f"max_s must be >= initial_s, was {self.max_s!r}")
        if not 0 <= self.jitter < 1:
            raise InvalidConfiguration(f"jitter must be in [0, 1), was {self.jitter!r}")

    def delay_s(self, attempt: int, rng: np.random.Generator | None = None) -> float:
        """The wait before reconnect attempt ``attempt`` (1 for the first)."""
        if attempt < 1:
            raise ValueError(f"attempt numbers start at 1, was {attempt}")
        base = min(self.max_s, self.initial_s * self.factor ** (attempt - 1))
        if self.jitter and rng is not None:
            base *= 1.0 - self.jitter * float(rng.random())
        return base


class ReconnectSupervisor:
    """Applies a :class:`Backoff` to one quickfix session (see the module docstring).

    Args:
        session_id: the session to supervise.
        backoff: the delay policy.
        rng: the seeded generator for jitter (``None``: no jitter).
        grace_s: how long after re-enabling the session a Logon may take before the next
            attempt counts (quickfix's ReconnectInterval plus the logon round trip).
    """

    def __init__(
        self,
        session_id: fix.SessionID,
        backoff: Backoff,
        rng: np.random.Generator | None = None,
        *,
        grace_s: float = 3.0,
    ) -> None:
        self._session_id = session_id
        self._backoff = backoff
        self._rng = rng
        self._grace_s = grace_s
        self._wake = threading.Event()
        self._online = threading.Event()
        self._stopping = threading.Event()
        self._refused = threading.Event()
        self.attempts = 0
        self.delays: list[float] = []
        self._thread = threading.Thread(target=self._run, name="emp-fix-reconnect", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._online.set()
        self._thread.join(timeout=5)

    # Called from quickfix callbacks. Disabling a session only sets a flag in quickfix
    # (no lock is taken), so it is done right here: quickfix may otherwise reconnect
    # within a millisecond, before this thread wakes.
    def on_logon(self) -> None:
        self._online.set()

    def on_logout(self) -> None:
        self._online.clear()
        if not self._stopping.is_set():
            self._disable()
        self._wake.set()

    def on_refused(self) -> None:
        self._refused.set()
        self._disable("logon refused: not retrying with the same credentials")
        self._wake.set()

    def _disable(self, reason: str = "") -> None:
        session = fix.Session.lookupSession(self._session_id)
        if session is not None:
            session.logout(reason)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stopping.is_set() or self._refused.is_set():
                return
            if not self._online.is_set():
                self._reconnect()

    def _reconnect(self) -> None:
        attempt = 0
        while not self._stopping.is_set() and not self._online.is_set():
            attempt += 1
            self.attempts += 1
            delay = self._backoff.delay_s(attempt, self._rng)
            self.delays.append(delay)
            if self._stopping.wait(delay):
                return
            session = fix.Session.lookupSession(self._session_id)
            if session is None or self._refused.is_set():
                return
            session.logon()
            self._online.wait(self._grace_s)
            if not self._online.is_set() and not self._stopping.is_set():
                self._disable()
