"""BookSimulatedVenue: backtests on the venue simulator's matching engine, bar by bar.

The domain's :class:`~emp.domain.matching.SimulatedExchange` (a
:class:`~emp.domain.matching.MatchingEngine` behind a seeded latency model, the engine the
served FIX venue runs) does all the matching; this adapter only turns bars into market
data, decides when commands reach the market, and hands the engine's reports back as
domain events.
"""

from __future__ import annotations

import bisect
import dataclasses
import heapq
from collections.abc import Iterable, Sequence
from itertools import count

from emp.adapters.book_sim.config import BookVenueConfig
from emp.adapters.book_sim.replay import timed_bar_updates
from emp.domain.bars import Bar
from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder, VenueCommand
from emp.domain.events import OrderEvent, OrderFilled
from emp.domain.instruments import InstrumentRegistry
from emp.domain.matching import (
    BookSnapshot,
    LatencyModel,
    MarketUpdate,
    MatchingConfig,
    MatchingEngine,
    MatchReport,
    SimulatedExchange,
)
from emp.ports.clock import ClockPort

_DAY_NS = 86_400 * 1_000_000_000
_OWNER = ""


class _EntryLeg:
    """The entry half of a latency model; reports leave the engine at once and the
    venue applies the report delay itself, so session expiries queue behind them."""

    def __init__(self, model: LatencyModel) -> None:
        self._model = model

    def entry_delay_ns(self) -> int:
        return self._model.entry_delay_ns()

    def report_delay_ns(self) -> int:
        return 0


class BookSimulatedVenue:
    """A bar-driven venue on the book matching engine (implements SimulatedVenuePort).

    On each bar the displayed book of its symbol is rebuilt from the bar: ``levels``
    levels a tick apart around the open, ``spread_ticks`` wide, then half the bar's volume
    trades down to the low and half up to the high, then a book at the close, spread over
    the bar's duration (:mod:`emp.adapters.book_sim.replay`). A market order walks the
    displayed levels (a large one gets a worse average price, and what the book cannot
    fill is canceled); a limit order that does not cross rests behind the displayed size
    at its price (``queue_model``) and fills only once enough volume trades through.

    Timing: a command sent while a bar of its symbol is current is a decision on that
    bar's close, so it is sent to the market when the next bar (or :meth:`feed` update)
    of its symbol arrives, stamped with that time. A command sent while a :meth:`feed`
    update of its symbol is the latest (an instant, not an interval) leaves at that
    update's time. Either reaches the engine after the entry latency and meets the book in
    force then; reports come back after the report latency. Commands for a symbol the venue
    does not list go with the next market update of any symbol (and are rejected). Events
    carry the engine's processing time. A DAY order that is still resting when its
    symbol's UTC date changes expires.

    A bar on which the venue has nothing of ours to match (no command held or on its way,
    no order of ours resting in the symbol's book) is not replayed: the book it would
    leave behind is replaced at the next replayed bar's open, so fills are the same.

    Same config (seed included), same commands and bars: the same events.
    """

    def __init__(
        self,
        instruments: InstrumentRegistry,
        clock: ClockPort,
        config: BookVenueConfig | None = None,
    ) -> None:
        self._instruments = instruments
        self._clock = clock
        self._config = config if config is not None else BookVenueConfig()
        self._latency = self._config.latency_model()
        matching = MatchingConfig(
            queue_model=self._config.queue_model,
            commission_bps=self._config.commission_bps,
            order_id_prefix="BOOK-",
            exec_id_prefix="BOOK-E",
        )
        self.exchange = SimulatedExchange(
            MatchingEngine(instruments, matching), _EntryLeg(self._latency)
        )
        self._held: dict[str, list[VenueCommand]] = {}
        #: Per symbol whose latest market input was a fed update (not a bar): its time.
        self._fed_at: dict[str, int] = {}
        self._unlisted: list[VenueCommand] = []
        self._last_bar_ts: dict[str, int] = {}
        self._outbox: list[tuple[int, int, OrderEvent]] = []
        self._sequence = count()
        self._last_delivery = 0
        self._events: list[OrderEvent] = []
        #: Per symbol, ``(ts_ns, mid)`` of the displayed books fed (recent ones only).
        self._mids: dict[str, list[tuple[int, float]]] = {}
        #: Per ExecID of our fills: the displayed mid at or before the fill (``None`` with
        #: a one-sided book) and whether the order took liquidity (for PnL attribution).
        self.fill_liquidity: dict[str, tuple[float | None, bool]] = {}

    @property
    def config(self) -> BookVenueConfig:
        return self._config

    @property
    def engine(self) -> MatchingEngine:
        """The matching engine (its books and orders, for inspection)."""
        return self.exchange.engine

    # ------------------------------------------------------------------- the port
    def submit_order(self, command: SubmitOrder) -> None:
        self._hold(command)

    def cancel_order(self, command: CancelOrder) -> None:
        self._hold(command)

    def cancel_orders(self, commands: Sequence[CancelOrder]) -> None:
        """One :meth:`cancel_order` each, in order."""
        for command in commands:
            self.cancel_order(command)

    def replace_order(self, command: ReplaceOrder) -> None:
        self._hold(command)

    def on_bar(self, bar: Bar) -> None:
        """Replay ``bar`` on its symbol's book and process everything due by its end."""
        instrument = self._instruments.get(bar.symbol)
        if instrument is None:
            return
        previous = self._last_bar_ts.get(bar.symbol)
        if previous is not None and bar.ts_ns <= previous:
            return  # a bar the venue has already replayed
        self._last_bar_ts[bar.symbol] = bar.ts_ns
        self._fed_at.pop(bar.symbol, None)
        if self._is_idle(bar.symbol):
            return  # nothing of ours works here: the next replay's open book is the same
        duration = self._config.bar_duration_ns
        if duration is None:
            duration = 0 if previous is None else bar.ts_ns - previous
        if previous is not None and bar.ts_ns // _DAY_NS != previous // _DAY_NS:
            self._close_session(bar.symbol, bar.ts_ns - 1)
        updates = timed_bar_updates(bar, instrument, self._config, duration)
        self._market(bar.symbol, updates, bar.ts_ns, bar.ts_ns + max(duration - 1, 0))

    def feed(self, update: MarketUpdate) -> None:
        """Apply a book snapshot or trade print at its own time (between bars, or instead
        of them); commands held for its symbol are sent at that time, and those decided
        on it leave at that time too."""
        self._market(update.symbol, [update], update.ts_ns, update.ts_ns)
        self._fed_at[update.symbol] = update.ts_ns

    def drain_events(self) -> list[OrderEvent]:
        """Every event delivered since the previous drain, in delivery order."""
        events, self._events = self._events, []
        return events

    # ------------------------------------------------------------------- internals
    def _is_idle(self, symbol: str) -> bool:
        """Whether no command of ours waits to be sent or to arrive, no report waits to be
        delivered, no order of ours rests on ``symbol``'s book and no market data is
        scheduled."""
        if symbol in self._held or self._unlisted or self._outbox:
            return False
        if self.exchange.next_due_ns() is not None:
            return False
        book = self.exchange.engine.book(symbol)
        return not any(
            level.own_lots for side in (book.bids, book.asks) for level in side.levels.values()
        )

    def _hold(self, command: VenueCommand) -> None:
        symbol = command.symbol
        fed_at = self._fed_at.get(symbol)
        if fed_at is not None:  # decided on an update (or a timer after one): it leaves now
            now = max(fed_at, self._clock.now_ns(), self.exchange.now_ns or 0)
            self.exchange.send(command, owner=_OWNER, sent_ns=now)
        elif symbol in self._instruments:
            self._held.setdefault(symbol, []).append(command)
        else:
            self._unlisted.append(command)

    def _market(
        self, symbol: str, updates: Iterable[MarketUpdate], sent_ns: int, until_ns: int
    ) -> None:
        for update in updates:
            self.exchange.feed(update)
            mid = update.mid if isinstance(update, BookSnapshot) else None
            if mid is not None:
                self._mids.setdefault(update.symbol, []).append((update.ts_ns, mid))
        unlisted, self._unlisted = self._unlisted, []
        for command in [*self._held.pop(symbol, []), *unlisted]:
            self.exchange.send(command, owner=_OWNER, sent_ns=sent_ns)
        self._advance(until_ns)

    def _advance(self, ts_ns: int) -> None:
        now = self.exchange.now_ns
        target = ts_ns if now is None else max(now, ts_ns)
        for delivery in self.exchange.advance_to(target):
            report = delivery.report
            if isinstance(report, MatchReport):
                self._queue(report, delivery.delivered_ns)
        self._deliver(target)
        for mids in self._mids.values():  # later fills need only the book at `target` on
            if len(mids) > 1 and mids[1][0] <= target:
                at = bisect.bisect_right(mids, target, key=lambda entry: entry[0]) - 1
                del mids[:at]

    def _close_session(self, symbol: str, close_ns: int) -> None:
        """The symbol's trading day ended: resting DAY orders expire, then it reopens."""
        self._advance(close_ns)
        engine = self.exchange.engine
        close_at = max(close_ns, self.exchange.now_ns or close_ns)
        for report in engine.close_market(close_at, symbol):
            self._queue(report, close_at)
        engine.open_market(symbol)

    def _queue(self, report: MatchReport, produced_ns: int) -> None:
        event = report.event
        if isinstance(event, OrderFilled) and report.owner == _OWNER:
            fill = event.fill
            self.fill_liquidity[fill.exec_id] = (
                self._mid_at(fill.symbol, fill.ts_ns),
                report.aggressive,
            )
        deliver = max(produced_ns + self._latency.report_delay_ns(), self._last_delivery)
        self._last_delivery = deliver
        heapq.heappush(self._outbox, (deliver, next(self._sequence), self._event(report)))

    def _mid_at(self, symbol: str, ts_ns: int) -> float | None:
        """The mid of the last two-sided book fed at or before ``ts_ns`` (older ones are
        dropped as the venue advances: see :meth:`_advance`)."""
        mids = self._mids.get(symbol)
        if not mids:
            return None
        at = bisect.bisect_right(mids, ts_ns, key=lambda entry: entry[0]) - 1
        return mids[at][1] if at >= 0 else None

    def _deliver(self, ts_ns: int) -> None:
        while self._outbox and self._outbox[0][0] <= ts_ns:
            self._events.append(heapq.heappop(self._outbox)[2])

    def _event(self, report: MatchReport) -> OrderEvent:
        event = report.event
        if isinstance(event, OrderFilled):
            fill = event.fill
            fee = self._config.commission(fill.quantity, fill.price)
            if fee != fill.fee:
                return OrderFilled(fill=dataclasses.replace(fill, fee=fee))
        return event
