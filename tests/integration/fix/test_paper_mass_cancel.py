"""`emp paper`'s kill switch over FIX: cancels issued together (``cancel_orders``, the kill
switch's of one step) go as one OrderMassCancelRequest (35=q) when they cancel every working
order, one OrderCancelRequest (35=F) each otherwise; a lone ``cancel_order`` is one 35=F."""

from __future__ import annotations

import pytest

from emp.adapters.clocks import ManualClock
from emp.adapters.fix_quickfix.paper import PaperFixVenue, RemoteFixVenue
from emp.app.engine import BarEventEngine
from emp.app.venue_commands import load_fix_settings
from emp.domain.commands import CancelOrder, SubmitOrder
from emp.domain.events import OrderAccepted, OrderCanceled, OrderFilled
from emp.domain.matching import ladder
from emp.domain.orders import OrderSide, OrderStatus
from emp.domain.risk import RiskManager, TradingState
from tests.integration.fix.conftest import INSTRUMENTS, SYMBOL, message_lines, of_kind
from tests.integration.fix.test_mass_cancel import bid
from tests.unit.app.test_engine import make_series
from tests.unit.app.test_engine_cancel_batches import BuyAndRest, KillAtPoll

BOOK = ladder(INSTRUMENTS[SYMBOL], ts_ns=0, best_bid=99.99, levels=3, size=1_000)
BIDS = ["w0", "w1", "w2"]


def kill_cancel(n: int, target: str) -> CancelOrder:
    return CancelOrder(
        client_order_id=f"risk-cancel-{n}",
        orig_client_order_id=target,
        symbol=SYMBOL,
        side=OrderSide.BUY,
    )


def paper_with_bids(lab, *, mass_cancel: bool = True):
    server = lab.server(initial=[BOOK])
    client = lab.client(server.config.port)
    client.mass_cancel = mass_cancel
    paper = PaperFixVenue(server, client, INSTRUMENTS)
    for n, cid in enumerate(BIDS):
        paper.submit_order(bid(cid, 50.0 - n))
    assert len(of_kind(paper.drain_events(), OrderAccepted)) == len(BIDS)
    return paper, client


def sent(client, msg_type: str) -> list[str]:
    return [
        line for line in message_lines(client) if f"|35={msg_type}|" in line and " OUT " in line
    ]


class TestKillSwitchCancelsOverFix:
    def test_the_kill_switchs_cancels_of_every_working_order_go_as_one_mass_cancel(self, lab):
        paper, client = paper_with_bids(lab)
        paper.cancel_orders([kill_cancel(n, cid) for n, cid in enumerate(BIDS, start=1)])
        flatten = SubmitOrder(
            client_order_id="risk-flatten-1", symbol=SYMBOL, side=OrderSide.SELL, quantity=5
        )
        paper.submit_order(flatten)  # the kill switch's flatten order follows its cancels
        events = paper.drain_events()
        assert sorted(e.client_order_id for e in of_kind(events, OrderCanceled)) == BIDS
        assert [f.fill.client_order_id for f in of_kind(events, OrderFilled)] == ["risk-flatten-1"]
        assert len(sent(client, "q")) == 1 and sent(client, "F") == []
        assert "|11=risk-cancel-1-Q|" in sent(client, "q")[0]
        assert client.tracker.open_orders() == []

    def test_cancels_that_leave_an_order_working_go_one_by_one(self, lab):
        paper, client = paper_with_bids(lab)
        paper.cancel_orders([kill_cancel(1, "w0"), kill_cancel(2, "w1")])
        events = paper.drain_events()
        assert sorted(e.client_order_id for e in of_kind(events, OrderCanceled)) == ["w0", "w1"]
        assert sent(client, "q") == [] and len(sent(client, "F")) == 2
        assert [o.client_order_id for o in client.tracker.open_orders()] == ["w2"]

    @pytest.mark.parametrize("mass_cancel", [True, False])
    def test_lone_cancels_and_a_client_without_mass_cancel_send_35_f(self, lab, mass_cancel):
        paper, client = paper_with_bids(lab, mass_cancel=mass_cancel)
        cancels = [kill_cancel(n, cid) for n, cid in enumerate(BIDS, start=1)]
        if mass_cancel:  # every order canceled, but one request at a time
            for cancel in cancels:
                paper.cancel_order(cancel)
        else:
            paper.cancel_orders(cancels)
        events = paper.drain_events()
        assert len(of_kind(events, OrderCanceled)) == len(BIDS)
        assert sent(client, "q") == [] and len(sent(client, "F")) == len(BIDS)

    def test_a_remote_venue_session_batches_the_same_way(self, lab):
        server = lab.server(initial=[BOOK])
        client = lab.client(server.config.port)
        client.mass_cancel = True
        remote = RemoteFixVenue(client)
        for n, cid in enumerate(BIDS):
            remote.submit_order(bid(cid, 50.0 - n))
        remote.drain_events()
        remote.cancel_orders([kill_cancel(n, cid) for n, cid in enumerate(BIDS, start=1)])
        events = remote.drain_events()
        assert len(of_kind(events, OrderCanceled)) == len(BIDS)
        assert len(sent(client, "q")) == 1 and sent(client, "F") == []


class TestMassCancelSetting:
    def test_mass_cancel_is_on_unless_the_environment_turns_it_off(self, monkeypatch):
        for key in ("EMP_FIX_MASS_CANCEL", "EMP_FIX_PASSWORD", "EMP_FIX_USERNAME"):
            monkeypatch.delenv(key, raising=False)
        assert load_fix_settings().mass_cancel is True
        monkeypatch.setenv("EMP_FIX_MASS_CANCEL", "false")
        assert load_fix_settings().mass_cancel is False


class TestEngineKillOverFix:
    def test_a_kill_mid_run_cancels_the_resting_orders_with_one_35_q_then_flattens(self, lab):
        """The whole chain: the engine's kill switch → ``cancel_orders`` → PaperFixVenue →
        one OrderMassCancelRequest over quickfix → the served venue cancels each order."""
        server = lab.server(initial=[BOOK])
        client = lab.client(server.config.port)
        client.mass_cancel = True
        engine = BarEventEngine(
            bars={SYMBOL: make_series(SYMBOL, [100, 101, 102, 103, 104, 105])},
            instruments=INSTRUMENTS,
            strategy=BuyAndRest(),
            risk=RiskManager(),
            venue=PaperFixVenue(server, client, INSTRUMENTS),
            clock=ManualClock(),  # the run's simulated time; FIX stamps its own
            initial_cash=100_000.0,
            kill_signal=KillAtPoll(3),
        )
        result = engine.run()
        assert result.risk_state["trading_state"] == TradingState.HALTED.value
        assert result.portfolio.positions == {}
        (bid_order,) = [o for o in result.orders if o.limit_price == 50.0]
        assert bid_order.status is OrderStatus.CANCELED
        assert len(sent(client, "q")) == 1 and sent(client, "F") == []
