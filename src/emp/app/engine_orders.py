"""The event engine's order path: intents to orders, orders to the venue, venue events back.

:class:`OrderPath` is the half of :class:`~emp.app.engine.BarEventEngine` that handles
orders; the engine's per-bar loop (:mod:`emp.app.engine`) calls it. An intent is checked
against its instrument (:class:`~emp.domain.errors.InvalidOrder` on a malformed one), the
account's buying power (:mod:`emp.app.engine_account`; a refusal is a REJECTED order) and
the risk manager (a refusal becomes a REJECTED order with the reasons; a resize is sent
resized), then sent. Venue events update orders, the portfolio, the trade log and the
strategy (its own fills).
"""

from __future__ import annotations

from collections.abc import Callable

from emp.app.engine_account import AccountKeeper
from emp.app.engine_members import StrategyGroup
from emp.domain.bars import Bar
from emp.domain.commands import CancelOrder, SubmitOrder, VenueCommand
from emp.domain.errors import InvalidOrder, StrategyError
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
from emp.domain.matching import MarketUpdate
from emp.domain.orders import Order, OrderStatus
from emp.domain.portfolio import Portfolio
from emp.domain.risk import RiskCheckInput, RiskManager
from emp.domain.risk.engine import APPROVED
from emp.domain.strategy import OrderIntent, Strategy, StrategyContext
from emp.domain.trades import TradeLog
from emp.ports.metrics_sink import MetricsSinkPort
from emp.ports.settable_clock import SettableClockPort
from emp.ports.simulated_venue import SimulatedVenuePort


class OrderPath:
    """Order routing and venue-event bookkeeping, over the engine's state."""

    _instruments: InstrumentRegistry
    _strategy: Strategy
    _risk: RiskManager
    _venue: SimulatedVenuePort
    _clock: SettableClockPort
    _metrics: MetricsSinkPort | None
    _portfolio: Portfolio
    _ctx: StrategyContext
    _keeper: AccountKeeper
    _account_checks: bool
    _orders: dict[str, Order]
    _working: dict[str, Order]
    _fills: list[Fill]
    _trades: TradeLog
    _filled_since_risk: dict[str, None]
    _sequence: int
    _order_prefix: str
    _explicit_prefix: str | None
    _group: StrategyGroup | None
    _owners: frozenset[str]
    _risk_rejections: int
    _risk_resizes: int
    _venue_rejections: int
    _account_rejections: int
    #: ``(*SubmitOrder fields) -> SubmitOrder`` and ``(*RiskCheckInput fields) ->
    #: RiskCheckInput``, in field order (engine_steps' builders: one of each per order)
    _submit: Callable[..., SubmitOrder]
    _check_input: Callable[..., RiskCheckInput]

    def _call_strategy(self, hook: str, call: Callable[[], object], bar: Bar | None = None):
        try:
            return call()
        except Exception as error:
            raise self._strategy_error(hook, error, bar) from error

    def _strategy_error(
        self, hook: str, error: Exception, event: Bar | MarketUpdate | None
    ) -> StrategyError:
        """``event``: the bar or book update the strategy was handling, if any."""
        where = ""
        if event is not None:
            kind = "bar" if isinstance(event, Bar) else type(event).__name__
            where = f" on {event.symbol} {kind} at ts_ns={event.ts_ns}"
        return StrategyError(
            f"strategy {self._strategy.name!r} raised {type(error).__name__} in "
            f"{hook}{where}: {error}"
        )

    def _route(self, intent: OrderIntent, bar: Bar) -> None:
        """Route an intent decided on ``bar`` (priced at its close when nothing is marked)."""
        self._route_at(intent, bar.close, bar.ts_ns)

    def _route_at(self, intent: OrderIntent, fallback_price: float | None, ts_ns: int) -> None:
        """Route an intent decided at ``ts_ns``: checks, risk, venue (the module doc).

        The reference price is the symbol's mark, else ``fallback_price``; with neither
        (a book update that priced nothing yet) the order is rejected by risk.
        """
        if not isinstance(intent, OrderIntent):
            raise InvalidOrder(
                f"strategy {self._strategy.name!r} returned {type(intent).__name__}, "
                "expected OrderIntent"
            )
        symbol = intent.symbol
        instrument = self._instruments[symbol]
        instrument.check_order(intent.quantity, intent.limit_price)
        reference = self._portfolio.mark_price(symbol) or fallback_price
        if reference is None:
            order = self._new_order(intent, intent.quantity, ts_ns)
            self._orders[order.client_order_id] = order
            order.reject(f"risk: no price for {intent.symbol} yet to check the order against")
            self._risk_rejections += 1
            self._count("emp_orders_rejected_total", source="risk")
            return
        open_buy, open_sell = self._open_quantities(symbol) if self._working else (0.0, 0.0)
        if self._account_checks:
            refusal = self._keeper.refusal(
                symbol, intent.side.sign * intent.quantity, reference, open_buy, open_sell
            )
            if refusal is not None:
                self._record_refused(intent, ts_ns, refusal)
                return
        decision = self._risk.check(self._risk_input(intent, reference, ts_ns, open_buy, open_sell))
        if decision is APPROVED:  # the common case: sent as it came
            order = self._new_order(intent, intent.quantity, ts_ns)
            self._orders[order.client_order_id] = order
            self._send(order)
            return
        quantity = decision.quantity_for(intent.quantity) if decision.approved else intent.quantity
        order = self._new_order(intent, quantity, ts_ns)
        self._orders[order.client_order_id] = order
        if not decision.approved:
            order.reject(f"risk: {decision.reason}")
            self._risk_rejections += 1
            self._count("emp_orders_rejected_total", source="risk")
            return
        if decision.quantity is not None:
            self._risk_resizes += 1
        self._send(order)

    def _fire_timers(self, until_ts: int) -> None:
        """The strategy's timers due at or before ``until_ts``, each at its own time (the
        clock moves to it): ``on_timer``, its intents routed at the marks, venue events."""
        timers, ctx, strategy = self._ctx.timers, self._ctx, self._strategy
        while (timer := timers.pop_due(until_ts)) is not None:
            ts = timer.ts_ns
            self._clock.advance_to(ts)
            ctx.ts_ns = ts
            try:
                intents = strategy.on_timer(timer, ctx)
            except Exception as error:
                raise StrategyError(
                    f"strategy {strategy.name!r} raised {type(error).__name__} in on_timer "
                    f"for timer {timer.name!r} at ts_ns={ts}: {error}"
                ) from error
            for intent in intents or ():
                self._route_at(intent, None, ts)
            if self._working:
                self._process_events()

    def _new_order(self, intent: OrderIntent, quantity: float, ts_ns: int) -> Order:
        """The next order of this strategy for ``intent``, with ``quantity`` (after risk)."""
        self._sequence += 1
        if self._group is None:
            name, prefix = self._strategy.name, self._order_prefix
        else:  # a member's order (the group tags each intent with its member)
            name = intent.tag
            prefix = name if self._explicit_prefix is None else f"{self._explicit_prefix}-{name}"
        return Order(
            client_order_id=f"{prefix}-{self._sequence}",
            symbol=intent.symbol,
            side=intent.side,
            quantity=quantity,
            order_type=intent.order_type,
            limit_price=intent.limit_price,
            time_in_force=intent.time_in_force,
            strategy=name,
            created_ns=ts_ns,
        )

    def _send(self, order: Order) -> None:
        client_order_id = order.client_order_id
        self._working[client_order_id] = order
        self._venue.submit_order(
            self._submit(  # SubmitOrder(client_order_id=..., ...), fields in order
                client_order_id,
                order.symbol,
                order.side,
                order.quantity,
                order.order_type,
                order.limit_price,
                order.time_in_force,
                order.strategy,
                self._clock.now_ns(),
            )
        )
        if self._metrics is not None:
            self._count("emp_orders_submitted_total")

    def _execute(self, commands: tuple[VenueCommand, ...], ts: int) -> None:
        """Send the risk layer's commands in order; each run of cancels (the kill switch's
        of one step) goes to the venue together (``VenuePort.cancel_orders``)."""
        cancels: list[CancelOrder] = []
        for command in commands:
            if isinstance(command, CancelOrder):
                target = self._working.get(command.orig_client_order_id)
                if target is None:
                    continue
                if target.status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED):
                    target.request_cancel()
                cancels.append(command)
                continue
            if cancels:
                self._venue.cancel_orders(cancels)
                cancels = []
            if isinstance(command, SubmitOrder):
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
        if cancels:
            self._venue.cancel_orders(cancels)

    def _open_quantities(self, symbol: str) -> tuple[float, float]:
        """Leaves of the working buys and sells in ``symbol``."""
        open_buy = open_sell = 0.0
        for order in self._working.values():
            if order.symbol == symbol:
                if order.side.sign > 0:
                    open_buy += order.leaves_quantity
                else:
                    open_sell += order.leaves_quantity
        return open_buy, open_sell

    def _record_refused(self, intent: OrderIntent, ts_ns: int, reason: str) -> None:
        """An order the account refused: recorded REJECTED, never sent, never risk-checked."""
        order = self._new_order(intent, intent.quantity, ts_ns)
        self._orders[order.client_order_id] = order
        order.reject(reason)
        self._account_rejections += 1
        self._count("emp_orders_rejected_total", source="account")

    def _risk_input(
        self,
        intent: OrderIntent,
        reference_price: float,
        ts: int,
        open_buy: float,
        open_sell: float,
    ) -> RiskCheckInput:
        portfolio = self._portfolio
        symbol = intent.symbol
        return self._check_input(  # RiskCheckInput(intent=..., ...), fields in order
            intent,
            portfolio.quantity(symbol),
            open_buy,
            open_sell,
            reference_price,
            portfolio.valuation()[0],  # portfolio.equity
            self._strategy.name if self._group is None else intent.tag,
            ts,
            len(self._working),
            self._instruments[symbol].lot_size,
            portfolio.position(symbol).average_price,
            self._risk.check_context,
        )

    def _process_events(self) -> None:
        for event in self._venue.drain_events():
            kind = type(event)  # the two events of every order first, then the rest
            if kind is OrderFilled:
                self._on_filled(event)  # type: ignore[arg-type]
            elif kind is OrderAccepted:
                self._on_accepted(event)  # type: ignore[arg-type]
            else:
                self._apply(event)

    def _on_accepted(self, event: OrderAccepted) -> None:
        """:meth:`_apply` of an acceptance (an accepted order is NEW: open, still working)."""
        order = self._orders.get(event.client_order_id)
        if order is None:
            raise InvalidOrder(f"venue reported on unknown order {event.client_order_id!r}")
        order.accept(event.venue_order_id)

    def _on_filled(self, event: OrderFilled) -> None:
        """:meth:`_apply` of a fill: order, portfolio, trade log, risk, the strategy."""
        fill = event.fill
        order = self._orders.get(fill.client_order_id)
        if order is None:
            raise InvalidOrder(f"venue reported on unknown order {fill.client_order_id!r}")
        order.fill(fill.quantity, fill.price)
        portfolio = self._portfolio
        symbol = fill.symbol
        realized = portfolio.apply_fill(fill)
        self._trades.record(fill, realized, portfolio.quantity(symbol))
        self._fills.append(fill)
        self._filled_since_risk[symbol] = None
        if self._metrics is not None:
            self._count("emp_fills_total")
        if order.strategy in self._owners:
            self._tell_fill(order.strategy, fill)
        if order.status.is_terminal:
            self._working.pop(order.client_order_id, None)

    def _tell_fill(self, owner: str, fill: Fill) -> None:
        """The strategy that owns the order hears of its fill (a group: the member)."""
        try:
            if self._group is None:
                self._strategy.on_fill(fill, self._ctx)
            else:
                self._group.on_member_fill(owner, fill, self._ctx)
        except Exception as error:
            raise self._strategy_error("on_fill", error, None) from error

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
            self._filled_since_risk[fill.symbol] = None
            self._count("emp_fills_total")
            if order.strategy in self._owners:
                self._tell_fill(order.strategy, fill)
        elif isinstance(event, OrderCanceled):
            order.cancel()
        elif isinstance(event, OrderExpired):
            order.expire()
        if not order.is_open:
            self._working.pop(order.client_order_id, None)

    def _count(self, name: str, **labels: str) -> None:
        if self._metrics is not None:
            self._metrics.increment(name, **labels)
