"""L3Book: orders aggregate to exactly the L2 book built from the same events."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.domain.books import BookInconsistent, L2Book, L3Book, diff_levels
from emp.domain.market_data import EntryType
from tests.unit.domain.books.streams import ASK, BID, CHANGE, DELETE, INSTRUMENT, NEW, l3_stream


def aggregate(orders: dict) -> tuple:
    levels: dict[tuple[int, float], float] = {}
    for t, p, s in orders.values():
        levels[(t, p)] = levels.get((t, p), 0.0) + s
    bids = sorted(((p, s) for (t, p), s in levels.items() if t == BID), reverse=True)
    asks = sorted((p, s) for (t, p), s in levels.items() if t == ASK)
    return tuple(bids), tuple(asks)


class TestAggregation:
    @settings(max_examples=40, deadline=None)
    @given(seed=st.integers(min_value=0, max_value=2**32 - 1))
    def test_l3_aggregate_equals_the_l2_book_fed_the_level_changes_of_the_same_events(self, seed):
        messages, images = l3_stream(np.random.default_rng(seed), 50)
        l3, l2 = L3Book(INSTRUMENT), L2Book(INSTRUMENT)
        before: tuple = ((), ())
        for message, image in zip(messages, images, strict=True):
            l3.apply_entries(*message)
            after = aggregate(image)
            rows = diff_levels(before, after)
            l2.apply_entries(
                [r[0] for r in rows],
                [r[1] for r in rows],
                [r[2] for r in rows],
                [r[3] for r in rows],
            )
            before = after
            assert l3.image() == image
            assert l3.levels.image() == l2.image() == after
            l3.check_invariants()


class TestOrders:
    def test_a_size_change_keeps_time_priority_and_a_price_change_loses_it(self):
        book = L3Book(INSTRUMENT)
        book.apply_entries(
            [NEW, NEW, NEW], [BID, BID, ASK], [10.0, 10.0, 10.5], [1, 2, 3], ["a", "b", "c"]
        )
        book.apply_entries([CHANGE], [BID], [10.0], [5], ["a"])
        assert book.queue(EntryType.BID, 10.0) == [("a", 5), ("b", 2)]
        book.apply_entries([CHANGE, CHANGE], [BID, BID], [10.01, 10.0], [5, 2], ["a", "a"])
        assert book.queue(EntryType.BID, 10.0) == [("b", 2), ("a", 2)]

    @pytest.mark.parametrize(
        ("action", "side", "oid", "words"),
        [
            (NEW, BID, "a", "expected an unknown id"),
            (CHANGE, BID, "zz", "expected a known id"),
            (DELETE, BID, "zz", "expected a known id"),
            (CHANGE, ASK, "a", "is a BID"),
            (NEW, BID, "", "needs MDEntryID"),
        ],
    )
    def test_an_update_that_contradicts_the_orders_is_refused(self, action, side, oid, words):
        book = L3Book(INSTRUMENT)
        book.apply_entries([NEW], [BID], [10.0], [1], ["a"])
        with pytest.raises(BookInconsistent, match=words):
            book.apply_entries([action], [side], [9.0], [1], [oid])
