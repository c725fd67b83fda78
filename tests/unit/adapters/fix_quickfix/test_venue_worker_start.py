"""The served venue's worker opens the market when it starts, before its first message.

A session whose first messages reach the worker in its first batch (a loaded machine, a
venue started with no session waiting) used to meet an empty book: the generated market
started with the worker's first pass, after that batch's messages.
"""

from __future__ import annotations

import queue
from concurrent.futures import Future

import numpy as np

from emp.adapters.clocks import ManualClock
from emp.adapters.fix_quickfix.message_log import RedactingMessageLog
from emp.adapters.fix_quickfix.venue_worker import STOP, Control, VenueWorker
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.matching import (
    MatchingConfig,
    MatchingEngine,
    SimulatedExchange,
    SyntheticLiquidity,
)

INSTRUMENTS = InstrumentRegistry([Instrument(symbol="X", tick_size=0.01, lot_size=1.0)])


def test_the_first_item_the_worker_handles_meets_a_quoted_book(tmp_path):
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    seen: Future = Future()
    # queued before the worker runs: its first batch
    inbox.put(Control(lambda worker: worker.exchange.engine.book("X").best_ask(), seen))
    inbox.put(STOP)
    worker = VenueWorker(
        exchange=SimulatedExchange(MatchingEngine(INSTRUMENTS, MatchingConfig())),
        clock=ManualClock(1_000),
        inbox=inbox,
        sessions={},
        log=RedactingMessageLog(tmp_path, ManualClock(1_000), name="venue"),
        journal=None,
        liquidity={
            "X": SyntheticLiquidity(
                INSTRUMENTS["X"], np.random.default_rng(7), start_price=100.0, mean_size=100.0
            )
        },
        liquidity_interval_ns=100_000_000,
    )
    worker.thread.start()
    worker.thread.join(10)
    assert seen.result(timeout=1) is not None
