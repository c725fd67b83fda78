"""Feeding the hot state store (Redis) from a running session.

The state store holds the *present* of a live process — its positions, that it is alive,
the latest quotes — for dashboards and other processes; it is a cache with expiring keys,
never the record (runs, orders and fills stay in DuckDB/Postgres). So:

- Stamps come from the wall clock, not from bar time: a replay of 2020 bars after one of
  2024 bars still updates the state (the store keeps the latest *stamp*).
- A store that cannot be reached when the session starts is an error naming it (the
  configuration is wrong); one that goes away mid-session costs the cache, not the run: the
  session carries on, counts the failed writes and says so in its summary.
- Writes are paced: positions when they change (and at least every ``refresh_ns`` so their
  TTL does not lapse while nothing trades), a heartbeat at most every ``refresh_ns``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emp.ports.clock import ClockPort
from emp.ports.state_store import (
    BestBidOffer,
    Heartbeat,
    PositionsSnapshot,
    StateStorePort,
)
from emp.ports.store_errors import StoreError

if TYPE_CHECKING:
    from emp.app.containers import Container
    from emp.app.settings import EmpSettings

DEFAULT_REFRESH_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class HotStateSummary:
    """What a session wrote to the state store (for its run summary)."""

    target: str
    writes: int
    failed_writes: int
    last_error: str | None


class HotStatePublisher:
    """Writes one session's positions, heartbeat and quotes to a :class:`StateStorePort`.

    Args:
        state: the store (e.g. ``RedisStateStore``).
        clock: the wall clock that stamps every value.
        account: whose positions these are (the key of the positions snapshot).
        component: the heartbeat's name (e.g. ``replay:<run id>``).
        refresh_ns: least wall time between heartbeats / unchanged position refreshes.
        describe: how to name the store in messages (no password).
    """

    def __init__(
        self,
        state: StateStorePort,
        clock: ClockPort,
        *,
        account: str,
        component: str,
        refresh_ns: int = DEFAULT_REFRESH_NS,
        describe: str = "the state store",
    ) -> None:
        if refresh_ns <= 0:
            raise ValueError(f"refresh_ns expected > 0, was {refresh_ns}")
        self._state = state
        self._clock = clock
        self._account = account
        self._component = component
        self._refresh_ns = refresh_ns
        self._describe = describe
        self._close = getattr(state, "close", None)
        self._last_positions: dict[str, float] | None = None
        self._positions_ns: int | None = None
        self._beat_ns: int | None = None
        self._writes = 0
        self._failed = 0
        self._last_error: str | None = None

    def start(self) -> None:
        """First heartbeat, written strictly: an unreachable store here is an error."""
        now = self._clock.now_ns()
        self._state.beat(Heartbeat(component=self._component, ts_ns=now))
        self._writes += 1
        self._beat_ns = now

    def on_step(self, positions: Mapping[str, float]) -> None:
        """After a step of the session: positions if changed (or due), heartbeat if due."""
        now = self._clock.now_ns()
        current = {symbol: float(q) for symbol, q in positions.items() if q != 0}
        due_positions = self._positions_ns is None or now - self._positions_ns >= self._refresh_ns
        if current != self._last_positions or due_positions:
            snapshot = PositionsSnapshot(account=self._account, positions=current, ts_ns=now)
            if self._write(lambda: self._state.put_positions(snapshot)):
                self._last_positions = current
                self._positions_ns = now
        self._beat_if_due(now)

    def alive(self) -> None:
        """A heartbeat if one is due (sessions without positions, e.g. a subscriber)."""
        self._beat_if_due(self._clock.now_ns())

    def _beat_if_due(self, now: int) -> None:
        if self._beat_ns is None or now - self._beat_ns >= self._refresh_ns:
            beat = Heartbeat(component=self._component, ts_ns=now)
            if self._write(lambda: self._state.beat(beat)):
                self._beat_ns = now

    def on_quote(
        self, symbol: str, bid: float, bid_size: float, ask: float, ask_size: float
    ) -> None:
        """A new top of book (sessions that see quotes, e.g. market data over FIX)."""
        bbo = BestBidOffer(
            symbol=symbol,
            bid=bid,
            bid_size=bid_size,
            ask=ask,
            ask_size=ask_size,
            ts_ns=self._clock.now_ns(),
        )
        self._write(lambda: self._state.put_bbo(bbo))

    def close(self) -> None:
        """Close the store's connection (when it has one)."""
        if self._close is not None:
            self._close()

    def summary(self) -> HotStateSummary:
        return HotStateSummary(
            target=self._describe,
            writes=self._writes,
            failed_writes=self._failed,
            last_error=self._last_error,
        )

    def _write(self, call) -> bool:
        try:
            call()
        except StoreError as error:
            self._failed += 1
            self._last_error = str(error)
            return False
        self._writes += 1
        return True


@contextmanager
def session_hot_state(
    settings: EmpSettings, container: Container, *, account: str, component: str
) -> Iterator[HotStatePublisher | None]:
    """The session's publisher, started (an unreachable Redis raises here) and closed after;
    None without EMP_REDIS_URL."""
    state = container.state_store()
    if state is None:
        yield None
        return
    hot = HotStatePublisher(
        state,
        container.clock(),
        account=account,
        component=component,
        refresh_ns=int(settings.state_refresh_s * 1e9),
        describe=state.describe(),
    )
    try:
        hot.start()
        yield hot
    finally:
        hot.close()


def publishing_positions(
    progress: Callable[[int, int], None] | None,
    hot: HotStatePublisher | None,
    positions: Callable[[], Mapping[str, float]],
) -> Callable[[int, int], None] | None:
    """``progress`` (called by the engine after every step) that also publishes the
    session's ``positions()`` to ``hot``; ``progress`` itself without a publisher."""
    if hot is None:
        return progress

    def step(done: int, total: int) -> None:
        if progress is not None:
            progress(done, total)
        hot.on_step(positions())

    return step


def hot_state_summary(hot: HotStatePublisher | None) -> dict[str, Any] | None:
    """What a session's summary says about its hot state (None: not configured)."""
    if hot is None:
        return None
    summary = hot.summary()
    return {
        "target": summary.target,
        "writes": summary.writes,
        "failed_writes": summary.failed_writes,
        "last_error": summary.last_error,
    }
