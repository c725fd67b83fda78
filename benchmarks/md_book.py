"""Entries per second from raw FIX market data to order books: compiled kernel vs simplefix.

The stream: one instrument, a 20-level 35=W every 200 messages and 35=X messages of 1-4
entries (new / change / delete on both sides, RptSeq on every entry) in between, generated
from a seeded model so every message is valid, recorded as a file would hold it (one
message per line). ``entries_per_s`` is the compiled path: the recording's bytes →
framed, validated and decoded by the numba kernel → applied to the BookSynchronizer's
books (MsgSeqNum/RptSeq checks included) → the BBO (prices in ticks and sizes) written
after every message (``KernelBookFeed.feed``). ``simplefix_entries_per_s`` is the same
stream through the simplefix reference decoder and the synchronizer, one message at a
time, a BBO read after each. ``python_entries_per_s`` is the dedicated Python decoder
(4096 messages per call, CheckSums summed with numpy, as the replay adapter did before
the kernel); ``one_at_a_time_entries_per_s`` calls it per message. Also reported:
decode-only messages/s of both Python decoders for a W of 20 entries and an X of 2,
book-only updates/s of ``L2Book.apply_entries``, and ``kernel_first_call_s`` (numba
compiling, or loading its cache, plus a tiny run).

    python benchmarks/md_book.py            # a table
    python benchmarks/md_book.py --json     # ...and one JSON object as the last line
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from emp.adapters.fix_codec.md_batch import decode_market_data_batch
from emp.adapters.fix_codec.md_decode import decode_md
from emp.adapters.fix_codec.md_encode import encode_md
from emp.adapters.fix_codec.md_kernel import APPLIED, KernelBookFeed
from emp.adapters.fix_codec.md_session import decode_md_simplefix
from emp.domain.books import BookSynchronizer, L2Book
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.market_data import MdEntries, MdIncrement, MdSnapshot

SYMBOL = "ESZ5"
INSTRUMENT = Instrument(symbol=SYMBOL, tick_size=0.25)
T0 = 1_700_000_000_000_000_000


def _price(tick: int) -> float:
    return tick * 0.25


def make_stream(messages: int, seed: int = 7) -> tuple[list[bytes], int]:
    """Raw messages and their total entry count."""
    rng = np.random.default_rng(seed)
    bids = {20_000 - i: float(rng.integers(1, 500)) for i in range(10)}
    asks = {20_001 + i: float(rng.integers(1, 500)) for i in range(10)}
    raws: list[bytes] = []
    rpt, entries = 0, 0
    for seq in range(1, messages + 1):
        ts = T0 + seq * 1_000_000
        if seq % 200 == 1:
            rows = [(0, _price(t), s) for t, s in sorted(bids.items(), reverse=True)]
            rows += [(1, _price(t), s) for t, s in sorted(asks.items())]
            message: MdSnapshot | MdIncrement = MdSnapshot(
                symbol=SYMBOL,
                entries=MdEntries(
                    actions=[0] * len(rows), types=[r[0] for r in rows],
                    prices=[r[1] for r in rows], sizes=[r[2] for r in rows],
                    symbols=[SYMBOL] * len(rows),
                ),
                seq_num=seq, ts_ns=ts, rpt_seq=rpt,
            )  # fmt: skip
        else:
            cols: tuple[list, list, list, list] = ([], [], [], [])
            for _ in range(int(rng.integers(1, 5))):
                is_bid = bool(rng.integers(2))
                side, other = (bids, asks) if is_bid else (asks, bids)
                roll = rng.random()
                if (roll < 0.6 or len(side) >= 25) and side:
                    tick = list(side)[rng.integers(len(side))]
                    side[tick] = float(rng.integers(1, 500))
                    row = (1, tick, side[tick])
                elif roll < 0.8 and len(side) > 3:
                    tick = list(side)[rng.integers(len(side))]
                    del side[tick]
                    row = (2, tick, 0.0)
                else:
                    edge = (min(other) - 1) if is_bid else (max(other) + 1)
                    span = range(edge - 40, edge + 1) if is_bid else range(edge, edge + 41)
                    free = [t for t in span if t not in side]
                    tick = free[rng.integers(len(free))]
                    side[tick] = float(rng.integers(1, 500))
                    row = (0, tick, side[tick])
                for col, value in zip(
                    cols, (row[0], 0 if is_bid else 1, _price(row[1]), row[2]), strict=True
                ):
                    col.append(value)
            n = len(cols[0])
            message = MdIncrement(
                entries=MdEntries(
                    actions=cols[0], types=cols[1], prices=cols[2], sizes=cols[3],
                    symbols=[SYMBOL] * n, rpt_seqs=list(range(rpt + 1, rpt + 1 + n)),
                ),
                seq_num=seq, ts_ns=ts,
            )  # fmt: skip
            rpt += n
        entries += len(message.entries)
        raws.append(encode_md(message, sender_comp_id="VENUE", target_comp_id="EMP"))
    return raws, entries


def run_books(raws: list[bytes], decode, *, batch: int = 0) -> float:
    """Seconds for bytes → messages → books, a BBO read after each message.

    ``batch`` > 0 decodes that many messages per call of ``decode`` (a list → list
    function, as the replay adapter does); 0 calls ``decode`` once per message.
    """
    sync = BookSynchronizer(InstrumentRegistry([INSTRUMENT]))
    book = None
    start = time.perf_counter()
    chunks = [raws[i : i + batch] for i in range(0, len(raws), batch)] if batch else [raws]
    for chunk in chunks:
        for message in decode(chunk) if batch else map(decode, chunk):
            sync.on_message(message)
            if book is None:
                book = sync.book(SYMBOL)
            book.bbo()
    elapsed = time.perf_counter() - start
    assert not sync.is_stale(SYMBOL) and sync.stats.gaps == 0, "benchmark stream must stay clean"
    return elapsed


def run_kernel(buffer: bytes, messages: int) -> float:
    """Seconds for recording bytes → kernel → books, a BBO written after each message."""
    sync = BookSynchronizer(InstrumentRegistry([INSTRUMENT]))
    start = time.perf_counter()
    run = KernelBookFeed(sync).feed(buffer)
    elapsed = time.perf_counter() - start
    assert len(run) == messages and (run.status == APPLIED).sum() >= messages - 1
    assert not sync.is_stale(SYMBOL) and sync.stats.gaps == 0, "benchmark stream must stay clean"
    book = sync.book(SYMBOL)
    assert (run.bid_size[-1], run.ask_size[-1]) == (book.bbo()[1], book.bbo()[3])
    return elapsed


def decode_rate(raw: bytes, decode, seconds: float = 0.5) -> float:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(200):
            decode(raw)
        n += 200
    return n / (time.perf_counter() - start)


def book_rate(messages: list[MdIncrement | MdSnapshot]) -> float:
    book = L2Book(INSTRUMENT)
    entries = 0
    start = time.perf_counter()
    for m in messages:
        e = m.entries
        if isinstance(m, MdSnapshot):
            book.clear()
        book.apply_entries(e.actions, e.types, e.prices, e.sizes)
        entries += len(e)
    return entries / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    raws, entries = make_stream(args.messages)
    buffer = b"\n".join(raws) + b"\n"
    start = time.perf_counter()
    run_kernel(b"\n".join(raws[:10]), 10)
    first_call = time.perf_counter() - start
    fast = min(run_kernel(buffer, len(raws)) for _ in range(max(args.repeats, 5)))
    python = min(run_books(raws, decode_market_data_batch, batch=4096) for _ in range(args.repeats))
    single = min(run_books(raws, decode_md) for _ in range(args.repeats))
    sample = raws[: max(1, len(raws) // 10)]
    sample_entries = sum(len(decode_md(r).entries) for r in sample)
    slow = min(run_books(sample, decode_md_simplefix) for _ in range(args.repeats))
    w20 = next(r for r in raws if b"\x0135=W\x01" in r)
    x2 = next(r for r in raws if b"\x0135=X\x01" in r and b"\x01268=2\x01" in r)
    result = {
        "messages": len(raws),
        "entries": entries,
        "entries_per_s": entries / fast,
        "simplefix_entries_per_s": sample_entries / slow,
        "ratio": (entries / fast) / (sample_entries / slow),
        "messages_per_s": len(raws) / fast,
        "python_entries_per_s": entries / python,
        "one_at_a_time_entries_per_s": entries / single,
        "decode_w20_msgs_per_s": decode_rate(w20, decode_md),
        "simplefix_decode_w20_msgs_per_s": decode_rate(w20, decode_md_simplefix),
        "decode_x2_msgs_per_s": decode_rate(x2, decode_md),
        "simplefix_decode_x2_msgs_per_s": decode_rate(x2, decode_md_simplefix),
        "book_updates_per_s": book_rate([decode_md(r) for r in raws]),
        "kernel_first_call_s": first_call,
    }
    for key, value in result.items():
        print(f"{key:34s} {value:>14,.{3 if value < 100 else 0}f}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
