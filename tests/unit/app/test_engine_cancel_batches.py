"""The engine hands the kill switch's cancels of one step to the venue together
(``VenuePort.cancel_orders``), before its flattening orders; a strategy's own cancel goes
alone (``cancel_order``)."""

from __future__ import annotations

from collections.abc import Sequence

from emp.adapters.clocks import ManualClock
from emp.adapters.fix_sim import SimulatedVenue
from emp.app.engine import BarEventEngine
from emp.domain.bars import Bar
from emp.domain.commands import CancelOrder, SubmitOrder
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.orders import OrderSide, OrderStatus, OrderType, TimeInForce
from emp.domain.risk import KILL_SWITCH_STRATEGY, RiskManager, TradingState
from emp.domain.strategy import OrderIntent, Strategy, StrategyContext
from tests.unit.app.test_engine import make_series

SYMBOLS = ("AAA", "BBB")


class RecordingVenue(SimulatedVenue):
    """The simulated venue, noting each order command as it arrives."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def submit_order(self, command: SubmitOrder) -> None:
        self.calls.append(("submit", (command.client_order_id,)))
        super().submit_order(command)

    def cancel_order(self, command: CancelOrder) -> None:
        self.calls.append(("cancel", (command.orig_client_order_id,)))
        super().cancel_order(command)

    def cancel_orders(self, commands: Sequence[CancelOrder]) -> None:
        self.calls.append(("cancel_orders", tuple(c.orig_client_order_id for c in commands)))
        for command in commands:  # through SimulatedVenue's own cancel, not the noted one
            SimulatedVenue.cancel_order(self, command)


class BuyAndRest(Strategy):
    """On each symbol's first bar: buy 10 at market and rest a GTC bid for 5 far below."""

    name = "rester"

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Sequence[OrderIntent]:
        if bar.symbol in self.seen:
            return ()
        self.seen.add(bar.symbol)
        return [
            OrderIntent(symbol=bar.symbol, side=OrderSide.BUY, quantity=10),
            OrderIntent(
                symbol=bar.symbol,
                side=OrderSide.BUY,
                quantity=5,
                order_type=OrderType.LIMIT,
                limit_price=50.0,
                time_in_force=TimeInForce.GTC,
            ),
        ]


class KillAtPoll:
    def __init__(self, poll: int) -> None:
        self.left = poll

    def poll(self) -> str | None:
        self.left -= 1
        return "operator kill" if self.left == 0 else None


def run(kill_at: int | None, venue_type: type[SimulatedVenue] = RecordingVenue):
    clock = ManualClock()
    instruments = InstrumentRegistry(Instrument(symbol=s) for s in SYMBOLS)
    venue = venue_type(instruments, clock)
    engine = BarEventEngine(
        bars={s: make_series(s, [100, 101, 102, 103, 104, 105]) for s in SYMBOLS},
        instruments=instruments,
        strategy=BuyAndRest(),
        risk=RiskManager(),
        venue=venue,
        clock=clock,
        initial_cash=100_000.0,
        kill_signal=KillAtPoll(kill_at) if kill_at is not None else None,
    )
    return engine.run(), venue


class TestKillSwitchCancels:
    def test_one_steps_cancels_reach_the_venue_together_before_the_flatten(self):
        result, venue = run(kill_at=3)
        kinds = [kind for kind, _ in venue.calls]
        assert kinds.count("cancel_orders") == 1 and "cancel" not in kinds
        at = kinds.index("cancel_orders")
        assert venue.calls[at][1] == ("rester-2", "rester-4")  # both resting bids
        flattens = [ids[0] for kind, ids in venue.calls[at + 1 :] if kind == "submit"]
        assert len(flattens) == 2 and all(cid.startswith("risk-flatten-") for cid in flattens)
        assert result.risk_state["trading_state"] == TradingState.HALTED.value
        assert result.portfolio.positions == {}
        status = {o.client_order_id: o.status for o in result.orders}
        assert status["rester-2"] is status["rester-4"] is OrderStatus.CANCELED
        assert {o.strategy for o in result.orders if o.client_order_id in flattens} == {
            KILL_SWITCH_STRATEGY
        }

    def test_without_a_kill_nothing_is_canceled(self):
        result, venue = run(kill_at=None)
        assert [kind for kind, _ in venue.calls] == ["submit"] * 4
        assert result.risk_state["trading_state"] == TradingState.ACTIVE.value

    def test_the_simulated_venues_own_batch_cancel_gives_the_same_run(self):
        recorded, _ = run(kill_at=3)
        plain, venue = run(kill_at=3, venue_type=SimulatedVenue)
        assert type(venue) is SimulatedVenue
        assert [(f.client_order_id, f.price) for f in plain.fills] == [
            (f.client_order_id, f.price) for f in recorded.fills
        ]
        assert [o.status for o in plain.orders] == [o.status for o in recorded.orders]
