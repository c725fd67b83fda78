"""BookSynchronizer: market-data messages → books, with gap detection and recovery.

Per instrument a small state machine::

    AWAITING_SNAPSHOT --W--> LIVE --gap / bad message / inconsistency--> STALE --W--> LIVE

* **MsgSeqNum (34)**: a message numbered above the next expected one means messages were
  lost and nobody can say which books they touched, so *every* instrument goes stale. A
  message numbered below it is a duplicate and is ignored.
* **RptSeq (83)**: each bid/offer/trade entry of an instrument carries the next number of
  that instrument's series. An entry above the next expected number marks the instrument
  stale; entries below it are duplicates and are dropped.
* **Stale**: the book keeps its last contents but :meth:`BookSynchronizer.is_stale` says
  so; increments are buffered (up to ``max_buffered`` messages) and one
  :class:`~emp.domain.market_data.SnapshotRequested` is recorded.
* **Recovery**: a snapshot rebuilds the book from scratch; buffered increments whose
  RptSeq is newer than the snapshot's are replayed in order. If they do not continue the
  snapshot's series without a hole, the instrument stays stale and a new snapshot is
  requested. A snapshot without RptSeq cannot be ordered against the buffer, so the
  buffer is dropped and the snapshot alone is trusted.
* A snapshot older than the live book (its RptSeq below the last applied one) is ignored.

The synchronizer records events (stale, snapshot requested, recovered, trades); the
runtime drains them with :meth:`BookSynchronizer.drain_events` and forwards snapshot
requests to the feed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from emp.domain.books.errors import BookInconsistent
from emp.domain.books.fast_path import FastPathState, KernelTrades, commit_state, export_state
from emp.domain.books.l2 import L2Book
from emp.domain.books.l3 import L3Book
from emp.domain.errors import UnknownInstrument
from emp.domain.instruments import Instrument
from emp.domain.market_data import (
    ABSENT,
    BookEvent,
    EntryType,
    InstrumentRecovered,
    InstrumentWentStale,
    MarketDataMessage,
    MdEntries,
    MdIncrement,
    MdMessageQuarantined,
    MdOtherMessage,
    MdRequestRejected,
    MdSnapshot,
    SnapshotRequested,
    TradeReported,
)


class FeedState(Enum):
    """Where one instrument's book stands."""

    AWAITING_SNAPSHOT = "awaiting_snapshot"
    LIVE = "live"
    STALE = "stale"


@dataclass(frozen=True, slots=True, kw_only=True)
class BookConfig:
    """How books are built.

    Attributes:
        grid_capacity: ticks covered by each side's fast-path grid.
        max_depth: drop levels beyond this rank (depth-limited feeds); None keeps all.
        max_buffered: increments buffered per stale instrument before the oldest go.
        check_msg_seq_num: treat a MsgSeqNum gap as lost data (off for streams merged
            from several sessions).
    """

    grid_capacity: int = 4096
    max_depth: int | None = None
    max_buffered: int = 100_000
    check_msg_seq_num: bool = True


@dataclass(slots=True, eq=False)
class _Feed:
    book: L2Book | L3Book
    state: FeedState = FeedState.AWAITING_SNAPSHOT
    next_rpt: int | None = None
    requested: bool = False
    buffer: deque[tuple[int, int, MdEntries]] = field(default_factory=deque)


@dataclass(slots=True)
class SyncStats:
    """Counters for reports: messages and entries applied, gaps, recoveries, ..."""

    messages: int = 0
    entries: int = 0
    duplicates: int = 0
    gaps: int = 0
    inconsistencies: int = 0
    quarantined: int = 0
    recoveries: int = 0
    ignored_entries: int = 0
    rejected_requests: int = 0


class BookSynchronizer:
    """Keeps one book per instrument true to a feed, or says it is stale.

    Args:
        instruments: symbol → instrument (tick size); entries for other symbols are
            counted in ``stats.ignored_entries`` and otherwise ignored.
        config: book and buffering settings.
    """

    def __init__(
        self, instruments: Mapping[str, Instrument], *, config: BookConfig | None = None
    ) -> None:
        self._instruments = instruments
        self._config = config or BookConfig()
        self._feeds: dict[str, _Feed] = {}
        self._events: list[BookEvent] = []
        self._next_seq: int | None = None
        self.stats = SyncStats()

    # ------------------------------------------------------------------------- reads
    def book(self, symbol: str) -> L2Book:
        """The price-level book of ``symbol`` (the aggregate, for an order-level feed)."""
        book = self._feed(symbol).book
        return book.levels if isinstance(book, L3Book) else book

    def order_book(self, symbol: str) -> L3Book | None:
        book = self._feed(symbol).book
        return book if isinstance(book, L3Book) else None

    def state(self, symbol: str) -> FeedState:
        return self._feed(symbol).state

    def is_stale(self, symbol: str) -> bool:
        """True unless the book is LIVE (stale, or no snapshot yet)."""
        return self._feed(symbol).state is not FeedState.LIVE

    @property
    def symbols(self) -> list[str]:
        return list(self._feeds)

    def drain_events(self) -> list[BookEvent]:
        events, self._events = self._events, []
        return events

    def peek_events(self) -> list[BookEvent]:
        """The events recorded since the last :meth:`drain_events`, left in place."""
        return list(self._events)

    # ------------------------------------------------------------- compiled fast path
    def export_fast_path(self, extra_symbols: Sequence[str] = ()) -> FastPathState:
        """This synchronizer as arrays for a compiled kernel (see :mod:`.fast_path`)."""
        return export_state(self, extra_symbols)

    def commit_fast_path(self, fast: FastPathState, trades: KernelTrades | None = None) -> None:
        """Adopt what a kernel did to an :meth:`export_fast_path` state."""
        commit_state(self, fast, trades)

    # ---------------------------------------------------------------------- messages
    def on_message(self, message: MarketDataMessage) -> None:
        if isinstance(message, MdIncrement):
            self.on_increment(message)
        elif isinstance(message, MdSnapshot):
            self.on_snapshot(message)
        elif isinstance(message, MdMessageQuarantined):
            self.on_quarantined(message)
        elif isinstance(message, MdRequestRejected):
            self.stats.rejected_requests += 1
            self._accept_seq(message.seq_num)
        elif isinstance(message, MdOtherMessage):
            self._accept_seq(message.seq_num)

    def on_increment(self, message: MdIncrement) -> None:
        if not self._accept_seq(message.seq_num):
            return
        entries = message.entries
        symbols = entries.symbols
        n = len(symbols)
        self.stats.messages += 1
        if n == 0:
            return
        first = symbols[0]
        if symbols.count(first) == n:
            self._increment(first, entries, message)
            return
        by_symbol: dict[str, list[int]] = {}
        for i, symbol in enumerate(symbols):
            by_symbol.setdefault(symbol, []).append(i)
        for symbol, indices in by_symbol.items():
            self._increment(symbol, entries.select(indices), message)

    def on_snapshot(self, message: MdSnapshot) -> None:
        if not self._accept_seq(message.seq_num):
            return
        self.stats.messages += 1
        feed = self._feed_or_none(message.symbol)
        if feed is None:
            self.stats.ignored_entries += len(message.entries)
            return
        rpt = message.rpt_seq
        if (
            feed.state is FeedState.LIVE
            and rpt is not None
            and feed.next_rpt is not None
            and rpt < feed.next_rpt - 1
        ):
            return  # older than what the live book already shows
        was_stale = feed.state is FeedState.STALE
        try:
            book = self._rebuild(feed, message)
        except BookInconsistent as error:
            self._go_stale(
                message.symbol, feed, f"bad snapshot: {error}", message.seq_num, again=True
            )
            return
        self.stats.entries += len(message.entries)
        self._report_trades(message.symbol, message.entries, message.ts_ns)
        replayed = 0
        if rpt is None:
            feed.buffer.clear()
            feed.next_rpt = None
        else:
            feed.next_rpt = rpt + 1
            try:
                replayed = self._replay_buffer(message.symbol, feed, book)
            except BookInconsistent as error:
                self._go_stale(message.symbol, feed, str(error), message.seq_num, again=True)
                return
            if feed.buffer:  # a hole right after the snapshot: still not whole
                self._go_stale(
                    message.symbol,
                    feed,
                    f"RptSeq gap after snapshot: expected {feed.next_rpt}, "
                    f"was {self._first_rpt(feed.buffer[0][2])}",
                    message.seq_num,
                    again=True,
                )
                return
        feed.state = FeedState.LIVE
        feed.requested = False
        if was_stale:
            self.stats.recoveries += 1
            self._events.append(
                InstrumentRecovered(
                    symbol=message.symbol, seq_num=message.seq_num, replayed=replayed
                )
            )

    def on_quarantined(self, message: MdMessageQuarantined) -> None:
        """A message could not be read: the books it may have touched go stale."""
        self.stats.quarantined += 1
        if message.seq_num is not None:
            self._accept_seq(message.seq_num)
        reason = f"malformed message quarantined: {message.reason}"
        named = [s for s in message.symbols if self._feed_or_none(s) is not None]
        for symbol in named or list(self._feeds):
            self._go_stale(symbol, self._feeds[symbol], reason, message.seq_num)

    # ------------------------------------------------------------------------ helpers
    def _accept_seq(self, seq_num: int) -> bool:
        if not self._config.check_msg_seq_num:
            return True
        expected = self._next_seq
        if expected is not None and seq_num != expected:
            if seq_num < expected:
                self.stats.duplicates += 1
                return False
            self.stats.gaps += 1
            reason = f"MsgSeqNum gap: expected {expected}, was {seq_num}"
            for symbol, feed in self._feeds.items():
                if feed.state is FeedState.LIVE:
                    self._go_stale(symbol, feed, reason, seq_num)
        self._next_seq = seq_num + 1
        return True

    def _increment(self, symbol: str, entries: MdEntries, message: MdIncrement) -> None:
        feed = self._feeds.get(symbol) or self._feed_or_none(symbol)
        if feed is None:
            self.stats.ignored_entries += len(entries)
            return
        rpts = entries.rpt_seqs
        if feed.state is not FeedState.LIVE:
            self._buffer(symbol, feed, message, entries)
            return
        if rpts is not None and rpts[0] != ABSENT:
            expected = feed.next_rpt
            first = rpts[0]
            n = len(rpts)
            if expected is not None and first != expected:
                if first < expected:
                    keep = [i for i, r in enumerate(rpts) if r >= expected]
                    self.stats.duplicates += n - len(keep)
                    if not keep:
                        return
                    entries = entries.select(keep)
                    rpts = entries.rpt_seqs
                    assert rpts is not None
                    first, n = rpts[0], len(keep)
                if first != expected:
                    self.stats.gaps += 1
                    reason = f"RptSeq gap: expected {expected}, was {first}"
                    self._go_stale(symbol, feed, reason, message.seq_num)
                    self._buffer(symbol, feed, message, entries)
                    return
            if rpts[n - 1] != first + n - 1 or (
                n > 2 and list(rpts) != list(range(first, first + n))
            ):
                self._go_stale(
                    symbol, feed, "RptSeq not consecutive within a message", message.seq_num
                )
                return
            feed.next_rpt = first + n
        if entries.entry_ids is not None and not isinstance(feed.book, L3Book):
            self._maybe_order_level(feed, entries)
        try:
            self._apply(feed.book, entries)
        except BookInconsistent as error:
            self.stats.inconsistencies += 1
            self._go_stale(symbol, feed, str(error), message.seq_num)
            return
        self.stats.entries += len(entries)
        if EntryType.TRADE in entries.types:
            self._report_trades(symbol, entries, message.ts_ns)

    def _maybe_order_level(self, feed: _Feed, entries: MdEntries) -> None:
        """An empty price-level book meeting order ids becomes an order-level book."""
        book = feed.book
        assert isinstance(book, L2Book) and entries.entry_ids is not None
        empty = not book.level_count(EntryType.BID) and not book.level_count(EntryType.OFFER)
        if empty and any(entries.entry_ids):
            feed.book = self._new_book(book.instrument, True)

    @staticmethod
    def _apply(book: L2Book | L3Book, entries: MdEntries) -> None:
        if isinstance(book, L3Book):
            ids = entries.entry_ids or [""] * len(entries)
            book.apply_entries(entries.actions, entries.types, entries.prices, entries.sizes, ids)
        else:
            book.apply_entries(
                entries.actions, entries.types, entries.prices, entries.sizes, entries.levels
            )

    def _rebuild(self, feed: _Feed, message: MdSnapshot) -> L2Book | L3Book:
        entries = message.entries
        order_level = entries.entry_ids is not None and any(
            entries.entry_ids[i] for i, t in enumerate(entries.types) if t != EntryType.TRADE
        )
        if len(entries) and order_level != isinstance(feed.book, L3Book):
            feed.book = self._new_book(feed.book.instrument, order_level)
        book = feed.book
        book.clear()
        if isinstance(book, L3Book):
            assert entries.entry_ids is not None
            book.apply_entries(
                entries.actions, entries.types, entries.prices, entries.sizes, entries.entry_ids
            )
        else:
            # MDPriceLevel in a snapshot only restates the order; ranks are not re-checked.
            book.apply_entries(entries.actions, entries.types, entries.prices, entries.sizes)
        return book

    def _replay_buffer(self, symbol: str, feed: _Feed, book: L2Book | L3Book) -> int:
        replayed = 0
        buffer = feed.buffer
        while buffer:
            _seq, _ts, entries = buffer[0]
            rpts = entries.rpt_seqs
            expected = feed.next_rpt
            assert expected is not None
            if rpts is None or rpts[0] == ABSENT:
                buffer.popleft()  # cannot be placed against the snapshot
                continue
            keep = [i for i, r in enumerate(rpts) if r >= expected]
            if not keep:
                buffer.popleft()
                continue
            if rpts[keep[0]] != expected:
                return replayed  # hole: stays in the buffer
            buffer.popleft()
            newer = entries.select(keep) if len(keep) != len(rpts) else entries
            self._apply(book, newer)
            self._report_trades(symbol, newer, _ts)
            assert newer.rpt_seqs is not None
            feed.next_rpt = newer.rpt_seqs[-1] + 1
            replayed += len(newer)
        return replayed

    def _buffer(self, symbol: str, feed: _Feed, message: MdIncrement, entries: MdEntries) -> None:
        if len(feed.buffer) >= self._config.max_buffered:
            feed.buffer.popleft()
        feed.buffer.append((message.seq_num, message.ts_ns, entries))
        if not feed.requested:
            feed.requested = True
            self._events.append(SnapshotRequested(symbol=symbol))

    def _go_stale(
        self, symbol: str, feed: _Feed, reason: str, seq_num: int | None, *, again: bool = False
    ) -> None:
        """Mark stale; request a snapshot unless one is pending (``again``: re-request)."""
        if feed.state is FeedState.LIVE:
            self._events.append(InstrumentWentStale(symbol=symbol, reason=reason, seq_num=seq_num))
        feed.state = FeedState.STALE
        if again or not feed.requested:
            feed.requested = True
            self._events.append(SnapshotRequested(symbol=symbol))

    def _report_trades(self, symbol: str, entries: MdEntries, ts_ns: int) -> None:
        for t, price, size in zip(entries.types, entries.prices, entries.sizes, strict=True):
            if t == EntryType.TRADE:
                self._events.append(
                    TradeReported(symbol=symbol, price=price, size=size, ts_ns=ts_ns)
                )

    @staticmethod
    def _first_rpt(entries: MdEntries) -> int | None:
        return entries.rpt_seqs[0] if entries.rpt_seqs else None

    def _new_book(self, instrument: Instrument, order_level: bool) -> L2Book | L3Book:
        if order_level:
            return L3Book(instrument, grid_capacity=self._config.grid_capacity)
        return L2Book(
            instrument,
            grid_capacity=self._config.grid_capacity,
            max_depth=self._config.max_depth,
        )

    def _feed_or_none(self, symbol: str) -> _Feed | None:
        feed = self._feeds.get(symbol)
        if feed is None:
            instrument = self._instruments.get(symbol)
            if instrument is None:
                return None
            feed = self._feeds[symbol] = _Feed(book=self._new_book(instrument, False))
        return feed

    def _feed(self, symbol: str) -> _Feed:
        feed = self._feed_or_none(symbol)
        if feed is None:
            known = ", ".join(sorted(self._instruments)) or "none"
            raise UnknownInstrument(f"no book for {symbol!r}; known instruments: {known}")
        return feed
