"""Depth features: known values, and the future-mask test (cutting after t changes nothing at t)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.domain.books import BookSynchronizer
from emp.domain.features.how import (
    DEPTH_FEATURES,
    BookFrameRecorder,
    BookFrames,
    depth_features,
)
from emp.domain.instruments import InstrumentRegistry
from tests.unit.domain.books.streams import (
    ASK,
    BID,
    CHANGE,
    INSTRUMENT,
    NEW,
    T0,
    increment_of,
    l2_stream,
    snapshot_of,
)

INSTRUMENTS = InstrumentRegistry([INSTRUMENT])
WINDOW = 5_000


def timed_stream(seed: int, n: int):
    rng = np.random.default_rng(seed)
    messages, _ = l2_stream(rng, n)
    times = T0 + np.cumsum(rng.integers(0, 3_000, size=n))  # ties happen (step 0)
    return messages, [int(t) for t in times]


def frames_of(messages, times, *, lose: int | None = None) -> BookFrames:
    """Replay through the synchronizer, one frame per message (a lost message → stale)."""
    sync = BookSynchronizer(INSTRUMENTS)
    sync.on_message(snapshot_of(((), ()), seq_num=1, ts_ns=T0, rpt_seq=0))
    recorder = BookFrameRecorder(depth=3)
    rpt = 1
    for i, (message, ts) in enumerate(zip(messages, times, strict=True)):
        increment = increment_of(message, seq_num=i + 2, ts_ns=ts, first_rpt=rpt)
        rpt += len(message[0])
        if i != lose:
            sync.on_message(increment)
            recorder.record(ts, sync.book("ABC"), stale=sync.is_stale("ABC"))
    return recorder.frames()


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=True))


def future_leaks(compute, messages, times, probes) -> list[tuple[str, int]]:
    """(feature, t) pairs whose value at t changes when the stream is cut after t."""
    full = compute(frames_of(messages, times), probes)
    leaks = []
    for j, t in enumerate(probes):
        keep = sum(1 for ts in times if ts <= t)
        cut = compute(frames_of(messages[:keep], times[:keep]), probes[j : j + 1])
        leaks += [(name, t) for name in full if not same(full[name][j : j + 1], cut[name])]
    return leaks


def causal(frames, at):
    return depth_features(frames, at, levels=3, ofi_window_ns=WINDOW)


class TestFutureMask:
    @settings(max_examples=20, deadline=None)
    @given(seed=st.integers(0, 2**32 - 1), picks=st.lists(st.floats(0, 1), min_size=3, max_size=6))
    def test_truncating_the_stream_after_t_leaves_every_feature_at_t_unchanged(self, seed, picks):
        messages, times = timed_stream(seed, 50)
        span = times[-1] - T0 + 2_000
        probes = [int(T0 - 1_000 + p * span) for p in picks] + [times[10], times[25]]
        assert future_leaks(causal, messages, times, probes) == []

    def test_the_check_catches_a_feature_that_peeks_at_the_next_frame(self):
        def leaky(frames, at):
            out = causal(frames, at)
            ahead = np.minimum(np.searchsorted(frames.ts_ns, at, side="right"), len(frames) - 1)
            out["spread"] = frames.ask_px[ahead, 0] - frames.bid_px[ahead, 0]
            return out

        messages, times = timed_stream(11, 40)
        assert any(
            name == "spread" for name, _ in future_leaks(leaky, messages, times, times[5:30:5])
        )

    def test_the_check_catches_a_feature_normalised_by_the_whole_stream(self):
        def leaky(frames, at):
            out = causal(frames, at)
            out["imbalance"] = out["imbalance"] / np.nanmax(np.abs(frames.bid_sz))
            return out

        messages, times = timed_stream(12, 40)
        assert any(
            name == "imbalance" for name, _ in future_leaks(leaky, messages, times, times[5:30:5])
        )


class TestValues:
    def frames(self) -> BookFrames:
        sync = BookSynchronizer(INSTRUMENTS)
        sync.on_message(
            snapshot_of(
                (((100.0, 30), (99.99, 10)), ((100.02, 10), (100.03, 50))), seq_num=1, ts_ns=T0
            )
        )
        recorder = BookFrameRecorder(depth=2)
        recorder.record(T0, sync.book("ABC"), stale=False)
        sync.on_message(
            increment_of(
                ([CHANGE, NEW], [BID, ASK], [100.0, 100.01], [40, 5]), seq_num=2, ts_ns=T0 + 10
            )
        )
        recorder.record(T0 + 10, sync.book("ABC"), stale=False)
        return recorder.frames()

    def test_each_feature_at_the_first_frame(self):
        f = depth_features(self.frames(), [T0], levels=2)
        assert f["spread"][0] == pytest.approx(0.02)
        assert f["imbalance"][0] == pytest.approx((40 - 60) / 100)
        assert f["microprice_deviation"][0] == pytest.approx(
            (100.0 * 10 + 100.02 * 30) / 40 - 100.01
        )
        bid_slope = (0.01 * 30 + 0.02 * 40) / (0.01**2 + 0.02**2)
        ask_slope = (0.01 * 10 + 0.02 * 60) / (0.01**2 + 0.02**2)
        assert f["depth_slope"][0] == pytest.approx((bid_slope + ask_slope) / 2)
        assert f["order_flow_imbalance"][0] == 0.0

    def test_order_flow_imbalance_counts_bid_growth_and_a_better_ask(self):
        f = depth_features(self.frames(), [T0 + 10], levels=2)
        # bid 100.0 grew 30 → 40: +40 − 30; ask improved to 100.01 (size 5): −5
        assert f["order_flow_imbalance"][0] == pytest.approx(40 - 30 - 5)

    def test_before_the_first_frame_every_feature_is_nan(self):
        f = depth_features(self.frames(), [T0 - 1])
        assert all(math.isnan(f[name][0]) for name in DEPTH_FEATURES)

    def test_a_stale_book_gives_nan_not_a_stale_number(self):
        messages, times = timed_stream(3, 20)
        frames = frames_of(messages, times, lose=5)
        f = depth_features(frames, [frames.ts_ns[-1]])
        assert frames.stale[-1] and math.isnan(f["spread"][0])
