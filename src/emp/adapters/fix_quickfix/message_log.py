"""A redacting file log of one engine's sessions: every message and session event.

quickfix's own FileLog writes Logon messages verbatim, password included, and this build
of quickfix cannot take a Python log, so the engines run without one and the callback
bridge writes here instead: one ``messages.log`` (every inbound and outbound message,
admin and application) and one ``events.log`` (logons, logouts, refusals, errors), each
line passed through :func:`~emp.adapters.fix_quickfix.credentials.redact_fix`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TextIO

from emp.adapters.fix_quickfix.credentials import redact_fix
from emp.domain.clock_time import ns_to_datetime
from emp.ports.clock import ClockPort


class RedactingMessageLog:
    """Thread-safe append-only log files under ``directory`` (created on :meth:`open`)."""

    def __init__(self, directory: Path, clock: ClockPort, *, name: str) -> None:
        self._directory = directory
        self._clock = clock
        self._name = name
        self._lock = threading.Lock()
        self._messages: TextIO | None = None
        self._events: TextIO | None = None
        self._stamp_second = -1
        self._stamp_prefix = ""

    @property
    def messages_path(self) -> Path:
        return self._directory / f"{self._name}.messages.log"

    @property
    def events_path(self) -> Path:
        return self._directory / f"{self._name}.events.log"

    def open(self) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if self._messages is None:
                self._messages = open(self.messages_path, "a", encoding="utf-8")  # noqa: SIM115
                self._events = open(self.events_path, "a", encoding="utf-8")  # noqa: SIM115

    def close(self) -> None:
        with self._lock:
            for handle in (self._messages, self._events):
                if handle is not None:
                    handle.close()
            self._messages = self._events = None

    def _stamp(self) -> str:
        """``YYYYMMDD-HH:MM:SS.ffffff`` UTC; the date part is formatted once a second.
        Called under the lock."""
        seconds, ns = divmod(self._clock.now_ns(), 1_000_000_000)
        if seconds != self._stamp_second:
            moment = ns_to_datetime(seconds * 1_000_000_000)
            self._stamp_second, self._stamp_prefix = seconds, moment.strftime("%Y%m%d-%H:%M:%S")
        return f"{self._stamp_prefix}.{ns // 1000:06d}"

    def message(self, session: str, direction: str, raw: str, *, flush: bool = False) -> None:
        """One message line; ``flush`` for admin messages (rare, and wanted at once)."""
        text = redact_fix(raw).replace("\x01", "|")
        with self._lock:
            if self._messages is not None:
                self._messages.write(f"{self._stamp()} {session} {direction} {text}\n")
                if flush:
                    self._messages.flush()

    def event(self, session: str, text: str) -> None:
        text = redact_fix(text)
        with self._lock:
            if self._events is not None:
                self._events.write(f"{self._stamp()} {session} {text}\n")
                self._events.flush()

    def flush(self) -> None:
        with self._lock:
            for handle in (self._messages, self._events):
                if handle is not None:
                    handle.flush()
