"""The synchronizer's state as numpy arrays, for a compiled fast path to run on.

A compiled kernel (in an adapter: the domain stays numpy-only) can apply the common case
of a market-data stream — in-sequence increments and snapshots of live price-level books
on their tick grid — much faster than Python, and hand every other case back. The
protocol:

1. :func:`export_state` describes the :class:`~emp.domain.books.sync.BookSynchronizer`
   as arrays: one *slot* per symbol with its kind (:data:`KIND_GRID`: the kernel may
   update it; :data:`KIND_IGNORED`: no such instrument, entries are only counted;
   :data:`KIND_PYTHON`: hand the message back), feed state, next RptSeq, and the book's
   grid (:attr:`~emp.domain.books.l2.L2Book.grid`, the very storage of the book, written
   in place) with its (origin, count, best) per side.
2. The kernel applies messages exactly as the synchronizer would, updating those arrays,
   and stops at the first message it cannot take (a gap, a stale book, a malformed
   message, an unusual group, a book inconsistency — that message's own changes undone).
3. :func:`commit_state` writes the arrays back: MsgSeqNum, RptSeq and state of the slots
   the kernel touched, the grid metadata of their books, the counters, and the trades
   as :class:`~emp.domain.market_data.TradeReported` events. The message it stopped at
   then goes through :meth:`BookSynchronizer.on_message` as usual.

The kernel never produces another event, so the synchronizer's events stay in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from emp.domain.books.l2 import L2Book
from emp.domain.market_data import TradeReported

if TYPE_CHECKING:
    from emp.domain.books.sync import BookSynchronizer

#: Slot kinds.
KIND_PYTHON, KIND_GRID, KIND_IGNORED = 0, 1, 2
#: Feed states as codes (``FeedState`` order).
AWAITING, LIVE, STALE = 0, 1, 2
#: ``next_rpt`` / ``next_seq`` value meaning "none expected yet".
NONE = -1
#: Counter indices.
MESSAGES, ENTRIES, DUPLICATES, IGNORED_ENTRIES = 0, 1, 2, 3

_EMPTY_GRID = np.zeros((2, 1))


@dataclass(slots=True, eq=False)
class FastPathState:
    """One export of a synchronizer: per-slot arrays (index = slot) and stream counters.

    Attributes:
        symbols: the symbol of each slot.
        symbol_bytes, symbol_offsets: the UTF-8 symbols concatenated; slot ``i`` is
            ``symbol_bytes[symbol_offsets[i]:symbol_offsets[i + 1]]``.
        kind: :data:`KIND_PYTHON`, :data:`KIND_GRID` or :data:`KIND_IGNORED`.
        state: :data:`AWAITING`, :data:`LIVE` or :data:`STALE`.
        next_rpt: the RptSeq the next entry must carry, :data:`NONE` if any.
        snapshot_ok: 1 when a snapshot may be applied without the synchronizer (the
            book is live, or awaits its first snapshot with nothing buffered).
        crossing: 1 when the book is in a declared locked/crossed state.
        inv_tick: 1 / tick size.
        meta: ``(n, 6)``: origin, count, best of bids then offers (``L2Book.grid_meta``).
        grids: each slot's ``(2, capacity)`` grid (a dummy for non-grid slots).
        seq: ``[next MsgSeqNum or NONE, 1 if MsgSeqNum is checked]``.
        counters: messages, entries, duplicates, ignored entries added by the kernel.
        touched: 1 for the slots whose state the kernel changed.
    """

    symbols: list[str]
    symbol_bytes: np.ndarray
    symbol_offsets: np.ndarray
    kind: np.ndarray
    state: np.ndarray
    next_rpt: np.ndarray
    snapshot_ok: np.ndarray
    crossing: np.ndarray
    inv_tick: np.ndarray
    meta: np.ndarray
    grids: list[np.ndarray]
    seq: np.ndarray
    counters: np.ndarray
    touched: np.ndarray

    def slot(self, symbol: str) -> int:
        return self.symbols.index(symbol)


def export_state(sync: BookSynchronizer, extra_symbols: Sequence[str] = ()) -> FastPathState:
    """The synchronizer's feeds (and ``extra_symbols`` it has no feed for) as arrays."""
    from emp.domain.books.sync import FeedState

    feeds = sync._feeds
    symbols = list(feeds) + [s for s in dict.fromkeys(extra_symbols) if s not in feeds]
    n = len(symbols)
    encoded = [s.encode("utf-8") for s in symbols]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    kind = np.zeros(n, dtype=np.int8)
    state = np.zeros(n, dtype=np.int8)
    next_rpt = np.full(n, NONE, dtype=np.int64)
    snapshot_ok = np.zeros(n, dtype=np.int8)
    crossing = np.zeros(n, dtype=np.int8)
    inv_tick = np.ones(n)
    meta = np.zeros((n, 6), dtype=np.int64)
    grids: list[np.ndarray] = []
    codes = {FeedState.AWAITING_SNAPSHOT: AWAITING, FeedState.LIVE: LIVE, FeedState.STALE: STALE}
    for i, symbol in enumerate(symbols):
        feed = feeds.get(symbol)
        grid = _EMPTY_GRID
        if feed is None:
            if sync._instruments.get(symbol) is None:
                kind[i] = KIND_IGNORED
        else:
            state[i] = codes[feed.state]
            next_rpt[i] = NONE if feed.next_rpt is None else feed.next_rpt
            book = feed.book
            layout = book.grid_meta() if isinstance(book, L2Book) else None
            if layout is not None and isinstance(book, L2Book) and book.max_depth is None:
                kind[i] = KIND_GRID
                meta[i] = layout
                grid = book.grid
                crossing[i] = book.crossing_declared
                inv_tick[i] = 1.0 / book.tick_size
                snapshot_ok[i] = feed.state is FeedState.LIVE or (
                    feed.state is FeedState.AWAITING_SNAPSHOT
                    and not feed.buffer
                    and not feed.requested
                )
        grids.append(grid)
    next_seq = sync._next_seq
    return FastPathState(
        symbols=symbols,
        symbol_bytes=np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(),
        symbol_offsets=offsets,
        kind=kind,
        state=state,
        next_rpt=next_rpt,
        snapshot_ok=snapshot_ok,
        crossing=crossing,
        inv_tick=inv_tick,
        meta=meta,
        grids=grids,
        seq=np.array(
            [NONE if next_seq is None else next_seq, int(sync._config.check_msg_seq_num)],
            dtype=np.int64,
        ),
        counters=np.zeros(4, dtype=np.int64),
        touched=np.zeros(n, dtype=np.int8),
    )


@dataclass(frozen=True, slots=True, eq=False)
class KernelTrades:
    """Trade entries the kernel applied, in order: slot, price, size, message time."""

    slots: np.ndarray
    prices: np.ndarray
    sizes: np.ndarray
    ts_ns: np.ndarray


def commit_state(
    sync: BookSynchronizer, fast: FastPathState, trades: KernelTrades | None = None
) -> None:
    """Adopt what the kernel did (see the module docstring); call once per export."""
    from emp.domain.books.sync import FeedState

    states = (FeedState.AWAITING_SNAPSHOT, FeedState.LIVE, FeedState.STALE)
    if fast.seq[1]:
        sync._next_seq = None if fast.seq[0] == NONE else int(fast.seq[0])
    stats = sync.stats
    counters = fast.counters.tolist()
    stats.messages += counters[MESSAGES]
    stats.entries += counters[ENTRIES]
    stats.duplicates += counters[DUPLICATES]
    stats.ignored_entries += counters[IGNORED_ENTRIES]
    for i in np.flatnonzero(fast.touched).tolist():
        feed = sync._feeds[fast.symbols[i]]
        feed.state = states[int(fast.state[i])]
        rpt = int(fast.next_rpt[i])
        feed.next_rpt = None if rpt == NONE else rpt
        if feed.state is FeedState.LIVE:
            feed.requested = False
        book = feed.book
        assert isinstance(book, L2Book)
        book.set_grid_meta(fast.meta[i].tolist())
    if trades is not None and len(trades.slots):
        symbols = fast.symbols
        sync._events.extend(
            TradeReported(symbol=symbols[s], price=p, size=q, ts_ns=t)
            for s, p, q, t in zip(
                trades.slots.tolist(),
                trades.prices.tolist(),
                trades.sizes.tolist(),
                trades.ts_ns.tolist(),
                strict=True,
            )
        )
