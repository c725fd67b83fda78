"""A subscription whose snapshot does not come is sent again (same MDReqID), once per
``retry_s``, until the snapshot arrives; the wire is replaced by a recorder (no quickfix)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from emp.adapters.fix_codec.md_encode import encode_md
from emp.adapters.fix_quickfix import FixSessionConfig, QuickfixMarketData
from emp.domain.instruments import Instrument
from tests.fakes.clock import FakeClock
from tests.unit.domain.books.streams import snapshot_of


@pytest.fixture
def md(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    config = FixSessionConfig(
        host="127.0.0.1", port=1, sender_comp_id="EMPMD", target_comp_id="EMPSIM",
        store_dir=tmp_path / "store", log_dir=tmp_path / "log",
    )  # fmt: skip
    subscriber = QuickfixMarketData(
        config, clock=FakeClock(), instruments={"ABC": Instrument(symbol="ABC")}, retry_s=2.0
    )
    sent: list[tuple[str, str, tuple[str, ...]]] = []
    monkeypatch.setattr(
        subscriber,
        "_send_request",
        lambda request_id, kind, symbols, depth: sent.append((request_id, kind, tuple(symbols))),
    )
    subscriber._online = True  # as after a Logon
    return subscriber, sent


def snapshot_text(request_id: str) -> str:
    message = dataclasses.replace(
        snapshot_of((((99.0, 5.0),), ((101.0, 5.0),)), seq_num=2, ts_ns=1, rpt_seq=0),
        request_id=request_id,
    )
    return encode_md(message, sender_comp_id="EMPSIM", target_comp_id="EMPMD").decode()


class TestUnansweredSubscriptions:
    def test_a_subscription_without_its_snapshot_is_sent_again_after_retry_s(self, md) -> None:
        subscriber, sent = md
        request_id = subscriber.subscribe(["ABC"])
        sent_at = subscriber._unanswered[request_id][0]
        subscriber._resend_unanswered(sent_at + 1.0)  # not yet overdue
        assert len(sent) == 1
        subscriber._resend_unanswered(sent_at + 2.5)
        assert [r for r, _, _ in sent] == [request_id, request_id]
        assert subscriber.requests_resent == 1

    def test_the_snapshot_ends_the_waiting(self, md) -> None:
        subscriber, sent = md
        request_id = subscriber.subscribe(["ABC"])
        sent_at = subscriber._unanswered[request_id][0]
        subscriber._application(snapshot_text(request_id))
        subscriber._resend_unanswered(sent_at + 10.0)
        assert len(sent) == 1 and subscriber.requests_resent == 0
        assert not subscriber.books.is_stale("ABC")

    def test_nothing_is_resent_while_the_session_is_down(self, md) -> None:
        subscriber, sent = md
        request_id = subscriber.subscribe(["ABC"])
        sent_at = subscriber._unanswered[request_id][0]
        subscriber._session_lost()
        subscriber._resend_unanswered(sent_at + 10.0)
        assert len(sent) == 1
