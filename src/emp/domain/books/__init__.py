"""Order books built from market data: L2 price levels, L3 orders, and their feed sync.

* :class:`L2Book` — full-depth price levels on a fixed tick grid (sparse fallback).
* :class:`L3Book` — orders by MDEntryID, aggregated into an :class:`L2Book`.
* :class:`BookSynchronizer` — messages → books, with MsgSeqNum/RptSeq gap detection,
  stale marking, buffering and snapshot recovery.
* :mod:`.backfill` — periodic snapshots → the minimal increment stream between them.
* :mod:`.fast_path` — the synchronizer as arrays, for a compiled kernel in an adapter.
"""

from emp.domain.books.backfill import (
    diff_levels,
    diff_orders,
    synthesize_increments,
    verify_replay,
)
from emp.domain.books.errors import BackfillMismatch, BookInconsistent
from emp.domain.books.fast_path import FastPathState, KernelTrades
from emp.domain.books.l2 import BookImage, BookLevel, L2Book
from emp.domain.books.l3 import L3Book
from emp.domain.books.sync import BookConfig, BookSynchronizer, FeedState, SyncStats

__all__ = [
    "BackfillMismatch",
    "BookConfig",
    "BookImage",
    "BookInconsistent",
    "BookLevel",
    "BookSynchronizer",
    "FastPathState",
    "FeedState",
    "KernelTrades",
    "L2Book",
    "L3Book",
    "SyncStats",
    "diff_levels",
    "diff_orders",
    "synthesize_increments",
    "verify_replay",
]
