"""Raw FIX market data → books at memory speed: the compiled decode-and-apply kernel.

:class:`KernelBookFeed` takes a buffer holding many raw messages (one per line as
recordings have them, SOH or ``|`` separated, or back-to-back) and feeds a
:class:`~emp.domain.books.BookSynchronizer`. A numba kernel
(:mod:`.md_kernel_parse`, :mod:`.md_kernel_apply`) frames, validates and decodes each
35=W / 35=X exactly as :func:`~emp.adapters.fix_codec.md_decode.decode_md` does, turns
prices into ticks and writes the entries straight into the books' grid arrays
(:attr:`~emp.domain.books.L2Book.grid`), recording the BBO after every message. No Python
object is made per message.

The kernel handles the common case only and hands every other message back, leaving the
books exactly as before that message: a malformed message (the kernel names the tag and
the byte offset; Python re-decodes it, so the quarantined ``MdDecodeError`` text is the
Python decoder's), a MsgSeqNum or RptSeq gap, a stale book, an unknown instrument, an
order-level or depth-limited book, a level outside the grid window, a book
inconsistency, other message types, and rare-but-legal FIX (see
:mod:`.md_kernel_parse`). Such a message goes through
:func:`~emp.adapters.fix_codec.md_session.decode_market_data` and
:meth:`BookSynchronizer.on_message` — quarantine, stale marking, snapshot requests and
recovery are the synchronizer's own — and the kernel resumes after it.

numba compiles on the first call (``cache=True`` keeps the machine code in
``__pycache__``, so later processes load it); importing this module does not import numba.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType

import numpy as np

from emp.adapters.fix_codec.md_decode import decode_md
from emp.adapters.fix_codec.md_errors import MdDecodeError
from emp.adapters.fix_codec.md_session import decode_market_data
from emp.domain.books import BookSynchronizer, KernelTrades
from emp.domain.books.fast_path import KIND_PYTHON
from emp.domain.features.how import BookFrames
from emp.domain.market_data import (
    MarketDataMessage,
    MdIncrement,
    MdMessageQuarantined,
    MdSnapshot,
)

#: Per-message outcomes in :attr:`KernelRun.status`.
APPLIED, DUPLICATE, IGNORED, PYTHON = 0, 1, 2, 3
#: :attr:`KernelRun.bid_tick` / ``ask_tick`` of an empty side (or no book).
NO_TICK = -(2**62)
_VERDICTS = ("ok", "error", "handback", "other")


@cache
def _compiled() -> tuple[ModuleType, ModuleType]:
    """The numba modules, imported (and compiled on first call) only when used."""
    from emp.adapters.fix_codec import md_kernel_apply, md_kernel_parse

    return md_kernel_parse, md_kernel_apply


@dataclass(frozen=True, slots=True)
class KernelVerdict:
    """What the kernel makes of one message: ``status`` ok/error/handback/other.

    ``tag`` names the offending field for ``error`` (None: no tag could be named; 35 for
    ``other``), ``offset`` is its byte offset in the message.
    """

    status: str
    tag: int | None
    offset: int


def kernel_verdict(raw: bytes) -> KernelVerdict:
    """Run the kernel's validation on one message (no book is touched)."""
    parse, _ = _compiled()
    data = np.frombuffer(raw, dtype=np.uint8)
    width = len(raw) // 2 + 2
    ints = np.empty(width, dtype=np.int64)
    status, tag, offset, _count = parse.decode_message(
        data, 0, len(raw), ints, ints.copy(), ints.copy(),
        np.empty((width, parse.ENTRY_COLUMNS), dtype=np.int64),
        np.empty((width, 2)), np.zeros(parse.HEADER_SIZE, dtype=np.int64),
    )  # fmt: skip
    return KernelVerdict(_VERDICTS[status], None if tag < 0 else int(tag), int(offset))


def validate_md(raw: bytes) -> None:
    """Raise the :class:`MdDecodeError` the kernel path raises for ``raw``, if any.

    The kernel names the tag and the byte offset; the error itself is the Python
    decoder's (same class, tag and text), with ``offset`` added.
    """
    verdict = kernel_verdict(raw)
    if verdict.status in ("error", "other", "handback"):
        try:
            decode_md(raw)
        except MdDecodeError as error:
            error.offset = verdict.offset  # type: ignore[attr-defined]
            raise


@dataclass(frozen=True, slots=True)
class KernelQuarantine:
    """A message the kernel refused and Python quarantined (``index`` in the buffer)."""

    index: int
    offset: int
    kernel_tag: int | None
    message: MdMessageQuarantined


@dataclass(frozen=True, slots=True, eq=False)
class KernelRun:
    """Per message of one :meth:`KernelBookFeed.feed`: outcome, book and its BBO after it.

    ``slot`` indexes :attr:`symbols` (-1: the message touched no book); BBO prices are in
    ticks of that instrument (:data:`NO_TICK` and NaN size for an empty side);
    :meth:`bbo_prices` turns them into prices exactly as the books do.
    """

    symbols: tuple[str, ...]
    status: np.ndarray
    slot: np.ndarray
    ts_ns: np.ndarray
    bid_tick: np.ndarray
    bid_size: np.ndarray
    ask_tick: np.ndarray
    ask_size: np.ndarray
    depth_tick: np.ndarray
    depth_size: np.ndarray
    live: np.ndarray
    quarantined: tuple[KernelQuarantine, ...]
    handbacks: int

    def __len__(self) -> int:
        return int(self.status.shape[0])

    def bbo_prices(self, sync: BookSynchronizer) -> tuple[np.ndarray, np.ndarray]:
        """(bid prices, ask prices) per message, NaN where empty: ``L2Book.price_of``."""
        return self._prices(self.bid_tick, sync), self._prices(self.ask_tick, sync)

    def book_frames(self, sync: BookSynchronizer, symbol: str) -> BookFrames:
        """The depth frames of ``symbol``'s book after each message that touched it.

        Needs ``feed(..., depth=n)``; a frame is stale when the book was not live.
        """
        rows = self.slot == self.symbols.index(symbol)
        ticks, sizes = self.depth_tick[rows], self.depth_size[rows]
        prices = self._prices(ticks, sync, symbol)
        return BookFrames(
            ts_ns=np.maximum.accumulate(self.ts_ns)[rows],
            bid_px=prices[:, 0], bid_sz=sizes[:, 0], ask_px=prices[:, 1], ask_sz=sizes[:, 1],
            stale=~self.live[rows],
        )  # fmt: skip

    def _prices(
        self, ticks: np.ndarray, sync: BookSynchronizer, symbol: str | None = None
    ) -> np.ndarray:
        prices = np.full(ticks.shape, np.nan)
        for i, name in enumerate(self.symbols):
            if symbol is not None and name != symbol:
                continue
            rows = (self.slot == i) if symbol is None else np.ones(ticks.shape[0], dtype=bool)
            mask = rows.reshape(rows.shape + (1,) * (ticks.ndim - 1)) & (ticks != NO_TICK)
            if mask.any():
                book = sync.book(name)
                unique, inverse = np.unique(ticks[mask], return_inverse=True)
                table = np.array([book.price_of(int(t)) for t in unique])
                prices[mask] = table[inverse]
        return prices


@dataclass(slots=True)
class _Outputs:
    n: int
    depth: int
    status: np.ndarray = field(init=False)
    slot: np.ndarray = field(init=False)
    ts: np.ndarray = field(init=False)
    tick: np.ndarray = field(init=False)
    size: np.ndarray = field(init=False)
    depth_tick: np.ndarray = field(init=False)
    depth_size: np.ndarray = field(init=False)
    live: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.depth_tick = np.full((self.n, 2, self.depth), NO_TICK, dtype=np.int64)
        self.depth_size = np.full((self.n, 2, self.depth), np.nan)
        self.live = np.zeros(self.n, dtype=bool)
        self.status = np.full(self.n, PYTHON, dtype=np.int8)
        self.slot = np.full(self.n, -1, dtype=np.int64)
        self.ts = np.zeros(self.n, dtype=np.int64)
        self.tick = np.full((self.n, 2), NO_TICK, dtype=np.int64)
        self.size = np.full((self.n, 2), np.nan)


class KernelBookFeed:
    """Feeds raw FIX market data to a :class:`BookSynchronizer` through the kernel.

    Args:
        sync: the books; events (stale, snapshot requested, recovered, trades) are
            recorded there as usual, for the caller to drain.
        accept_symbol: symbols the kernel may apply; messages naming others are handed
            to Python (e.g. to pass unsubscribed instruments through ``message_filter``).
        message_filter: applied to every message Python decodes before the synchronizer
            sees it (the replay adapter's subscription filter).
        on_quarantined: called with every quarantined message, in order.
    """

    def __init__(
        self,
        sync: BookSynchronizer,
        *,
        accept_symbol: Callable[[str], bool] | None = None,
        message_filter: Callable[[MarketDataMessage], MarketDataMessage] | None = None,
        on_quarantined: Callable[[MdMessageQuarantined], None] | None = None,
    ) -> None:
        self._sync = sync
        self._accept = accept_symbol
        self._filter = message_filter
        self._on_quarantined = on_quarantined
        self._extra: dict[str, None] = {}
        self._ids: dict[str, int] = {}
        self._grid_key: tuple[int, ...] = ()
        self._grid_list: object = None
        #: Messages the kernel refused as malformed but Python decoded (should stay 0).
        self.disagreements = 0

    def feed(
        self, buffer: bytes | bytearray | memoryview, *, back_to_back: bool = False, depth: int = 0
    ) -> KernelRun:
        """Frame, decode and apply every message of ``buffer``; the per-message outcome.

        ``depth`` > 0 also records the best ``depth`` levels of the touched book after
        every message (:meth:`KernelRun.book_frames`).
        """
        _, apply = _compiled()
        raw = np.frombuffer(buffer, dtype=np.uint8)
        data, starts, ends = apply.frame_lines(raw, back_to_back)
        n = int(starts.shape[0])
        out = _Outputs(n, depth)
        capacity = data.shape[0] // 20 + 16
        trades = (
            np.empty(capacity, dtype=np.int64), np.empty(capacity), np.empty(capacity),
            np.empty(capacity, dtype=np.int64),
        )  # fmt: skip
        quarantined: list[KernelQuarantine] = []
        handbacks = 0
        i = 0
        while i < n:
            fast = self._export()
            result = np.zeros(5, dtype=np.int64)
            stop = apply.run(
                data, starts, ends, i, n,
                fast.symbol_bytes, fast.symbol_offsets, fast.kind, fast.state, fast.next_rpt,
                fast.snapshot_ok, fast.crossing, fast.inv_tick, fast.meta, self._grids(fast.grids),
                fast.seq, fast.counters, fast.touched,
                out.status, out.slot, out.ts, out.tick, out.size, out.depth_tick, out.depth_size,
                *trades, result,
            )  # fmt: skip
            done = int(result[apply.RES_TRADES])
            self._sync.commit_fast_path(fast, KernelTrades(*(t[:done] for t in trades)))
            ids = np.array([self._id(s) for s in fast.symbols] + [-1], dtype=np.int64)
            out.slot[i:stop] = ids[out.slot[i:stop]]
            out.live[i:stop] = out.status[i:stop] == APPLIED
            if stop >= n:
                break
            handbacks += 1
            tag = int(result[apply.RES_TAG])
            reason = int(result[apply.RES_REASON])
            message = self._python(data[starts[stop] : ends[stop]].tobytes(), stop, out)
            if isinstance(message, MdMessageQuarantined):
                quarantined.append(
                    KernelQuarantine(
                        stop, int(result[apply.RES_OFFSET]), None if tag < 0 else tag, message
                    )
                )
            elif reason == apply.R_ERROR:
                self.disagreements += 1
            i = stop + 1
        return KernelRun(
            symbols=tuple(self._ids),
            status=out.status,
            slot=out.slot,
            ts_ns=out.ts,
            bid_tick=out.tick[:, 0],
            bid_size=out.size[:, 0],
            ask_tick=out.tick[:, 1],
            ask_size=out.size[:, 1],
            depth_tick=out.depth_tick,
            depth_size=out.depth_size,
            live=out.live,
            quarantined=tuple(quarantined),
            handbacks=handbacks,
        )

    # ------------------------------------------------------------------------ helpers
    def _export(self):
        fast = self._sync.export_fast_path(list(self._extra))
        if self._accept is not None:
            for k, symbol in enumerate(fast.symbols):
                if not self._accept(symbol):
                    fast.kind[k] = KIND_PYTHON
        return fast

    def _grids(self, grids: list[np.ndarray]) -> object:
        key = tuple(id(g) for g in grids)
        if key != self._grid_key or self._grid_list is None:
            from numba import types
            from numba.typed import List

            typed = List.empty_list(types.float64[:, ::1])
            for grid in grids:
                typed.append(grid)
            self._grid_key, self._grid_list = key, typed
        return self._grid_list

    def _id(self, symbol: str) -> int:
        return self._ids.setdefault(symbol, len(self._ids))

    def _python(self, raw: bytes, index: int, out: _Outputs) -> MarketDataMessage:
        """The slow path for one message: decode, filter, synchronize, record its BBO."""
        message = decode_market_data(raw)
        if isinstance(message, MdMessageQuarantined) and self._on_quarantined is not None:
            self._on_quarantined(message)
        delivered = self._filter(message) if self._filter is not None else message
        self._sync.on_message(delivered)
        if isinstance(delivered, MdSnapshot):
            touched = [delivered.symbol]
        elif isinstance(delivered, MdIncrement):
            touched = list(dict.fromkeys(delivered.entries.symbols))
        elif isinstance(delivered, MdMessageQuarantined):
            touched = list(delivered.symbols)
        else:
            touched = []
        known = set(self._sync.symbols)
        for symbol in touched:
            if symbol not in known:
                self._extra[symbol] = None
        if touched and touched[0] in known:
            book = self._sync.book(touched[0])
            out.slot[index] = self._id(touched[0])
            bid_px, bid_sz, ask_px, ask_sz = book.bbo()
            for side, (px, sz) in enumerate(((bid_px, bid_sz), (ask_px, ask_sz))):
                if px == px:
                    out.tick[index, side] = book.tick_of(px)
                    out.size[index, side] = sz
                levels = book.depth(side, out.depth)
                for k, level in enumerate(levels):
                    out.depth_tick[index, side, k] = book.tick_of(level.price)
                    out.depth_size[index, side, k] = level.size
            out.live[index] = not self._sync.is_stale(touched[0])
        ts = getattr(message, "ts_ns", None)
        if ts is not None:
            out.ts[index] = ts
        return message
