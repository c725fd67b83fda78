"""SimulatedVenue: the direct face: domain commands in, domain events out, bar by bar."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from emp.adapters.fix_sim.builders import accepted_builder, filled_builder
from emp.adapters.fix_sim.config import FillModel, SimulatedVenueConfig
from emp.adapters.fix_sim.matcher import Remainder, close_bar, match_parts
from emp.adapters.fix_sim.reports import CancelRejectCode, OrderSnapshot, VenueReport
from emp.adapters.fix_sim.validation import (
    price_presence_refusal,
    price_refusal,
    quantity_refusal,
)
from emp.adapters.fix_sim.working_order import WorkingOrder
from emp.domain.bars import Bar
from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder
from emp.domain.errors import UnknownInstrument
from emp.domain.events import (
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderRejected,
    OrderReplaced,
    RejectCode,
)
from emp.domain.fees import commission_fee
from emp.domain.fills import make_fill
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.orders import OrderSide, OrderStatus, TimeInForce
from emp.ports.clock import ClockPort

_Refusal = tuple[int, str]
#: An order's state beside an event: OrderSnapshot's fields in order, then VenueReport's
#: ``replace_request`` and ``cancel_reject_code``.
_State = tuple[str | None, str, OrderSide, float, float, float, OrderStatus, bool, int]
_OTHER = CancelRejectCode.OTHER


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
        # the events since the last drain and, beside each, the order's state then: the
        # reports are built from them only when asked for (drain_reports), not per event
        self._events: list[OrderEvent] = []
        self._states: list[_State] = []
        self._order_count = 0
        self._exec_count = 0
        config = self._config
        self._impact_bps = config.market_impact_bps
        self._participation = config.max_volume_participation
        self._fee = partial(
            commission_fee,
            bps=config.commission_bps,
            per_share=config.commission_per_share,
            fixed=config.commission_fixed,
            minimum=config.min_commission,
        )
        self._accepted = accepted_builder()
        self._filled = filled_builder()

    @property
    def config(self) -> SimulatedVenueConfig:
        return self._config

    # ------------------------------------------------------------------- the port
    def submit_order(self, command: SubmitOrder) -> None:
        now = self._clock.now_ns()
        refusal = self._refusal_of_new(command)
        if refusal is not None:
            code, reason = refusal
            event = OrderRejected(
                client_order_id=command.client_order_id, reason=reason, code=code, ts_ns=now
            )
            self._events.append(event)
            self._states.append(
                (
                    None,
                    command.symbol,
                    command.side,
                    command.quantity,
                    0.0,
                    0.0,
                    OrderStatus.REJECTED,
                    False,
                    _OTHER,
                )
            )
            return
        self._order_count += 1
        client_order_id = command.client_order_id
        symbol = command.symbol
        order = WorkingOrder(
            client_order_id=client_order_id,
            venue_order_id=f"SIM-{self._order_count}",
            symbol=symbol,
            side=command.side,
            order_type=command.order_type,
            limit_price=command.limit_price,
            time_in_force=command.time_in_force,
            quantity=command.quantity,
            after_bar_ts=self._last_bar_ts.get(symbol),
        )
        self._orders[client_order_id] = order
        working = self._working.get(symbol)
        if working is None:
            working = self._working[symbol] = []
        working.append(order)
        self._record(self._accepted(client_order_id, order.venue_order_id, now), order)
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

    def cancel_orders(self, commands: Sequence[CancelOrder]) -> None:
        """One :meth:`cancel_order` each, in order."""
        for command in commands:
            self.cancel_order(command)

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
        symbol = bar.symbol
        ts_ns = bar.ts_ns
        previous = self._last_bar_ts.get(symbol)
        if previous is None or ts_ns > previous:
            self._last_bar_ts[symbol] = ts_ns
            if self._at_close:
                self._last_bar[symbol] = bar
        orders = self._working.get(symbol)
        if not orders:
            return
        instrument = self._instruments[symbol]
        for order in orders:  # matching never changes the list: no copy
            after = order.after_bar_ts
            if after is None or ts_ns > after:  # order.is_eligible_for(ts_ns), inlined
                self._match(order, bar, instrument)
        orders[:] = [order for order in orders if not order.status.is_terminal]

    def drain_events(self) -> list[OrderEvent]:
        """Every event since the previous drain, in the order they happened."""
        events, self._events, self._states = self._events, [], []
        return events

    def drain_reports(self) -> list[VenueReport]:
        """Like :meth:`drain_events`, each event with the order state behind it."""
        events, states = self._events, self._states
        self._events, self._states = [], []
        return [
            VenueReport(
                event=event,
                order=OrderSnapshot(
                    venue_order_id=venue_order_id,
                    symbol=symbol,
                    side=side,
                    quantity=quantity,
                    filled_quantity=filled,
                    average_price=average,
                    status=status,
                ),
                replace_request=replace,
                cancel_reject_code=code,
            )
            for event, (
                venue_order_id,
                symbol,
                side,
                quantity,
                filled,
                average,
                status,
                replace,
                code,
            ) in zip(events, states, strict=True)
        ]

    # ------------------------------------------------------------------- matching
    def _match(self, order: WorkingOrder, bar: Bar, instrument: Instrument) -> None:
        quantity, price, remainder = match_parts(
            order, bar, instrument, self._impact_bps, self._participation
        )
        if quantity > 0.0:
            self._fill(order, quantity, price, bar.ts_ns)
        if remainder is Remainder.NONE or remainder is Remainder.KEEP:
            return
        if remainder is Remainder.EXPIRE:
            order.status = OrderStatus.EXPIRED
            self._record(
                OrderExpired(client_order_id=order.client_order_id, ts_ns=bar.ts_ns), order
            )
        elif remainder is Remainder.CANCEL:
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

    def _fill(self, order: WorkingOrder, quantity: float, price: float, ts_ns: int) -> None:
        self._exec_count += 1
        fill = make_fill(
            f"SIM-E{self._exec_count}",
            order.client_order_id,
            order.symbol,
            order.side,
            quantity,
            price,
            self._fee(quantity, price),
            ts_ns,
        )
        order.apply_fill(quantity, price)
        self._record(self._filled(fill), order)

    def _record(self, event: OrderEvent, order: WorkingOrder) -> None:
        self._events.append(event)
        self._states.append(
            (
                order.venue_order_id,
                order.symbol,
                order.side,
                order.quantity,
                order.filled_quantity,
                order.average_price,
                order.status,
                False,
                _OTHER,
            )
        )

    # ----------------------------------------------------------------- validation
    def _is_used(self, client_order_id: str) -> bool:
        return client_order_id in self._orders or client_order_id in self._replaced_by

    def _refusal_of_new(self, command: SubmitOrder) -> _Refusal | None:
        client_order_id = command.client_order_id
        if not client_order_id:
            return RejectCode.OTHER, "ClOrdID must be a non-empty string"
        if client_order_id in self._orders or client_order_id in self._replaced_by:  # _is_used
            return RejectCode.DUPLICATE_ORDER, (
                f"duplicate ClOrdID {command.client_order_id!r}: already used by an order"
            )
        try:
            # Not ``in``/``.get``: InstrumentRegistry raises UnknownInstrument from both.
            instrument = self._instruments[command.symbol]
        except UnknownInstrument:
            return RejectCode.UNKNOWN_SYMBOL, f"unknown symbol {command.symbol!r}"
        type_refusal = price_presence_refusal(command.order_type, command.limit_price)
        if type_refusal is not None:
            return RejectCode.UNSUPPORTED_CHARACTERISTIC, type_refusal
        bad_quantity = quantity_refusal(instrument, command.quantity, floor=0.0)
        if bad_quantity is not None:
            return RejectCode.INCORRECT_QUANTITY, bad_quantity
        if command.limit_price is not None:
            bad_price = price_refusal(instrument, command.limit_price)
            if bad_price is not None:
                return RejectCode.INVALID_PRICE_INCREMENT, bad_price
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
            price_presence_refusal(order.order_type, command.limit_price)
            or quantity_refusal(instrument, command.quantity, floor=order.filled_quantity)
            or (
                price_refusal(instrument, command.limit_price)
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
        self._events.append(event)
        self._states.append(
            (
                snapshot.venue_order_id,
                snapshot.symbol,
                snapshot.side,
                snapshot.quantity,
                snapshot.filled_quantity,
                snapshot.average_price,
                snapshot.status,
                replace,
                code,
            )
        )
