"""Backfill: snapshots → minimal increments → replay reproduces every snapshot."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.domain.books import BackfillMismatch, synthesize_increments, verify_replay
from emp.domain.instruments import InstrumentRegistry
from emp.domain.market_data import MdEntries, MdIncrement, MdSnapshot, UpdateAction
from tests.unit.domain.books.streams import INSTRUMENT, T0, l2_stream, l3_stream, snapshot_of

INSTRUMENTS = InstrumentRegistry([INSTRUMENT])
seeds = st.integers(0, 2**32 - 1)


def periodic_snapshots(seed: int, every: int) -> list[MdSnapshot]:
    _, images = l2_stream(np.random.default_rng(seed), 60)
    return [
        snapshot_of(image, seq_num=i + 1, ts_ns=T0 + i * 1_000_000)
        for i, image in enumerate(images[::every])
    ]


def changed_levels(before: tuple, after: tuple) -> int:
    count = 0
    for side in (0, 1):
        old, new = dict(before[side]), dict(after[side])
        count += len(old.keys() ^ new.keys()) + sum(
            1 for p in old.keys() & new.keys() if old[p] != new[p]
        )
    return count


class TestSnapshotStreamSnapshotIdentity:
    @settings(max_examples=30, deadline=None)
    @given(seed=seeds, every=st.integers(1, 7))
    def test_replaying_the_synthetic_stream_reproduces_every_snapshot(self, seed, every):
        snapshots = periodic_snapshots(seed, every)
        stream = synthesize_increments(snapshots, INSTRUMENTS)
        assert verify_replay(stream, snapshots, INSTRUMENTS) == len(snapshots)

    @settings(max_examples=20, deadline=None)
    @given(seed=seeds, every=st.integers(1, 5))
    def test_each_increment_has_exactly_one_entry_per_differing_level(self, seed, every):
        snapshots = periodic_snapshots(seed, every)
        stream = synthesize_increments(snapshots, INSTRUMENTS)
        images = {s.ts_ns: _image(s) for s in snapshots}
        times = [s.ts_ns for s in snapshots]
        for message in stream[1:]:
            assert isinstance(message, MdIncrement)
            previous = times[times.index(message.ts_ns) - 1]
            assert (
                len(message.entries) == changed_levels(images[previous], images[message.ts_ns]) > 0
            )

    @settings(max_examples=20, deadline=None)
    @given(seed=seeds)
    def test_order_level_snapshots_round_trip_too(self, seed):
        _, images = l3_stream(np.random.default_rng(seed), 30)
        snapshots = []
        for i, orders in enumerate(images[::3]):
            rows = list(orders.items())
            snapshots.append(
                MdSnapshot(
                    symbol="ABC",
                    entries=MdEntries(
                        actions=[0] * len(rows),
                        types=[r[1][0] for r in rows],
                        prices=[r[1][1] for r in rows],
                        sizes=[r[1][2] for r in rows],
                        symbols=["ABC"] * len(rows),
                        entry_ids=[r[0] for r in rows],
                    ),
                    seq_num=i + 1,
                    ts_ns=T0 + i,
                )
            )
        stream = synthesize_increments(snapshots, INSTRUMENTS)
        assert verify_replay(stream, snapshots, INSTRUMENTS) == len(snapshots)

    def test_the_stream_is_numbered_without_gaps(self):
        stream = synthesize_increments(periodic_snapshots(7, 2), INSTRUMENTS)
        assert [m.seq_num for m in stream] == list(range(1, len(stream) + 1))
        rpts = [r for m in stream[1:] for r in m.entries.rpt_seqs]
        assert stream[0].rpt_seq == 0 and rpts == list(range(1, len(rpts) + 1))


class TestConsistencyCheck:
    def test_a_stream_that_misses_a_change_is_caught_at_the_next_snapshot(self):
        snapshots = periodic_snapshots(3, 2)
        stream = synthesize_increments(snapshots, INSTRUMENTS)
        broken = stream[:2] + stream[3:]
        with pytest.raises(BackfillMismatch, match="snapshot 3"):
            verify_replay(broken, snapshots, INSTRUMENTS)

    def test_a_stream_with_a_wrong_size_is_caught(self):
        snapshots = periodic_snapshots(5, 2)
        stream = synthesize_increments(snapshots, INSTRUMENTS)
        e = stream[1].entries
        sizes = [
            s + 1 if a != UpdateAction.DELETE else s
            for a, s in zip(e.actions, e.sizes, strict=True)
        ]
        wrong = MdIncrement(
            entries=MdEntries(
                actions=e.actions,
                types=e.types,
                prices=e.prices,
                sizes=sizes,
                symbols=e.symbols,
                rpt_seqs=e.rpt_seqs,
            ),
            seq_num=stream[1].seq_num,
            ts_ns=stream[1].ts_ns,
        )
        with pytest.raises(BackfillMismatch):
            verify_replay([stream[0], wrong, *stream[2:]], snapshots, INSTRUMENTS)

    def test_snapshots_out_of_time_order_are_refused(self):
        snapshots = periodic_snapshots(1, 3)
        with pytest.raises(BackfillMismatch, match="increasing times"):
            synthesize_increments([snapshots[1], snapshots[0]], INSTRUMENTS)


def _image(snapshot: MdSnapshot) -> tuple:
    e = snapshot.entries
    bids = tuple((p, s) for t, p, s in zip(e.types, e.prices, e.sizes, strict=True) if t == 0)
    asks = tuple((p, s) for t, p, s in zip(e.types, e.prices, e.sizes, strict=True) if t == 1)
    return bids, asks
