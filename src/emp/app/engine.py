"""The event loop that drives a strategy through risk and a venue over bars.

One loop for every bar-driven run (``emp demo`` today; backtests and paper sessions reuse
it with another clock and venue). Per timestamp, in this order:

1. the clock advances to the bar time and the venue matches working orders against each
   bar that opens now (next-bar-open fills), producing execution events;
2. events update orders, the portfolio and the trade log; strategies hear of their fills;
3. the portfolio is marked at each bar's close;
4. the strategy sees each closed bar and returns intents; every intent is checked against
   its instrument (:class:`~emp.domain.errors.InvalidOrder` on a malformed one) and the
   risk engine (a refusal becomes a REJECTED order with the reasons), then sent;
5. equity and exposure are recorded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from emp.app.market_windows import MarketFeed, MarketWindows
from emp.domain.bars import Bar, BarSeries
from emp.domain.clock_time import ns_to_iso
from emp.domain.commands import CancelOrder, SubmitOrder, VenueCommand
from emp.domain.errors import InvalidBars, InvalidOrder, StrategyError
from emp.domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
)
from emp.domain.fills import Fill
from emp.domain.instruments import InstrumentRegistry
from emp.domain.orders import Order, OrderStatus
from emp.domain.portfolio import Portfolio
from emp.domain.risk import (
    AccountSnapshot,
    RiskCheckInput,
    RiskManager,
    TradingState,
    TradingStateChanged,
)
from emp.domain.strategy import OrderIntent, Strategy, StrategyContext
from emp.domain.trades import ClosedTrade, TradeLog
from emp.ports.kill_signal import KillSignalPort
from emp.ports.metrics_sink import MetricsSinkPort
from emp.ports.settable_clock import SettableClockPort
from emp.ports.simulated_venue import SimulatedVenuePort

ProgressCallback = Callable[[int, int], None]


@dataclass(slots=True)
class RunResult:
    """What a run produced, in time order."""

    ts_ns: np.ndarray
    equity: np.ndarray
    gross_exposure: np.ndarray
    orders: list[Order]
    fills: list[Fill]
    trades: list[ClosedTrade]
    portfolio: Portfolio
    risk_rejections: int = 0
    risk_resizes: int = 0
    venue_rejections: int = 0
    notes: list[str] = field(default_factory=list)
    risk_state: dict = field(default_factory=dict)


class BarEventEngine:
    """Drives one strategy over aligned multi-symbol bars. Single-threaded, deterministic."""

    def __init__(
        self,
        *,
        bars: Mapping[str, BarSeries],
        instruments: InstrumentRegistry,
        strategy: Strategy,
        risk: RiskManager,
        venue: SimulatedVenuePort,
        clock: SettableClockPort,
        initial_cash: float,
        metrics: MetricsSinkPort | None = None,
        kill_signal: KillSignalPort | None = None,
        market: MarketFeed | None = None,
    ) -> None:
        for symbol in bars:
            instruments[symbol]  # raises UnknownInstrument early
        self._bars = dict(bars)
        self._instruments = instruments
        self._strategy = strategy
        self._risk = risk
        self._venue = venue
        self._clock = clock
        self._metrics = metrics
        self._portfolio = Portfolio(initial_cash)
        self._ctx = StrategyContext(self._portfolio, instruments)
        self._orders: dict[str, Order] = {}
        self._working: dict[str, Order] = {}
        self._kill_signal = kill_signal
        # rolling windows only when the risk manager reads them (VaR, beta, tiers, regime)
        self._market = MarketWindows(market) if market is not None and market.needed else None
        self._risk_resizes = 0
        self._fills: list[Fill] = []
        self._trades = TradeLog()
        self._sequence = 0
        self._risk_rejections = 0
        self._venue_rejections = 0

    # ------------------------------------------------------------------ loop
    def run(self, progress: ProgressCallback | None = None) -> RunResult:
        """Run over the bars given to the constructor."""
        series = [s.ts_ns for s in self._bars.values()]
        total = int(np.unique(np.concatenate(series)).shape[0]) if series else 0
        return self.run_chunks([self._bars], progress, total=total)

    def run_chunks(
        self,
        chunks: Iterable[Mapping[str, BarSeries]],
        progress: ProgressCallback | None = None,
        *,
        total: int | None = None,
    ) -> RunResult:
        """Run over consecutive time windows of bars (streaming input).

        Each chunk maps symbols to their bars in one window; windows must follow each other
        in time (every timestamp of a chunk after every timestamp of the one before). The
        result equals :meth:`run` over the concatenated bars: the engine keeps no bars, only
        the per-timestamp equity and exposure. ``total`` (the number of timestamps, when
        known) is passed to ``progress``; otherwise the count so far is.
        """
        self._call_strategy("on_start", lambda: self._strategy.on_start(self._ctx))
        timelines: list[np.ndarray] = []
        equities: list[np.ndarray] = []
        grosses: list[np.ndarray] = []
        done = 0
        last_ts: int | None = None
        for chunk in chunks:
            for symbol in chunk:
                self._instruments[symbol]  # raises UnknownInstrument early
            if not chunk:
                continue
            timeline = np.unique(np.concatenate([s.ts_ns for s in chunk.values()]))
            if timeline.shape[0] == 0:
                continue
            if last_ts is not None and int(timeline[0]) <= last_ts:
                raise InvalidBars(
                    "expected each chunk of bars to start after the previous one ended "
                    f"(ts_ns {last_ts}), was {int(timeline[0])}"
                )
            last_ts = int(timeline[-1])
            equity, gross = self._run_window(chunk, timeline, progress, done, total)
            done += int(timeline.shape[0])
            timelines.append(timeline)
            equities.append(equity)
            grosses.append(gross)
        self._call_strategy("on_stop", lambda: self._strategy.on_stop(self._ctx))
        if not timelines:
            empty = np.zeros(0)
            return self._result(np.zeros(0, dtype=np.int64), empty, empty)
        return self._result(
            np.concatenate(timelines), np.concatenate(equities), np.concatenate(grosses)
        )

    def _run_window(
        self,
        bars: Mapping[str, BarSeries],
        timeline: np.ndarray,
        progress: ProgressCallback | None,
        done: int,
        total: int | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        cursors = {symbol: 0 for symbol in bars}
        symbols = sorted(bars)
        equity = np.empty(timeline.shape[0])
        gross = np.empty(timeline.shape[0])
        for step, ts in enumerate(timeline.tolist()):
            bars_now: list[Bar] = []
            for symbol in symbols:
                series, i = bars[symbol], cursors[symbol]
                if i < len(series) and int(series.ts_ns[i]) == ts:
                    bars_now.append(series.bar(i))
                    cursors[symbol] = i + 1
            self._clock.advance_to(ts)
            self._ctx.ts_ns = ts
            for bar in bars_now:
                self._venue.on_bar(bar)
            self._process_events()
            for bar in bars_now:
                self._portfolio.mark(bar.symbol, bar.close)
            if self._market is not None:
                self._market.observe(bars_now)
            self._risk_step(ts)
            for bar in bars_now:
                intents = self._call_strategy(
                    "on_bar", lambda bar=bar: self._strategy.on_bar(bar, self._ctx), bar
                )
                for intent in intents or ():
                    self._route(intent, bar)
            self._process_events()
            equity[step] = self._portfolio.equity
            gross[step] = self._portfolio.gross_exposure
            if progress is not None:
                count = done + step + 1
                progress(count, total if total is not None else count)
        return equity, gross

    # --------------------------------------------------------------- helpers
    def _call_strategy(self, hook: str, call: Callable[[], object], bar: Bar | None = None):
        try:
            return call()
        except Exception as error:
            where = f" on {bar.symbol} bar at ts_ns={bar.ts_ns}" if bar is not None else ""
            raise StrategyError(
                f"strategy {self._strategy.name!r} raised {type(error).__name__} in "
                f"{hook}{where}: {error}"
            ) from error

    def _route(self, intent: OrderIntent, bar: Bar) -> None:
        if not isinstance(intent, OrderIntent):
            raise InvalidOrder(
                f"strategy {self._strategy.name!r} returned {type(intent).__name__}, "
                "expected OrderIntent"
            )
        instrument = self._instruments[intent.symbol]
        instrument.check_order(intent.quantity, intent.limit_price)
        reference = self._portfolio.mark_price(intent.symbol) or bar.close
        decision = self._risk.check(self._risk_input(intent, reference, bar.ts_ns))
        quantity = decision.quantity_for(intent.quantity) if decision.approved else intent.quantity
        self._sequence += 1
        order = Order(
            client_order_id=f"{self._strategy.name}-{self._sequence}",
            symbol=intent.symbol,
            side=intent.side,
            quantity=quantity,
            order_type=intent.order_type,
            limit_price=intent.limit_price,
            time_in_force=intent.time_in_force,
            strategy=self._strategy.name,
            created_ns=bar.ts_ns,
        )
        self._orders[order.client_order_id] = order
        if not decision.approved:
            order.reject(f"risk: {decision.reason}")
            self._risk_rejections += 1
            self._count("emp_orders_rejected_total", source="risk")
            return
        if decision.quantity is not None:
            self._risk_resizes += 1
        self._send(order)

    def _send(self, order: Order) -> None:
        self._working[order.client_order_id] = order
        self._venue.submit_order(
            SubmitOrder(
                client_order_id=order.client_order_id,
                symbol=order.symbol,
                side=order.side,
                quantity=order.quantity,
                order_type=order.order_type,
                limit_price=order.limit_price,
                time_in_force=order.time_in_force,
                strategy=order.strategy,
                ts_ns=self._clock.now_ns(),
            )
        )
        self._count("emp_orders_submitted_total")

    def _risk_step(self, ts: int) -> None:
        """Per timestamp: update the risk state and carry out what it commands."""
        account = AccountSnapshot.from_portfolio(
            self._portfolio, ts_ns=ts, working_orders=list(self._working.values())
        )
        market = self._market
        if market is None:
            commands = self._risk.on_bar(account)
        else:
            commands = self._risk.on_bar(
                account, reference_closes=market.reference_closes(), returns=market.history()
            )
        if self._kill_signal is not None and self._risk.state is not TradingState.HALTED:
            reason = self._kill_signal.poll()
            if reason is not None:
                commands = (
                    *commands,
                    *self._risk.signal(ts_ns=ts, reason=reason, account=account),
                )
        self._execute(commands, ts)

    def _execute(self, commands: tuple[VenueCommand, ...], ts: int) -> None:
        for command in commands:
            if isinstance(command, CancelOrder):
                target = self._working.get(command.orig_client_order_id)
                if target is None:
                    continue
                if target.status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED):
                    target.request_cancel()
                self._venue.cancel_order(command)
            elif isinstance(command, SubmitOrder):
                order = Order(
                    client_order_id=command.client_order_id,
                    symbol=command.symbol,
                    side=command.side,
                    quantity=command.quantity,
                    order_type=command.order_type,
                    limit_price=command.limit_price,
                    time_in_force=command.time_in_force,
                    strategy=command.strategy,
                    created_ns=ts,
                )
                self._orders[order.client_order_id] = order
                self._send(order)
            else:  # pragma: no cover - the risk layer issues cancels and new orders only
                raise InvalidOrder(f"unexpected risk command {type(command).__name__}")

    def _risk_input(self, intent: OrderIntent, reference_price: float, ts: int) -> RiskCheckInput:
        open_buy = open_sell = 0.0
        for order in self._working.values():
            if order.symbol == intent.symbol:
                if order.side.sign > 0:
                    open_buy += order.leaves_quantity
                else:
                    open_sell += order.leaves_quantity
        return RiskCheckInput(
            intent=intent,
            position=self._portfolio.quantity(intent.symbol),
            open_buy_quantity=open_buy,
            open_sell_quantity=open_sell,
            reference_price=reference_price,
            equity=self._portfolio.equity,
            strategy=self._strategy.name,
            ts_ns=ts,
            open_order_count=len(self._working),
            lot_size=self._instruments[intent.symbol].lot_size,
            average_price=self._portfolio.position(intent.symbol).average_price,
            context=self._risk.context,
        )

    def _process_events(self) -> None:
        for event in self._venue.drain_events():
            self._apply(event)

    def _apply(self, event: OrderEvent) -> None:
        if isinstance(event, OrderCancelRejected):
            target = self._orders.get(event.orig_client_order_id)
            if target is not None and target.status in (
                OrderStatus.PENDING_CANCEL,
                OrderStatus.PENDING_REPLACE,
            ):
                target.reject_request()
            return
        order = self._orders.get(event.client_order_id)
        if isinstance(event, OrderReplaced):
            original = self._orders[event.orig_client_order_id]
            successor = original.replace_with(
                event.client_order_id, event.quantity, event.limit_price, event.ts_ns
            )
            self._orders[successor.client_order_id] = successor
            self._working.pop(original.client_order_id, None)
            self._working[successor.client_order_id] = successor
            return
        if order is None:
            raise InvalidOrder(f"venue reported on unknown order {event.client_order_id!r}")
        if isinstance(event, OrderAccepted):
            order.accept(event.venue_order_id)
        elif isinstance(event, OrderRejected):
            order.reject(event.reason)
            self._venue_rejections += 1
            self._count("emp_orders_rejected_total", source="venue")
        elif isinstance(event, OrderFilled):
            fill = event.fill
            order.fill(fill.quantity, fill.price)
            realized = self._portfolio.apply_fill(fill)
            self._trades.record(fill, realized, self._portfolio.quantity(fill.symbol))
            self._fills.append(fill)
            self._count("emp_fills_total")
            if order.strategy == self._strategy.name:
                self._call_strategy("on_fill", lambda: self._strategy.on_fill(fill, self._ctx))
        elif isinstance(event, OrderCanceled):
            order.cancel()
        elif isinstance(event, OrderExpired):
            order.expire()
        if not order.is_open:
            self._working.pop(order.client_order_id, None)

    def _count(self, name: str, **labels: str) -> None:
        if self._metrics is not None:
            self._metrics.increment(name, **labels)

    def _result(self, ts: np.ndarray, equity: np.ndarray, gross: np.ndarray) -> RunResult:
        notes = []
        open_positions = self._portfolio.positions
        if open_positions:
            notes.append(
                f"{len(open_positions)} position(s) open at the end, marked at the last close: "
                + ", ".join(f"{s} {p.quantity:g}" for s, p in sorted(open_positions.items()))
            )
        if self._working:
            notes.append(f"{len(self._working)} order(s) still working at the end")
        for event in self._risk.audit:
            if isinstance(event, TradingStateChanged):
                notes.append(
                    f"risk: {event.previous} → {event.current} at {ns_to_iso(event.ts_ns)} "
                    f"({event.source}: {event.reason})"
                )
        if not all(math.isfinite(x) for x in equity):
            notes.append("equity contains non-finite values")
        return RunResult(
            ts_ns=ts,
            equity=equity,
            gross_exposure=gross,
            orders=list(self._orders.values()),
            fills=list(self._fills),
            trades=list(self._trades.closed),
            portfolio=self._portfolio,
            risk_rejections=self._risk_rejections,
            risk_resizes=self._risk_resizes,
            venue_rejections=self._venue_rejections,
            notes=notes,
            risk_state=self._risk.to_dict(),
        )
