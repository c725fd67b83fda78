"""L2Book: invariants on random valid streams, grid ≡ sparse, queries, and refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.domain.books import BookInconsistent, BookLevel, L2Book
from emp.domain.instruments import Instrument
from emp.domain.market_data import EntryType, UpdateAction
from tests.unit.domain.books.streams import ASK, BID, CHANGE, DELETE, INSTRUMENT, NEW, l2_stream

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def book_with(bids: list[tuple[float, float]], asks: list[tuple[float, float]], **kw) -> L2Book:
    book = L2Book(INSTRUMENT, **kw)
    rows = [(BID, p, s) for p, s in bids] + [(ASK, p, s) for p, s in asks]
    book.apply_entries(
        [NEW] * len(rows), [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
    )
    return book


class TestRandomValidStreams:
    @settings(max_examples=40, deadline=None)
    @given(seed=seeds)
    def test_every_message_leaves_the_book_equal_to_the_model_and_uncrossed(self, seed):
        messages, images = l2_stream(np.random.default_rng(seed), 60)
        book = L2Book(INSTRUMENT)
        for (actions, types, prices, sizes), image in zip(messages, images, strict=True):
            book.apply_entries(actions, types, prices, sizes)
            book.check_invariants()
            assert book.image() == image

    @settings(max_examples=30, deadline=None)
    @given(seed=seeds)
    def test_a_tiny_grid_that_must_recentre_and_go_sparse_gives_the_same_book(self, seed):
        messages, _ = l2_stream(np.random.default_rng(seed), 60, far_prob=0.2)
        fast, tiny = L2Book(INSTRUMENT), L2Book(INSTRUMENT, grid_capacity=8)
        for actions, types, prices, sizes in messages:
            fast.apply_entries(actions, types, prices, sizes)
            tiny.apply_entries(actions, types, prices, sizes)
            assert tiny.image() == fast.image()
            assert tiny.bbo() == fast.bbo() or all(map(math.isnan, tiny.bbo()))
            tiny.check_invariants()

    @settings(max_examples=25, deadline=None)
    @given(seed=seeds, cut=st.integers(min_value=1, max_value=40))
    def test_applying_a_snapshot_equals_rebuilding_from_scratch(self, seed, cut):
        messages, images = l2_stream(np.random.default_rng(seed), 40)
        used = L2Book(INSTRUMENT)
        for actions, types, prices, sizes in messages[:cut]:
            used.apply_entries(actions, types, prices, sizes)
        target = images[-1]
        used.clear()
        fresh = L2Book(INSTRUMENT)
        for book in (used, fresh):
            rows = [(BID, p, s) for p, s in target[0]] + [(ASK, p, s) for p, s in target[1]]
            book.apply_entries(
                [NEW] * len(rows), [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
            )
        assert used.image() == fresh.image() == target


class TestGridFallback:
    def test_a_level_far_outside_the_window_moves_the_side_to_the_sparse_store(self):
        book = book_with([(100.0, 1)], [(100.01, 1)], grid_capacity=16)
        assert book.uses_grid(EntryType.BID)
        book.apply(NEW, BID, 1.0, 5)
        assert not book.uses_grid(EntryType.BID)
        assert book.depth(EntryType.BID) == [BookLevel(100.0, 1), BookLevel(1.0, 5)]

    def test_a_level_just_outside_the_window_recentres_the_grid(self):
        book = book_with([(100.0, 1)], [(100.01, 1)], grid_capacity=16)
        book.apply(NEW, BID, 99.90, 2)
        assert book.uses_grid(EntryType.BID)
        assert [lv.price for lv in book.depth(EntryType.BID)] == [100.0, 99.9]

    def test_clearing_returns_both_sides_to_the_grid(self):
        book = book_with([(100.0, 1), (1.0, 1)], [(100.01, 1)], grid_capacity=16)
        book.clear()
        assert book.uses_grid(EntryType.BID) and book.image() == ((), ())


class TestQueries:
    book = staticmethod(lambda: book_with([(100.0, 30), (99.99, 10)], [(100.02, 10), (100.03, 50)]))

    def test_bbo_spread_and_mid(self):
        book = self.book()
        assert book.bbo() == (100.0, 30, 100.02, 10)
        assert book.spread() == pytest.approx(0.02)
        assert book.mid() == pytest.approx(100.01)

    def test_microprice_leans_towards_the_thinner_side(self):
        assert self.book().microprice() == pytest.approx((100.0 * 10 + 100.02 * 30) / 40)

    def test_imbalance_over_one_and_two_levels(self):
        book = self.book()
        assert book.imbalance(1) == pytest.approx((30 - 10) / 40)
        assert book.imbalance(2) == pytest.approx((40 - 60) / 100)

    def test_depth_lists_the_best_levels_first(self):
        assert self.book().depth(EntryType.OFFER, 1) == [BookLevel(100.02, 10)]

    def test_an_empty_side_reads_as_nan(self):
        book = book_with([(100.0, 1)], [])
        bid_px, _, ask_px, ask_sz = book.bbo()
        assert bid_px == 100.0 and math.isnan(ask_px) and math.isnan(ask_sz)
        assert book.best_ask() is None


class TestRefusals:
    @pytest.mark.parametrize(
        ("action", "side", "price", "size", "words"),
        [
            (NEW, BID, 100.0, 5, "expected no level there"),
            (CHANGE, BID, 99.0, 5, "expected an existing level"),
            (DELETE, ASK, 101.0, 0, "expected an existing level"),
            (NEW, BID, 99.0, 0, "must be > 0"),
            (CHANGE, BID, 100.0, -1, "must be > 0"),
            (NEW, BID, 99.005, 1, "multiple of tick size"),
            (NEW, BID, 100.02, 1, "locked"),
            (NEW, BID, 100.05, 1, "crossed"),
        ],
    )
    def test_an_update_contradicting_the_book_is_refused(self, action, side, price, size, words):
        book = book_with([(100.0, 1)], [(100.02, 1)])
        with pytest.raises(BookInconsistent, match=words):
            book.apply(action, side, price, size)

    def test_a_declared_crossed_state_allows_crossing_until_it_ends(self):
        book = book_with([(100.0, 1)], [(100.02, 1)], crossing_declared=True)
        book.apply(NEW, BID, 100.05, 1)
        with pytest.raises(BookInconsistent, match="crossed"):
            book.declare_crossing(False)

    def test_a_message_may_pass_through_a_crossed_state_it_resolves(self):
        book = book_with([(100.0, 1)], [(100.02, 1)])
        book.apply_entries([NEW, DELETE], [BID, ASK], [100.03, 100.02], [1, 0])
        assert book.bbo()[0] == 100.03

    def test_a_price_level_that_disagrees_with_the_rank_is_refused(self):
        book = book_with([(100.0, 1), (99.99, 1)], [(100.02, 1)])
        with pytest.raises(BookInconsistent, match="is level 2, expected MDPriceLevel 1"):
            book.apply_entries([CHANGE], [BID], [99.99], [4], [1])
        book.apply_entries([CHANGE], [BID], [99.99], [4], [2])
        assert book.depth(EntryType.BID)[1] == BookLevel(99.99, 4)


class TestLevelKeyedFeeds:
    def test_delete_thru_removes_the_top_levels_and_delete_from_the_rest(self):
        book = book_with([(100.0, 1), (99.99, 2), (99.98, 3), (99.97, 4)], [(100.02, 1)])
        book.apply_entries([UpdateAction.DELETE_THRU], [BID], [0.0], [0.0], [2])
        assert [lv.price for lv in book.depth(EntryType.BID)] == [99.98, 99.97]
        book.apply_entries([UpdateAction.DELETE_FROM], [BID], [0.0], [0.0], [2])
        assert [lv.price for lv in book.depth(EntryType.BID)] == [99.98]

    def test_a_depth_limited_book_drops_the_level_a_new_one_pushes_out(self):
        book = book_with([(100.0, 1), (99.99, 2)], [(100.02, 1)], max_depth=2)
        book.apply_entries([NEW], [BID], [100.01], [5], [1])
        assert book.image()[0] == ((100.01, 5), (100.0, 1))


def test_negative_prices_work_on_the_grid():
    book = L2Book(Instrument(symbol="SPREAD", tick_size=0.25))
    book.apply_entries([NEW, NEW], [BID, ASK], [-1.5, -1.25], [1, 2])
    assert book.bbo() == (-1.5, 1, -1.25, 2)
