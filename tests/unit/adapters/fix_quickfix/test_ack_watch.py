"""Unacknowledged NewOrderSingles: asked after with 35=H, sent again when unknown."""

from __future__ import annotations

import dataclasses

from emp.adapters.fix_codec.tags import Tag
from emp.adapters.fix_quickfix.ack_watch import AckWatch
from emp.adapters.fix_quickfix.audit import Lineage
from emp.domain.orders import OrderStatus
from tests.unit.adapters.fix_quickfix.test_reconciler import Sent, listed, tracker_with

BODY = [(Tag.CL_ORD_ID, "a"), (Tag.SYMBOL, "ABC")]


def answer(cid: str, *, known: bool):
    report = listed(cid, "", 1, True)
    return dataclasses.replace(
        report,
        known=known,
        status=OrderStatus.NEW if known else OrderStatus.REJECTED,
        mass_request_id=None,
    )


def watch(**kwargs) -> tuple[AckWatch, Sent]:
    sent = Sent()
    return AckWatch(sent, lambda text: None, **kwargs), sent


class TestAckWatch:
    def test_an_acknowledged_order_is_forgotten_without_a_question(self):
        tracker = tracker_with("a")
        acks, sent = watch()
        acks.sent("a", BODY, Lineage("a"), now_s=0.0)
        tracker.orders["a"].status = OrderStatus.NEW  # its acknowledgement came
        acks.check(tracker, now_s=10.0)
        assert sent == [] and not acks.pending

    def test_an_order_unanswered_past_the_timeout_is_asked_after_once(self):
        tracker = tracker_with("a")
        acks, sent = watch(timeout_s=2.0)
        acks.sent("a", BODY, Lineage("a"), now_s=0.0)
        acks.check(tracker, now_s=1.5)
        assert sent == []
        acks.check(tracker, now_s=2.5)
        assert [m for m, _ in sent] == ["H"] and sent[0][1][Tag.CL_ORD_ID] == "a"
        acks.check(tracker, now_s=3.0)  # asked: no second question before the timeout
        assert len(sent) == 1

    def test_an_order_the_venue_does_not_know_is_sent_again_under_its_clordid(self):
        tracker = tracker_with("a")
        acks, sent = watch()
        acks.sent("a", BODY, Lineage("a"), now_s=0.0)
        acks.check(tracker, now_s=3.0)
        assert acks.resend_if_unknown(answer("a", known=False), now_s=3.1) is True
        assert sent[-1] == ("D", dict(BODY)) and acks.resent == 1

    def test_a_known_order_or_one_never_asked_about_goes_to_the_reconciler(self):
        tracker = tracker_with("a", "b")
        acks, _ = watch()
        acks.sent("a", BODY, Lineage("a"), now_s=0.0)
        acks.check(tracker, now_s=3.0)
        assert acks.resend_if_unknown(answer("a", known=True), now_s=3.1) is False
        assert acks.resend_if_unknown(answer("b", known=False), now_s=3.1) is False

    def test_after_the_last_resend_the_unknown_answer_rejects_the_order(self):
        tracker = tracker_with("a")
        acks, sent = watch(max_resends=1)
        acks.sent("a", BODY, Lineage("a"), now_s=0.0)
        acks.check(tracker, now_s=3.0)
        assert acks.resend_if_unknown(answer("a", known=False), now_s=3.0) is True
        acks.check(tracker, now_s=6.0)
        assert acks.resend_if_unknown(answer("a", known=False), now_s=6.0) is False
        assert not acks.pending
        assert [m for m, _ in sent] == ["H", "D", "H"]

    def test_an_order_older_than_its_maximum_age_is_not_sent_again(self):
        tracker = tracker_with("a")
        acks, sent = watch(max_age_s=5.0)
        acks.sent("a", BODY, Lineage("a"), now_s=0.0)
        acks.check(tracker, now_s=6.0)  # unanswered: asked after
        assert acks.resend_if_unknown(answer("a", known=False), now_s=6.1) is False
        assert [m for m, _ in sent] == ["H"] and not acks.pending


class _CountingOrders(dict):
    """A tracker's order dict that counts look-ups."""

    looked_up = 0

    def get(self, key, default=None):
        self.looked_up += 1
        return super().get(key, default)


class TestAckWatchCost:
    def test_a_check_stops_at_the_first_order_still_inside_its_timeout(self):
        cids = [f"c{n}" for n in range(1000)]
        tracker = tracker_with(*cids)
        acks, sent = watch(timeout_s=2.0)
        for n, cid in enumerate(cids):
            acks.sent(cid, BODY, Lineage(cid), now_s=n / 1000)
        for cid in cids[:10]:
            tracker.orders[cid].status = OrderStatus.NEW
        tracker.orders = _CountingOrders(tracker.orders)
        acks.check(tracker, now_s=1.0)
        assert tracker.orders.looked_up == 11, "ten acknowledged, then the first young one"
        assert sent == [] and acks.pending

    def test_an_order_asked_after_moves_behind_younger_ones(self):
        tracker = tracker_with("a", "b")
        acks, sent = watch(timeout_s=2.0)
        acks.sent("a", BODY, Lineage("a"), now_s=0.0)
        acks.sent("b", BODY, Lineage("b"), now_s=1.0)
        acks.check(tracker, now_s=2.5)  # a: asked
        acks.check(tracker, now_s=3.5)  # b: asked; a is not due again until 4.5
        acks.check(tracker, now_s=4.6)  # a again
        assert [body[Tag.CL_ORD_ID] for _, body in sent] == ["a", "b", "a"]
