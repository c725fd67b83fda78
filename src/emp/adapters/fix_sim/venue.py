"""SimulatedVenue: the direct face: domain commands in, domain events out, bar by bar."""

from __future__ import annotations

import math

from emp.adapters.fix_sim.config import FillModel, SimulatedVenueConfig
from emp.adapters.fix_sim.matcher import (
    Execution,
    Remainder,
    close_bar,
    commission,
    match_on_bar,
)
from emp.adapters.fix_sim.reports import CancelRejectCode, OrderSnapshot, VenueReport
from emp.adapters.fix_sim.working_order import QTY_TOLERANCE, WorkingOrder
from emp.domain.bars import Bar
from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder
from emp.domain.errors import UnknownInstrument
from emp.domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    RejectCode,
)
from emp.domain.fills import Fill
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.orders import OrderStatus, OrderType, TimeInForce
from emp.ports.clock import ClockPort

_Refusal = tuple[int, str]


class SimulatedVenue:
    """An in-process venue that matches orders against bars (implements SimulatedVenuePort).

    Commands are answered at once, stamped ``clock.now_ns()``: an invalid order gets an
    :class:`OrderRejected` carrying a FIX OrdRejReason code (unknown symbol 1, duplicate
    ClOrdID 6, market order with a price or limit order without one 11, bad quantity 13,
    bad price 18); a valid one an :class:`OrderAccepted` with venue id ``SIM-<n>``.
    Orders then trade only on bars of their symbol that open after they arrived (see
    :mod:`emp.adapters.fix_sim.matcher` for prices, quantities and time in force); fills
    (exec ids ``SIM-E<n>``), expiries and IOC/FOK cancels are stamped with the bar's
    ``ts_ns``. A cancel or replace of a working order succeeds at once; any other gets an
    :class:`OrderCancelRejected`. Cancels and expiries name the order by its current
    ClOrdID (after a replace, the replacement's).

    Under ``FillModel.CLOSE`` an accepted order whose symbol has a current bar is matched
    at once against that bar's close (stamped with the bar's ``ts_ns``); what is left
    then follows its time in force on later bars as usual.

    All ids and timestamps are deterministic: the same commands and bars give the same
    events. Pull them with :meth:`drain_events`.
    """

    def __init__(
        self,
        instruments: InstrumentRegistry,
        clock: ClockPort,
        config: SimulatedVenueConfig | None = None,
    ) -> None:
        self._instruments = instruments
        self._clock = clock
        self._config = config if config is not None else SimulatedVenueConfig()
        self._orders: dict[str, WorkingOrder] = {}
        self._replaced_by: dict[str, str] = {}
        self._working: dict[str, list[WorkingOrder]] = {}
        self._last_bar_ts: dict[str, int] = {}
        self._last_bar: dict[str, Bar] = {}
        self._at_close = self._config.fill_model is FillModel.CLOSE
        self._reports: list[VenueReport] = []
        self._order_count = 0
        self._exec_count = 0

    @property
    def config(self) -> SimulatedVenueConfig:
        return self._config

    # ------------------------------------------------------------------- the port
    def submit_order(self, command: SubmitOrder) -> None:
        now = self._clock.now_ns()
        refusal = self._refusal_of_new(command)
        if refusal is not None:
            code, reason = refusal
            snapshot = OrderSnapshot(
                venue_order_id=None,
                symbol=command.symbol,
                side=command.side,
                quantity=command.quantity,
                filled_quantity=0.0,
                average_price=0.0,
                status=OrderStatus.REJECTED,
            )
            event = OrderRejected(
                client_order_id=command.client_order_id, reason=reason, code=code, ts_ns=now
            )
            self._reports.append(VenueReport(event=event, order=snapshot))
            return
        self._order_count += 1
        order = WorkingOrder(
            client_order_id=command.client_order_id,
            venue_order_id=f"SIM-{self._order_count}",
            symbol=command.symbol,
            side=command.side,
            order_type=command.order_type,
            limit_price=command.limit_price,
            time_in_force=command.time_in_force,
            quantity=command.quantity,
            after_bar_ts=self._last_bar_ts.get(command.symbol),
        )
        self._orders[order.client_order_id] = order
        self._working.setdefault(order.symbol, []).append(order)
        accepted = OrderAccepted(
            client_order_id=order.client_order_id,
            venue_order_id=order.venue_order_id,
            ts_ns=now,
        )
        self._record(accepted, order)
        if self._at_close:
            current = self._last_bar.get(order.symbol)
            if current is not None:
                instrument = self._instruments[order.symbol]
                self._match(order, close_bar(current), instrument)
                if order.status.is_terminal:
                    self._working[order.symbol].remove(order)

    def cancel_order(self, command: CancelOrder) -> None:
        now = self._clock.now_ns()
        order, refusal = self._find_for_request(command)
        if order is None or refusal is not None:
            self._refuse_request(command, order, refusal, replace=False, now=now)
            return
        order.status = OrderStatus.CANCELED
        self._working[order.symbol].remove(order)
        reason = f"canceled on request {command.client_order_id!r}"
        self._record(
            OrderCanceled(client_order_id=order.client_order_id, ts_ns=now, reason=reason), order
        )

    def replace_order(self, command: ReplaceOrder) -> None:
        now = self._clock.now_ns()
        order, refusal = self._find_for_request(command)
        if order is not None and refusal is None:
            refusal = self._refusal_of_replace(command, order)
        if order is None or refusal is not None:
            self._refuse_request(command, order, refusal, replace=True, now=now)
            return
        del self._orders[order.client_order_id]
        self._replaced_by[order.client_order_id] = command.client_order_id
        order.client_order_id = command.client_order_id
        order.quantity = command.quantity
        order.limit_price = command.limit_price
        self._orders[order.client_order_id] = order
        replaced = OrderReplaced(
            orig_client_order_id=command.orig_client_order_id,
            client_order_id=command.client_order_id,
            quantity=command.quantity,
            limit_price=command.limit_price,
            ts_ns=now,
        )
        self._record(replaced, order)

    def on_bar(self, bar: Bar) -> None:
        """Match every order of ``bar.symbol`` that arrived before this bar, in arrival order."""
        previous = self._last_bar_ts.get(bar.symbol)
        if previous is None or bar.ts_ns > previous:
            self._last_bar_ts[bar.symbol] = bar.ts_ns
            if self._at_close:
                self._last_bar[bar.symbol] = bar
        orders = self._working.get(bar.symbol)
        if not orders:
            return
        instrument = self._instruments[bar.symbol]
        for order in list(orders):
            if order.is_eligible_for(bar.ts_ns):
                self._match(order, bar, instrument)
        orders[:] = [order for order in orders if not order.status.is_terminal]

    def drain_events(self) -> list[OrderEvent]:
        """Every event since the previous drain, in the order they happened."""
        return [report.event for report in self.drain_reports()]

    def drain_reports(self) -> list[VenueReport]:
        """Like :meth:`drain_events`, each event with the order state behind it."""
        reports, self._reports = self._reports, []
        return reports

    # ------------------------------------------------------------------- matching
    def _match(self, order: WorkingOrder, bar: Bar, instrument: Instrument) -> None:
        outcome = match_on_bar(order.terms(), bar, instrument, self._config)
        if outcome.execution is not None:
            self._fill(order, outcome.execution, bar.ts_ns)
        if outcome.remainder is Remainder.EXPIRE:
            order.status = OrderStatus.EXPIRED
            self._record(
                OrderExpired(client_order_id=order.client_order_id, ts_ns=bar.ts_ns), order
            )
        elif outcome.remainder is Remainder.CANCEL:
            order.status = OrderStatus.CANCELED
            tif = order.time_in_force
            reason = (
                "FOK order could not be filled in full"
                if tif is TimeInForce.FOK
                else f"{tif.value} order: unfilled quantity canceled"
            )
            canceled = OrderCanceled(
                client_order_id=order.client_order_id, ts_ns=bar.ts_ns, reason=reason
            )
            self._record(canceled, order)

    def _fill(self, order: WorkingOrder, execution: Execution, ts_ns: int) -> None:
        self._exec_count += 1
        fill = Fill(
            exec_id=f"SIM-E{self._exec_count}",
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            quantity=execution.quantity,
            price=execution.price,
            fee=commission(execution.quantity, execution.price, self._config),
            ts_ns=ts_ns,
        )
        order.apply_fill(execution.quantity, execution.price)
        self._record(OrderFilled(fill=fill), order)

    def _record(self, event: OrderEvent, order: WorkingOrder) -> None:
        self._reports.append(VenueReport(event=event, order=order.snapshot()))

    # ----------------------------------------------------------------- validation
    def _is_used(self, client_order_id: str) -> bool:
        return client_order_id in self._orders or client_order_id in self._replaced_by

    def _refusal_of_new(self, command: SubmitOrder) -> _Refusal | None:
        if not command.client_order_id:
            return RejectCode.OTHER, "ClOrdID must be a non-empty string"
        if self._is_used(command.client_order_id):
            return RejectCode.DUPLICATE_ORDER, (
                f"duplicate ClOrdID {command.client_order_id!r}: already used by an order"
            )
        try:
            # Not ``in``/``.get``: InstrumentRegistry raises UnknownInstrument from both.
            instrument = self._instruments[command.symbol]
        except UnknownInstrument:
            return RejectCode.UNKNOWN_SYMBOL, f"unknown symbol {command.symbol!r}"
        type_refusal = _price_presence_refusal(command.order_type, command.limit_price)
        if type_refusal is not None:
            return RejectCode.UNSUPPORTED_CHARACTERISTIC, type_refusal
        quantity_refusal = _quantity_refusal(instrument, command.quantity, floor=0.0)
        if quantity_refusal is not None:
            return RejectCode.INCORRECT_QUANTITY, quantity_refusal
        if command.limit_price is not None:
            price_refusal = _price_refusal(instrument, command.limit_price)
            if price_refusal is not None:
                return RejectCode.INVALID_PRICE_INCREMENT, price_refusal
        return None

    def _find_for_request(
        self, command: CancelOrder | ReplaceOrder
    ) -> tuple[WorkingOrder | None, _Refusal | None]:
        orig = command.orig_client_order_id
        order = self._orders.get(orig)
        if order is None:
            newer = self._replaced_by.get(orig)
            detail = f"; it was replaced by {newer!r}" if newer else ""
            return None, (CancelRejectCode.UNKNOWN_ORDER, f"unknown order {orig!r}{detail}")
        if order.status.is_terminal:
            return order, (
                CancelRejectCode.TOO_LATE_TO_CANCEL,
                f"order {orig!r} is already {order.status.value}",
            )
        if command.symbol != order.symbol or command.side is not order.side:
            return order, (
                CancelRejectCode.OTHER,
                f"request names {command.side.value} {command.symbol!r}, "
                f"order {orig!r} is {order.side.value} {order.symbol!r}",
            )
        return order, None

    def _refusal_of_replace(self, command: ReplaceOrder, order: WorkingOrder) -> _Refusal | None:
        if not command.client_order_id or self._is_used(command.client_order_id):
            return CancelRejectCode.DUPLICATE_CL_ORD_ID, (
                f"ClOrdID {command.client_order_id!r} is empty or already used"
            )
        instrument = self._instruments[order.symbol]
        refusal = (
            _price_presence_refusal(order.order_type, command.limit_price)
            or _quantity_refusal(instrument, command.quantity, floor=order.filled_quantity)
            or (
                _price_refusal(instrument, command.limit_price)
                if command.limit_price is not None
                else None
            )
        )
        return None if refusal is None else (CancelRejectCode.OTHER, refusal)

    def _refuse_request(
        self,
        command: CancelOrder | ReplaceOrder,
        order: WorkingOrder | None,
        refusal: _Refusal | None,
        *,
        replace: bool,
        now: int,
    ) -> None:
        code, reason = refusal if refusal is not None else (CancelRejectCode.OTHER, "refused")
        if order is not None:
            snapshot = order.snapshot()
        else:
            snapshot = OrderSnapshot(
                venue_order_id=None,
                symbol=command.symbol,
                side=command.side,
                quantity=0.0,
                filled_quantity=0.0,
                average_price=0.0,
                status=OrderStatus.REJECTED,
            )
        event = OrderCancelRejected(
            client_order_id=command.client_order_id,
            orig_client_order_id=command.orig_client_order_id,
            reason=reason,
            ts_ns=now,
        )
        self._reports.append(
            VenueReport(
                event=event, order=snapshot, replace_request=replace, cancel_reject_code=code
            )
        )


def _price_presence_refusal(order_type: OrderType, limit_price: float | None) -> str | None:
    if order_type is OrderType.MARKET and limit_price is not None:
        return f"a MARKET order takes no limit price, was {limit_price!r}"
    if order_type is OrderType.LIMIT and limit_price is None:
        return "a LIMIT order needs a limit price"
    return None


def _quantity_refusal(instrument: Instrument, quantity: float, *, floor: float) -> str | None:
    if not math.isfinite(quantity) or quantity <= floor * (1.0 + QTY_TOLERANCE):
        bound = "0" if floor == 0 else f"the filled quantity {floor!r}"
        return f"order quantity must be greater than {bound}, was {quantity!r}"
    if not instrument.is_lot_multiple(quantity):
        return (
            f"order quantity must be a multiple of lot size {instrument.lot_size!r}, "
            f"was {quantity!r}"
        )
    return None


def _price_refusal(instrument: Instrument, price: float) -> str | None:
    if not math.isfinite(price) or price <= 0:
        return f"limit price must be > 0, was {price!r}"
    if not instrument.is_on_tick(price):
        return (
            f"limit price must be a multiple of tick size {instrument.tick_size!r}, was {price!r}"
        )
    return None
