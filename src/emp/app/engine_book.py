"""Book updates inside the event engine: a time-ordered stream merged with the bars.

:class:`BookPath` is the half of :class:`~emp.app.engine.BarEventEngine` that handles book
data (:data:`~emp.domain.matching.MarketUpdate`: :class:`~emp.domain.matching.BookSnapshot`
and :class:`~emp.domain.matching.TradePrint`), given as ``book_updates``. Updates and bars
are merged by timestamp; an update at or before a bar's time comes before that bar's step
(so a bar sees the book as it stood at its time), updates at one time in the order given.
Per update:

1. the clock advances to the update's time; the venue applies it when it takes book data
   (a ``feed`` method: :class:`~emp.adapters.book_sim.BookSimulatedVenue`), which is when
   it sends commands held for the symbol and matches what is due; a bar venue ignores it;
2. venue events update orders, the portfolio and the trade log;
3. the portfolio is marked at the snapshot's mid (both sides shown) or the trade's price;
4. the risk layer steps (as on a bar) and the strategy's
   :meth:`~emp.domain.strategy.Strategy.on_book` returns intents, routed through the same
   order path as a bar's (instrument, account and risk checks, then the venue);
5. equity and exposure are recorded — one point per timestamp: updates sharing a time
   give one point, and an update at a bar's time leaves the point to the bar.

A run's timeline is then the union of the bar and update timestamps; with no bars (a
book-only run) it is the updates' times. Updates must come in time order
(:class:`~emp.domain.matching.InvalidMarketData` otherwise), for instruments of the run.
Without book updates none of this runs: the bar loops and their quiet-stretch fast path
are untouched (the engine turns the fast path off only when book updates are given).

On the book venue, a command decided on an update leaves at that update's time (one
decided on a bar goes with the symbol's next bar or update: the venue holds it until
then) and reaches the matching engine after the entry latency.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np

from emp.app.engine_account import AccountKeeper
from emp.app.engine_steps import bars_by_step
from emp.domain.bars import BarSeries
from emp.domain.instruments import InstrumentRegistry
from emp.domain.matching import BookSnapshot, InvalidMarketData, MarketUpdate, TradePrint
from emp.domain.orders import Order
from emp.domain.portfolio import Portfolio
from emp.domain.strategy import OrderIntent, Strategy, StrategyContext
from emp.ports.settable_clock import SettableClockPort
from emp.ports.simulated_venue import SimulatedVenuePort

ProgressCallback = Callable[[int, int], None]
#: Equity points: (timestamps, equity, gross exposure) of a stretch of the timeline.
Segment = tuple[np.ndarray, np.ndarray, np.ndarray]
_BLOCK = 4096


def update_price(update: MarketUpdate) -> float | None:
    """The price an update marks its instrument at: a snapshot's mid (both sides shown) or
    a trade's price; ``None`` for a one-sided or empty snapshot."""
    return update.price if isinstance(update, TradePrint) else update.mid


class BookStream:
    """The updates not yet run, one ahead (``next_ts``), checked for order and symbols."""

    def __init__(self, updates: Iterable[MarketUpdate], instruments: InstrumentRegistry) -> None:
        self._updates: Iterator[MarketUpdate] = iter(updates)
        self._instruments = instruments
        self._head: MarketUpdate | None = None
        self._last_ts: int | None = None
        self.count = 0
        self._pull()

    @property
    def next_ts(self) -> int | None:
        """The time of the next update, ``None`` once every update has run."""
        return None if self._head is None else self._head.ts_ns

    def pop(self) -> MarketUpdate:
        head = self._head
        if head is None:  # pragma: no cover - callers check next_ts first
            raise InvalidMarketData("expected another book update, the stream has ended")
        self._pull()
        return head

    def _pull(self) -> None:
        update = next(self._updates, None)
        if update is not None:
            if not isinstance(update, BookSnapshot | TradePrint):
                raise InvalidMarketData(
                    f"expected a BookSnapshot or TradePrint, was {type(update).__name__}"
                )
            self._instruments[update.symbol]  # raises UnknownInstrument
            if self._last_ts is not None and update.ts_ns < self._last_ts:
                raise InvalidMarketData(
                    f"expected book updates in time order, ts_ns {update.ts_ns} follows "
                    f"{self._last_ts}"
                )
            self._last_ts = update.ts_ns
            self.count += 1
        self._head = update


class BookPath:
    """Runs bars and book updates merged by time, over the engine's state (module doc)."""

    _instruments: InstrumentRegistry
    _strategy: Strategy
    _venue: SimulatedVenuePort
    _clock: SettableClockPort
    _portfolio: Portfolio
    _ctx: StrategyContext
    _keeper: AccountKeeper
    _working: dict[str, Order]
    _fills: list
    _book: BookStream | None
    _run_steps: Callable[..., None]
    _risk_step: Callable[..., None]
    _route_at: Callable[[OrderIntent, float | None, int], None]
    _process_events: Callable[[], None]
    _execute: Callable[..., None]
    _strategy_error: Callable[..., Exception]
    _fire_timers: Callable[[int], None]

    def _book_window(
        self,
        bars: Mapping[str, BarSeries],
        timeline: np.ndarray,
        progress: ProgressCallback | None,
        done: int,
        total: int | None,
    ) -> Segment:
        """One window of bars with the updates due up to its last bar, merged."""
        book = self._book
        assert book is not None
        segments: list[Segment] = []
        symbols = sorted(bars)
        slots = {s: np.searchsorted(timeline, bars[s].ts_ns) for s in symbols}
        n = int(timeline.shape[0])
        for start in range(0, n, _BLOCK):
            stop = min(start + _BLOCK, n)
            steps = bars_by_step(bars, symbols, slots, start, stop)
            times = timeline[start:stop].tolist()
            i = 0
            while i < len(times):
                next_ts = book.next_ts
                if next_ts is not None and next_ts <= times[i]:
                    segments.append(self._book_until(times[i], bar_ts=times[i]))
                    next_ts = book.next_ts
                j = len(times) if next_ts is None else bisect_left(times, next_ts, i + 1)
                equity, gross = np.empty(j - i), np.empty(j - i)
                self._run_steps(times[i:j], steps[i:j], equity, gross, 0, None, done, total)
                segments.append((timeline[start + i : start + j], equity, gross))
                i = j
                if progress is not None:
                    at = done + start + i
                    progress(at, total if total is not None else at)
        return _joined(segments)

    def _book_rest(self) -> Segment:
        """Every update left after the last bar (all of them in a book-only run)."""
        return self._book_until(None, bar_ts=None)

    def _book_until(self, limit: int | None, *, bar_ts: int | None) -> Segment:
        """Run the updates at or before ``limit`` (all when ``None``); one equity point per
        timestamp, except at ``bar_ts``, whose point the bar records."""
        book = self._book
        assert book is not None
        # typed arrays: 8 bytes a point (a list holds a boxed int or float per point)
        ts_out = array("q")
        equity_out = array("d")
        gross_out = array("d")
        while book.next_ts is not None and (limit is None or book.next_ts <= limit):
            update = book.pop()
            ts = update.ts_ns
            value = self._book_step(update)
            if ts != book.next_ts and ts != bar_ts:
                ts_out.append(ts)
                equity_out.append(value[0])
                gross_out.append(value[1])
        return (
            np.frombuffer(ts_out, dtype=np.int64).copy(),
            np.frombuffer(equity_out, dtype=float).copy(),
            np.frombuffer(gross_out, dtype=float).copy(),
        )

    def _book_step(self, update: MarketUpdate) -> tuple[float, float]:
        """The module doc's five steps for one update; returns (equity, gross exposure)."""
        ts = update.ts_ns
        timers = self._ctx.timers.pending
        if timers and timers[0][0] <= ts:  # the strategy's timers due by now fire first
            self._fire_timers(ts)
        self._clock.advance_to(ts)
        ctx = self._ctx
        ctx.ts_ns = ts
        keeper = self._keeper if self._keeper.per_bar else None
        if keeper is not None:
            keeper.before_bar(ts)
        feed = getattr(self._venue, "feed", None)
        if feed is not None:
            feed(update)
        working = self._working
        if working:
            self._process_events()
        portfolio = self._portfolio
        price = update_price(update)
        if price is not None:
            portfolio.mark(update.symbol, price)
        fills = self._fills
        booked = len(fills)
        value = portfolio.valuation()
        self._risk_step(ts, value[0], [update])
        try:
            intents = self._strategy.on_book(update, ctx)
        except Exception as error:
            raise self._strategy_error("on_book", error, update) from error
        if intents:
            for intent in intents:
                self._route_at(intent, price if intent.symbol == update.symbol else None, ts)
        if working:
            self._process_events()
        if len(fills) != booked:
            value = portfolio.valuation()
        if keeper is not None:
            liquidation = keeper.after_bar(ts, value[0], value[1], working)
            if liquidation:
                self._execute(liquidation, ts)
        return value


def _joined(segments: list[Segment]) -> Segment:
    if not segments:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    return (
        np.concatenate([s[0] for s in segments]),
        np.concatenate([s[1] for s in segments]),
        np.concatenate([s[2] for s in segments]),
    )
