"""Snapshot-to-stream backfill: periodic snapshots → the minimal increments between them.

Venues and vendors often keep only periodic book snapshots. :func:`synthesize_increments`
turns such a series into a stream a live feed could have sent: the first snapshot of each
instrument as is, then for every later snapshot one increment holding the *minimal*
entries that turn the previous book into the new one — a DELETE for each vanished level
(or order), a NEW for each appeared one, a CHANGE for each changed size (or, for orders,
moved price). No entry can be saved: every differing level needs one.

:func:`verify_replay` is the time-consistency check: it replays a stream through a
:class:`~emp.domain.books.sync.BookSynchronizer` and, at each snapshot's time, requires
the replayed book to equal the snapshot exactly (and be live).

RptSeq is renumbered per instrument (the first snapshot is 0, entries count up from 1) and
MsgSeqNum runs from ``first_seq_num`` across the stream, so the output is gap-free.
Trade entries in snapshots are not book state and are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from emp.domain.books.errors import BackfillMismatch, BookInconsistent
from emp.domain.books.l2 import BookImage, L2Book
from emp.domain.books.l3 import L3Book, OrderImage
from emp.domain.books.sync import BookConfig, BookSynchronizer
from emp.domain.instruments import Instrument
from emp.domain.market_data import (
    EntryType,
    MdEntries,
    MdIncrement,
    MdSnapshot,
    UpdateAction,
)

_Row = tuple[int, int, float, float, str]  # action, type, price, size, entry id


def diff_levels(before: BookImage, after: BookImage) -> list[_Row]:
    """The minimal L2 entries turning ``before`` into ``after`` (deletes, changes, news)."""
    deletes: list[_Row] = []
    changes: list[_Row] = []
    news: list[_Row] = []
    for side in (EntryType.BID, EntryType.OFFER):
        old = dict(before[side])
        new = dict(after[side])
        for price, _size in before[side]:
            if price not in new:
                deletes.append((UpdateAction.DELETE, side, price, 0.0, ""))
        for price, size in after[side]:
            if price not in old:
                news.append((UpdateAction.NEW, side, price, size, ""))
            elif old[price] != size:
                changes.append((UpdateAction.CHANGE, side, price, size, ""))
    return deletes + changes + news


def diff_orders(before: OrderImage, after: OrderImage) -> list[_Row]:
    """The minimal L3 entries turning one order image into another."""
    rows: list[_Row] = []
    for order_id, (t, price, _size) in before.items():
        if order_id not in after or after[order_id][0] != t:
            rows.append((UpdateAction.DELETE, t, price, 0.0, order_id))
    for order_id, (t, price, size) in after.items():
        old = before.get(order_id)
        if old is None or old[0] != t:
            rows.append((UpdateAction.NEW, t, price, size, order_id))
        elif old[1:] != (price, size):
            rows.append((UpdateAction.CHANGE, t, price, size, order_id))
    return rows


def _build(instrument: Instrument, snapshot: MdSnapshot) -> L2Book | L3Book:
    entries = snapshot.entries
    try:
        if entries.entry_ids is not None and (any(entries.entry_ids) or not len(entries)):
            book3 = L3Book(instrument)
            book3.apply_entries(
                entries.actions, entries.types, entries.prices, entries.sizes, entries.entry_ids
            )
            return book3
        book2 = L2Book(instrument)
        book2.apply_entries(entries.actions, entries.types, entries.prices, entries.sizes)
        return book2
    except BookInconsistent as error:
        raise BackfillMismatch(
            f"snapshot {snapshot.seq_num} of {snapshot.symbol} is not a valid book: {error}"
        ) from error


def _empty(image: BookImage | OrderImage) -> bool:
    return not image if isinstance(image, dict) else not (image[0] or image[1])


def _image(book: L2Book | L3Book) -> BookImage | OrderImage:
    return book.image()


def _entries(rows: Sequence[_Row], symbol: str, first_rpt: int, order_level: bool) -> MdEntries:
    return MdEntries(
        actions=[r[0] for r in rows],
        types=[r[1] for r in rows],
        prices=[r[2] for r in rows],
        sizes=[r[3] for r in rows],
        symbols=[symbol] * len(rows),
        rpt_seqs=list(range(first_rpt, first_rpt + len(rows))),
        entry_ids=[r[4] for r in rows] if order_level else None,
    )


def _snapshot_rows(image: BookImage | OrderImage) -> list[_Row]:
    if isinstance(image, dict):
        return [(UpdateAction.NEW, t, p, s, oid) for oid, (t, p, s) in image.items()]
    return [
        (UpdateAction.NEW, side, price, size, "")
        for side in (EntryType.BID, EntryType.OFFER)
        for price, size in image[side]
    ]


def synthesize_increments(
    snapshots: Sequence[MdSnapshot],
    instruments: Mapping[str, Instrument],
    *,
    first_seq_num: int = 1,
) -> list[MdSnapshot | MdIncrement]:
    """A gap-free stream: each instrument's first snapshot, then minimal increments.

    ``snapshots`` must be in time order; an instrument's snapshots need strictly increasing
    times, and an instrument keeps one kind of book (levels or orders) throughout.
    """
    stream: list[MdSnapshot | MdIncrement] = []
    images: dict[str, BookImage | OrderImage] = {}
    last_ts: dict[str, int] = {}
    next_rpt: dict[str, int] = {}
    seq = first_seq_num
    for snapshot in snapshots:
        symbol = snapshot.symbol
        if symbol not in instruments:
            raise BackfillMismatch(f"no instrument (tick size) known for {symbol!r}")
        if symbol in last_ts and snapshot.ts_ns <= last_ts[symbol]:
            raise BackfillMismatch(
                f"snapshots of {symbol} must have increasing times, was {snapshot.ts_ns} "
                f"after {last_ts[symbol]}"
            )
        last_ts[symbol] = snapshot.ts_ns
        image = _image(_build(instruments[symbol], snapshot))
        order_level = isinstance(image, dict)
        previous = images.get(symbol)
        images[symbol] = image
        if previous is None:
            rows = _snapshot_rows(image)
            stream.append(
                MdSnapshot(
                    symbol=symbol,
                    entries=_entries(rows, symbol, 1, order_level),
                    seq_num=seq,
                    ts_ns=snapshot.ts_ns,
                    rpt_seq=0,
                )
            )
            next_rpt[symbol] = 1
            seq += 1
            continue
        if _empty(image) and isinstance(previous, dict) != order_level:
            image = images[symbol] = {} if isinstance(previous, dict) else ((), ())
            order_level = isinstance(previous, dict)
        if not _empty(previous) and isinstance(previous, dict) != order_level:
            raise BackfillMismatch(f"{symbol}: snapshots switch between levels and orders")
        rows = (
            diff_orders(previous, image)  # type: ignore[arg-type]
            if order_level
            else diff_levels(previous, image)  # type: ignore[arg-type]
        )
        if not rows:
            continue
        stream.append(
            MdIncrement(
                entries=_entries(rows, symbol, next_rpt[symbol], order_level),
                seq_num=seq,
                ts_ns=snapshot.ts_ns,
            )
        )
        next_rpt[symbol] += len(rows)
        seq += 1
    return stream


def verify_replay(
    stream: Sequence[MdSnapshot | MdIncrement],
    snapshots: Sequence[MdSnapshot],
    instruments: Mapping[str, Instrument],
) -> int:
    """Replay ``stream``; at each snapshot's time the book must equal it. Returns the count.

    Raises :class:`BackfillMismatch` naming the first snapshot the replay does not match.
    """
    sync = BookSynchronizer(instruments, config=BookConfig())
    position = 0
    for checked, snapshot in enumerate(snapshots, start=1):
        while position < len(stream) and stream[position].ts_ns <= snapshot.ts_ns:
            sync.on_message(stream[position])
            position += 1
        symbol = snapshot.symbol
        expected = _image(_build(instruments[symbol], snapshot))
        if sync.is_stale(symbol):
            raise BackfillMismatch(
                f"snapshot {checked} ({symbol} at {snapshot.ts_ns}): the replayed book is "
                f"{sync.state(symbol).value}"
            )
        order_book = sync.order_book(symbol)
        actual = order_book.image() if order_book is not None else sync.book(symbol).image()
        if actual != expected and not (_empty(actual) and _empty(expected)):
            raise BackfillMismatch(
                f"snapshot {checked} ({symbol} at {snapshot.ts_ns}): expected {expected}, "
                f"was {actual}"
            )
    return len(snapshots)
