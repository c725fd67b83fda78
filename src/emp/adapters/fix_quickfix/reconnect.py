"""Reconnect with backoff (the delay policy and the thread that applies it to a session),
and what follows every re-logon: reconciliation of the open orders.

quickfix's initiator reconnects on its own every ``ReconnectInterval`` seconds. To back off
instead, :class:`ReconnectSupervisor` disables the session as soon as it drops, waits the
policy's delay, and enables it again (quickfix then connects at its next timer tick).
After a Logon refused for bad credentials it leaves the session disabled: retrying a
wrong password only locks accounts at real brokers.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import quickfix as fix

from emp.adapters.fix_codec import status
from emp.adapters.fix_quickfix.audit import Lineage
from emp.adapters.fix_quickfix.order_tracker import OrderTracker, TrackedOrder
from emp.domain.errors import InvalidConfiguration
from emp.domain.events import OrderEvent

#: Sends one application message: (MsgType, body, lineage).
Send = Callable[[str, list[tuple[int, str]], Lineage], None]


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


@dataclass(slots=True)
class _MassRequest:
    """A mass status request in flight: the open orders asked about, those answered."""

    request_id: str
    asked: set[str]
    sent_s: float
    seen: set[str] = field(default_factory=set)


class Reconciler:
    """Asks the venue where the open orders stand after a re-logon, and applies answers.

    One OrderMassStatusRequest (35=AF) answers for every working order; an order open here
    but absent from the answer is no longer working there, so an OrderStatusRequest (35=H)
    learns how it ended. A venue that refuses 35=AF (BusinessMessageReject or a
    session-level Reject naming it) is asked with one 35=H per open order from then on.

    A request sent right after a logon can be lost: when the venue asks for a resend,
    EMP's side gap-fills its application messages (``PersistMessages=N``). So a request
    still unanswered after ``retry_s`` is sent again (:meth:`retry_overdue`). Owner's
    thread only.
    """

    def __init__(
        self,
        tracker: OrderTracker,
        send: Send,
        note: Callable[[str], None],
        *,
        retry_s: float = 2.0,
    ) -> None:
        self._tracker = tracker
        self._send = send
        self._note = note
        self._retry_s = retry_s
        self.mass_status = True
        self._requests = 0
        self._mass: _MassRequest | None = None
        self._asked: dict[str, float] = {}  # ClOrdID -> when its 35=H went out

    @property
    def waiting(self) -> bool:
        """Whether some request is still unanswered."""
        return self._mass is not None or bool(self._asked)

    def start(self) -> int:
        """Ask about every open order; returns how many that is."""
        orders = self._tracker.open_orders()
        if not self.mass_status:
            return self._request_statuses(orders)
        self._requests += 1
        request_id = f"M{self._requests}"
        asked = {o.client_order_id for o in orders}
        self._mass = _MassRequest(request_id, asked, time.monotonic())
        body = status.order_mass_status_request(request_id)
        self._send(status.ORDER_MASS_STATUS_REQUEST, body, Lineage())
        return len(orders)

    def _request_statuses(self, orders: list[TrackedOrder]) -> int:
        now = time.monotonic()
        for order in orders:
            self._requests += 1
            body = status.order_status_request(
                client_order_id=order.client_order_id,
                order_id=order.order_id,
                symbol=order.symbol,
                side=order.side,
                request_id=f"R{self._requests}",
            )
            self._asked[order.client_order_id] = now
            self._send(status.ORDER_STATUS_REQUEST, body, order.lineage)
        return len(orders)

    def on_report(self, report: status.OrderStatusReport) -> list[OrderEvent]:
        """The events a status report (150=I) brings; finishes a mass request at its end."""
        cid = report.client_order_id
        events = self._tracker.reconcile(report) if cid else []
        self._asked.pop(cid, None)
        pending = self._mass
        if pending is None or report.mass_request_id != pending.request_id:
            return events
        pending.seen.add(cid)
        if report.last_report:  # open here, not working there: ask how each one ended
            self._mass = None
            gone = [o for o in self._tracker.open_orders() if o.client_order_id in pending.asked]
            self._request_statuses([o for o in gone if o.client_order_id not in pending.seen])
        return events

    def refused(self, reason: str) -> None:
        """The venue does not take 35=AF: fall back to 35=H per order, now and later."""
        self.mass_status = False
        self._note(f"mass status refused ({reason}); asking order by order (35=H)")
        pending, self._mass = self._mass, None
        if pending is not None:
            open_orders = self._tracker.open_orders()
            self._request_statuses([o for o in open_orders if o.client_order_id in pending.asked])

    def retry_overdue(self, now_s: float) -> None:
        """Send again what went unanswered for ``retry_s`` (see the class docstring)."""
        pending = self._mass
        if pending is not None and now_s - pending.sent_s > self._retry_s:
            self._note(f"mass status request {pending.request_id} unanswered: asking again")
            self.start()
        overdue = {cid for cid, sent in self._asked.items() if now_s - sent > self._retry_s}
        if overdue:
            for cid in overdue:
                del self._asked[cid]
            self._note(f"{len(overdue)} status request(s) unanswered: asking again")
            self._request_statuses(
                [o for o in self._tracker.open_orders() if o.client_order_id in overdue]
            )
