"""The quickfix ``Application`` callbacks: log, hand over, return. Nothing else.

quickfix calls these on its own threads. They never do domain work: each one writes the
redacted message log and puts a small :class:`Inbound` record on a queue that the owner's
thread drains. They never raise either: a Python exception escaping a callback aborts the
process in this build of quickfix (``RejectLogon`` included), so every callback body runs
under :func:`_guarded`, which turns an exception into an ``error`` record.

:class:`AcceptorBridge` checks Logon credentials. A refused Logon is answered by rewriting
the Logon reply into a Logout (35=5) whose Text (58) gives the reason — what quickfix's
``RejectLogon`` would have done — and the session's application messages are ignored.
"""

from __future__ import annotations

import contextlib
import ctypes
import hmac
import queue
import threading
from collections.abc import Callable, Mapping
from typing import NamedTuple, Protocol

import quickfix as fix

from emp.adapters.fix_quickfix.config import BEGIN_STRING
from emp.adapters.fix_quickfix.credentials import FixCredentials, Secret
from emp.adapters.fix_quickfix.message_log import RedactingMessageLog
from emp.ports.clock import ClockPort

LOGON, LOGOUT, SESSION_REJECT = "A", "5", "3"
USERNAME, PASSWORD, TEXT, RESET_SEQ_NUM = 553, 554, 58, 141


class Inbound(NamedTuple):
    """One thing that happened on a quickfix thread, for the owner's thread to act on.

    ``kind`` is ``app`` (an application message: ``raw`` is its text), ``logon``,
    ``logout``, ``refused`` (the peer refused our Logon: ``raw`` is its reason),
    ``reject`` (the peer sent a session-level Reject, 35=3: ``raw`` is it) or ``error``
    (a callback failed: ``raw`` says how).
    """

    kind: str
    session: str
    raw: str
    received_ns: int


def session_of(raw: str, *, outbound: bool) -> str:
    """quickfix's session text (``FIX.4.4:OURS->THEIRS``) from a message's CompIDs."""
    sender = _field(raw, "\x0149=")
    target = _field(raw, "\x0156=")
    ours, theirs = (sender, target) if outbound else (target, sender)
    return f"{BEGIN_STRING}:{ours}->{theirs}"


def _field(raw: str, needle: str) -> str:
    start = raw.find(needle)
    if start < 0:
        return ""
    start += len(needle)
    end = raw.find("\x01", start)
    return raw[start:end] if end >= 0 else raw[start:]


class _PerThread(threading.local):
    """What a thread remembers across quickfix callbacks (class defaults: reading an
    unset attribute of a plain ``threading.local`` raises, twenty times slower)."""

    kept = False
    sent: str | None = None


_per_thread = _PerThread()


def _keep_thread_state() -> None:
    """Keep this thread's Python thread state for the thread's whole life.

    quickfix's own threads are not Python threads: SWIG's callback wrapper creates a
    Python thread state for every callback and destroys it on return (an mmap, a munmap
    and the state's set-up per inbound message). One extra ``PyGILState_Ensure``, never
    released, keeps the state (and ``_per_thread``) alive across callbacks. Once per thread.
    """
    if not _per_thread.kept:
        ctypes.pythonapi.PyGILState_Ensure()
        _per_thread.kept = True


def take_sent_text() -> str | None:
    """The text of the last application message this thread sent through quickfix (as
    ``toApp`` saw it, header filled in), once; ``None`` if quickfix did not call ``toApp``
    since the last call. Spares the sender a second ``toString`` for its journal."""
    raw, _per_thread.sent = _per_thread.sent, None
    return raw


def msg_type(message: fix.Message) -> str:
    return message.getHeader().getField(35)


class _Bridge(fix.Application):
    def __init__(
        self,
        log: RedactingMessageLog,
        clock: ClockPort,
        notify: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
        self.log = log
        self._clock = clock
        self._notify = notify
        self.logged_on = threading.Event()

    def _put(self, kind: str, session: str, raw: str = "") -> None:
        self.inbox.put(Inbound(kind, session, raw, self._clock.now_ns()))
        if self._notify is not None:
            self._notify()

    def _guarded(self, session_id: fix.SessionID, work: Callable[[], None]) -> None:
        try:
            _keep_thread_state()
            work()
        except Exception as error:  # never let an exception reach quickfix's C++
            self._failed(session_id, error)

    def _failed(self, session_id: fix.SessionID, error: Exception) -> None:
        """A callback raised: an event in the log and an ``error`` record for the owner."""
        # the log, the queue or the notifier failing must not reach quickfix either
        with contextlib.suppress(Exception):
            session = session_id.toString()
            self.log.event(session, f"callback failed: {type(error).__name__}: {error}")
            self._put("error", session, f"{type(error).__name__}: {error}")

    # quickfix's interface ---------------------------------------------------------
    def onCreate(self, sessionID: fix.SessionID) -> None:
        self._guarded(sessionID, lambda: self.log.event(sessionID.toString(), "created"))

    def onLogon(self, sessionID: fix.SessionID) -> None:
        self._guarded(sessionID, lambda: self._on_logon(sessionID.toString()))

    def onLogout(self, sessionID: fix.SessionID) -> None:
        self._guarded(sessionID, lambda: self._on_logout(sessionID.toString()))

    def toAdmin(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        self._guarded(sessionID, lambda: self._to_admin(message, sessionID.toString()))

    def fromAdmin(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        self._guarded(sessionID, lambda: self._from_admin(message, sessionID.toString()))

    # The application-message callbacks are the hot path: one call into quickfix each
    # (``toString``; every such call gives up and retakes the GIL), the session named
    # from the message's own CompIDs, and :meth:`_guarded` written out (no closure).
    def toApp(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        try:
            if not _per_thread.kept:
                _keep_thread_state()
            raw = message.toString()
            _per_thread.sent = raw
            self.log.message(session_of(raw, outbound=True), "OUT", raw)
        except Exception as error:  # never let an exception reach quickfix's C++
            self._failed(sessionID, error)

    def fromApp(self, message: fix.Message, sessionID: fix.SessionID) -> None:
        try:
            if not _per_thread.kept:
                _keep_thread_state()
            self._from_app(message.toString())
        except Exception as error:  # never let an exception reach quickfix's C++
            self._failed(sessionID, error)

    # behaviour ---------------------------------------------------------------------
    def _on_logon(self, session: str) -> None:
        self.log.event(session, "logged on")
        self.logged_on.set()
        self._put("logon", session)

    def _on_logout(self, session: str) -> None:
        self.log.event(session, "logged out")
        self.logged_on.clear()
        self._put("logout", session)

    def _to_admin(self, message: fix.Message, session: str) -> None:
        self.log.message(session, "OUT", message.toString(), flush=True)

    def _from_admin(self, message: fix.Message, session: str) -> None:
        self.log.message(session, "IN", message.toString(), flush=True)

    def _from_app(self, raw: str) -> None:
        self._deliver(session_of(raw, outbound=False), raw)

    def _deliver(self, session: str, raw: str) -> None:
        self.log.message(session, "IN", raw)
        self._put("app", session, raw)


class SessionListener(Protocol):
    """Told of session changes on quickfix's thread; must only set flags or events."""

    def on_logon(self) -> None: ...

    def on_logout(self) -> None: ...

    def on_refused(self) -> None: ...


class InitiatorBridge(_Bridge):
    """EMP's side: adds credentials to our Logon and notices a refused one."""

    def __init__(
        self,
        log: RedactingMessageLog,
        clock: ClockPort,
        credentials: FixCredentials | None,
        *,
        reset_on_logon: bool = False,
        notify: Callable[[], None] | None = None,
        listener: SessionListener | None = None,
    ) -> None:
        super().__init__(log, clock, notify)
        self._credentials = credentials
        self._reset_on_logon = reset_on_logon
        self._listener = listener
        self.refusal: str | None = None
        #: Connections closed by the peer before it answered our Logon (a TLS mismatch,
        #: or a venue that drops unknown clients without a word).
        self.unanswered_logons = 0

    def _on_logon(self, session: str) -> None:
        self.refusal = None
        super()._on_logon(session)
        if self._listener is not None:
            self._listener.on_logon()

    def _on_logout(self, session: str) -> None:
        if not self.logged_on.is_set() and self.refusal is None:
            self.unanswered_logons += 1
        super()._on_logout(session)
        if self._listener is not None:
            self._listener.on_logout()

    def _to_admin(self, message: fix.Message, session: str) -> None:
        if msg_type(message) == LOGON:
            if self._credentials is not None:
                message.setField(fix.StringField(USERNAME, self._credentials.username))
                message.setField(fix.StringField(PASSWORD, self._credentials.password.reveal()))
            if self._reset_on_logon:
                message.setField(fix.StringField(RESET_SEQ_NUM, "Y"))
        super()._to_admin(message, session)

    def _from_admin(self, message: fix.Message, session: str) -> None:
        super()._from_admin(message, session)
        if msg_type(message) == SESSION_REJECT:
            self._put("reject", session, message.toString())
        if msg_type(message) == LOGOUT and not self.logged_on.is_set():
            reason = message.getField(TEXT) if message.isSetField(TEXT) else "no reason given"
            self.refusal = reason
            self.log.event(session, f"logon refused by the venue: {reason}")
            if self._listener is not None:
                self._listener.on_refused()
            self._put("refused", session, reason)


class AcceptorBridge(_Bridge):
    """The venue's side: checks Username/Password and refuses a wrong Logon.

    ``admit``, when given, is asked at every Logon too: it returns a reason to refuse the
    Logon (e.g. a peer that is not on loopback) or ``None``.
    """

    def __init__(
        self,
        log: RedactingMessageLog,
        clock: ClockPort,
        credentials: Mapping[str, Secret] | None,
        notify: Callable[[], None] | None = None,
        admit: Callable[[], str | None] | None = None,
    ) -> None:
        super().__init__(log, clock, notify)
        self._admit = admit
        self._credentials = credentials
        self._refused: dict[str, str] = {}
        self._lock = threading.Lock()

    def is_authenticated(self, session: str) -> bool:
        with self._lock:
            return session not in self._refused

    def _check(self, message: fix.Message) -> str | None:
        if self._credentials is None:
            return None
        username = message.getField(USERNAME) if message.isSetField(USERNAME) else ""
        password = message.getField(PASSWORD) if message.isSetField(PASSWORD) else ""
        expected = self._credentials.get(username)
        if not username or expected is None:
            return "invalid username or password"
        if not hmac.compare_digest(password.encode(), expected.reveal().encode()):
            return "invalid username or password"
        return None

    def _from_admin(self, message: fix.Message, session: str) -> None:
        super()._from_admin(message, session)
        if msg_type(message) == LOGON:
            reason = self._admit() if self._admit is not None else None
            reason = reason or self._check(message)
            with self._lock:
                if reason is None:
                    self._refused.pop(session, None)
                else:
                    self._refused[session] = reason
            if reason is not None:
                self.log.event(session, f"logon refused: {reason}")

    def _to_admin(self, message: fix.Message, session: str) -> None:
        if msg_type(message) == LOGON:
            with self._lock:
                reason = self._refused.get(session)
            if reason is not None:
                message.getHeader().setField(fix.MsgType(LOGOUT))
                for tag in (98, 108, RESET_SEQ_NUM):
                    if message.isSetField(tag):
                        message.removeField(tag)
                message.setField(fix.StringField(TEXT, reason))
        super()._to_admin(message, session)

    def _on_logon(self, session: str) -> None:
        if self.is_authenticated(session):
            super()._on_logon(session)

    def _on_logout(self, session: str) -> None:
        with self._lock:
            was_refused = self._refused.pop(session, None) is not None
        if not was_refused:
            super()._on_logout(session)

    def _from_app(self, raw: str) -> None:
        session = session_of(raw, outbound=False)
        # One dict look-up is atomic under the GIL: no lock for this read per message.
        if session not in self._refused:
            self._deliver(session, raw)
        else:
            self.log.event(session, "ignored an application message before authentication")
