"""MatchingEngine: price-time priority matching of own orders against each other and
against displayed liquidity from market data, one :class:`OrderBook` per instrument.

Every call takes the time it happens at (``now_ns``, or the update's ``ts_ns``) and returns
the :class:`MatchReport` records it produced, in order. No clock, no I/O, no randomness:
the same calls give the same reports.

Order handling:

* New orders are refused (``OrderRejected`` with a FIX OrdRejReason) for a duplicate
  ClOrdID (6), an unknown symbol (1), a closed market (2), a MARKET order with a price or
  a LIMIT order without one (11), a quantity <= 0 or off the lot grid (13), a price off
  the tick grid (18), or a breach of the venue's limits (3).
* An accepted order trades at once against the opposite side as far as its price allows
  (at the resting side's prices). MARKET and IOC orders cancel what is left; FOK orders
  trade in full or are canceled untouched; DAY and GTC limit orders rest.
* A replace that lowers the quantity at the same price keeps the order's queue position;
  a price change or a larger quantity sends it to the back of its (new) level, and a new
  price that crosses trades at once.
* :meth:`MatchingEngine.close_market` expires resting DAY orders and refuses new orders
  until :meth:`MatchingEngine.open_market`; GTC orders keep resting.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from emp.domain.commands import CancelOrder, ReplaceOrder, SubmitOrder
from emp.domain.errors import InvalidConfiguration
from emp.domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderReplaced,
    RejectCode,
)
from emp.domain.fills import Fill
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.matching.book import OrderBook, Trade
from emp.domain.matching.errors import InvalidMarketData
from emp.domain.matching.market_data import (
    BookSnapshot,
    MarketUpdate,
    TradePrint,
    check_price,
    levels_in_units,
)
from emp.domain.matching.records import CancelRejectReason, MatchReport, OrderState, QueueModel
from emp.domain.matching.refusals import find_target, rejected, request_refused
from emp.domain.matching.validation import VenueLimits, new_order_refusal, replace_refusal
from emp.domain.matching.venue_order import (
    VenueOrder,
    lots_to_quantity,
    price_to_ticks,
    quantity_to_lots,
    restored_order,
    ticks_to_price,
)
from emp.domain.orders import OrderSide, OrderStatus, OrderType, TimeInForce

_Key = tuple[str, str]  # (owner, client order id)


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchingConfig:
    """How the engine queues, charges, limits and names things.

    Attributes:
        queue_model: where own passive orders stand behind displayed size.
        commission_bps: commission of each own fill, in basis points of its notional.
        limits: the venue's pre-trade limits.
        order_id_prefix: OrderIDs are ``<prefix><n>``.
        exec_id_prefix: ExecIDs are ``<prefix><n>``; give each venue run its own prefix so
            ids stay unique across restarts.
    """

    queue_model: QueueModel = QueueModel.RISK_AVERSE
    commission_bps: float = 0.0
    limits: VenueLimits = field(default_factory=VenueLimits)
    order_id_prefix: str = "O"
    exec_id_prefix: str = "E"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.commission_bps) and self.commission_bps >= 0):
            raise InvalidConfiguration(
                f"commission_bps must be a finite number >= 0, was {self.commission_bps!r}"
            )


@dataclass(slots=True)
class LiquidityCounters:
    """Displayed lots the engine has seen come and go (for conservation checks)."""

    added: int = 0
    removed: int = 0
    traded: int = 0


class MatchingEngine:
    """A multi-instrument matching venue. See the module docstring for the rules."""

    def __init__(
        self, instruments: InstrumentRegistry, config: MatchingConfig | None = None
    ) -> None:
        self._instruments = instruments
        self._config = config if config is not None else MatchingConfig()
        self._books: dict[str, OrderBook] = {
            symbol: OrderBook(symbol, self._config.queue_model) for symbol in instruments
        }
        self._orders: dict[_Key, VenueOrder] = {}
        self._replaced: dict[_Key, OrderState] = {}
        self._closed: set[str] = set()
        self._sequence = 0
        self._order_count = 0
        self._exec_count = 0
        self.liquidity = LiquidityCounters()

    @property
    def config(self) -> MatchingConfig:
        return self._config

    # ------------------------------------------------------------------ queries
    def book(self, symbol: str) -> OrderBook:
        return self._books[symbol]

    def order(self, client_order_id: str, owner: str = "") -> OrderState | None:
        """The order's state by its ClOrdID; a replaced id gives its REPLACED state."""
        key = (owner, client_order_id)
        order = self._orders.get(key)
        if order is not None:
            return order.state()
        return self._replaced.get(key)

    def open_orders(self, owner: str | None = None) -> list[OrderState]:
        return [
            o.state()
            for o in self._orders.values()
            if not o.status.is_terminal and (owner is None or o.owner == owner)
        ]

    def is_open(self, symbol: str) -> bool:
        return symbol not in self._closed

    def restore(self, states: Iterable[OrderState]) -> int:
        """Take back the orders a previous run of the venue held, oldest first (each
        order's last known state): working LIMIT orders rest again in that order, behind
        what is already displayed; done ones answer status requests; REPLACED states are
        the old ClOrdIDs of replace chains. Returns how many orders came back."""
        restored = 0
        for state in states:
            key = (state.owner, state.client_order_id)
            if state.status is OrderStatus.REPLACED:
                self._replaced[key] = state
                continue
            instrument = self._instruments.get(state.symbol)
            if instrument is None or state.order_id is None or key in self._orders:
                continue
            order = restored_order(state, instrument, sequence=self._sequence + 1)
            self._sequence += 1
            self._order_count += 1
            restored += 1
            self._orders[key] = order
            if order.price_ticks is not None and order.leaves_lots > 0:
                self._books[state.symbol].rest(order)
        return restored

    # ------------------------------------------------------------------ sessions
    def open_market(self, symbol: str | None = None) -> None:
        self._closed -= {symbol} if symbol is not None else set(self._closed)

    def close_market(self, now_ns: int, symbol: str | None = None) -> list[MatchReport]:
        """Close ``symbol`` (or every market): resting DAY orders expire."""
        symbols = [symbol] if symbol is not None else list(self._books)
        self._closed.update(symbols)
        reports: list[MatchReport] = []
        for name in symbols:
            book = self._books[name]
            for order in book.resting_orders():
                if order.time_in_force is TimeInForce.DAY:
                    book.remove(order)
                    order.status = OrderStatus.EXPIRED
                    event = OrderExpired(client_order_id=order.client_order_id, ts_ns=now_ns)
                    reports.append(self._report(event, order))
        return reports

    # ------------------------------------------------------------------ commands
    def submit(self, command: SubmitOrder, *, now_ns: int, owner: str = "") -> list[MatchReport]:
        key = (owner, command.client_order_id)
        instrument = self._instruments.get(command.symbol)
        if key in self._orders or key in self._replaced:
            refusal = (
                RejectCode.DUPLICATE_ORDER,
                f"duplicate ClOrdID {command.client_order_id!r}: already used by an order",
            )
        elif instrument is None:
            refusal = (RejectCode.UNKNOWN_SYMBOL, f"unknown symbol {command.symbol!r}")
        elif not self.is_open(command.symbol):
            refusal = (RejectCode.EXCHANGE_CLOSED, f"the {command.symbol} market is closed")
        else:
            reference = self._reference_price(instrument, command.side)
            refusal = new_order_refusal(command, instrument, self._config.limits, reference)
        if refusal is not None:
            return [rejected(command, owner, refusal, now_ns, self._next_exec_id())]
        assert instrument is not None
        self._order_count += 1
        self._sequence += 1
        order = VenueOrder(
            owner=owner,
            client_order_id=command.client_order_id,
            order_id=f"{self._config.order_id_prefix}{self._order_count}",
            instrument=instrument,
            side=command.side,
            order_type=command.order_type,
            time_in_force=command.time_in_force,
            price_ticks=(
                None
                if command.limit_price is None
                else price_to_ticks(command.limit_price, instrument)
            ),
            quantity_lots=quantity_to_lots(command.quantity, instrument),
            sequence=self._sequence,
            strategy=command.strategy,
        )
        self._orders[key] = order
        accepted = OrderAccepted(
            client_order_id=order.client_order_id, venue_order_id=order.order_id, ts_ns=now_ns
        )
        return [self._report(accepted, order), *self._execute(order, now_ns)]

    def cancel(self, command: CancelOrder, *, now_ns: int, owner: str = "") -> list[MatchReport]:
        order, refusal = find_target(self._orders, self._replaced, command, owner)
        if refusal is not None:
            state = self._refused_state(command, owner, order)
            exec_id = self._next_exec_id()
            return [request_refused(command, owner, state, refusal, False, now_ns, exec_id)]
        assert order is not None
        self._books[order.symbol].remove(order)
        order.status = OrderStatus.CANCELED
        reason = f"canceled on request {command.client_order_id!r}"
        event = OrderCanceled(client_order_id=order.client_order_id, ts_ns=now_ns, reason=reason)
        return [self._report(event, order)]

    def replace(self, command: ReplaceOrder, *, now_ns: int, owner: str = "") -> list[MatchReport]:
        order, refusal = find_target(self._orders, self._replaced, command, owner)
        if refusal is None:
            assert order is not None
            new_key = (owner, command.client_order_id)
            if new_key in self._orders or new_key in self._replaced:
                refusal = (
                    CancelRejectReason.DUPLICATE_CL_ORD_ID,
                    f"ClOrdID {command.client_order_id!r} is already used by an order",
                )
            else:
                reason = replace_refusal(command, order, self._config.limits)
                refusal = None if reason is None else (CancelRejectReason.OTHER, reason)
        if refusal is not None:
            state = self._refused_state(command, owner, order)
            exec_id = self._next_exec_id()
            return [request_refused(command, owner, state, refusal, True, now_ns, exec_id)]
        assert order is not None
        return self._apply_replace(command, order, now_ns)

    # ------------------------------------------------------------------ market data
    def apply(self, update: MarketUpdate) -> list[MatchReport]:
        """Apply a snapshot or a trade print; own orders it trades against are filled."""
        book = self._books.get(update.symbol)
        if book is None:
            raise InvalidMarketData(f"market data for unknown symbol {update.symbol!r}")
        instrument = self._instruments[update.symbol]
        if isinstance(update, TradePrint):
            return self._apply_print(update, book, instrument)
        return self._apply_snapshot(update, book, instrument)

    def _apply_print(
        self, update: TradePrint, book: OrderBook, instrument: Instrument
    ) -> list[MatchReport]:
        ticks = check_price(update.price, instrument)
        if not (math.isfinite(update.quantity) and update.quantity > 0):
            raise InvalidMarketData(
                f"{update.symbol}: trade quantity must be > 0, was {update.quantity!r}"
            )
        lots = math.floor(update.quantity / instrument.lot_size + 1e-9)
        trades = book.take(update.aggressor, ticks, lots)
        return self._maker_fills(trades, update.ts_ns)

    def _apply_snapshot(
        self, update: BookSnapshot, book: OrderBook, instrument: Instrument
    ) -> list[MatchReport]:
        targets = {
            OrderSide.BUY: levels_in_units(update.bids, instrument, OrderSide.BUY),
            OrderSide.SELL: levels_in_units(update.asks, instrument, OrderSide.SELL),
        }
        bids, asks = targets[OrderSide.BUY], targets[OrderSide.SELL]
        if bids and asks and max(bids) >= min(asks):
            raise InvalidMarketData(f"{update.symbol}: snapshot is crossed")
        # First take away what left, then add what arrived (crossing own orders trades).
        increases: list[tuple[OrderSide, int, int]] = []
        for side, target in targets.items():
            book_side = book.side(side)
            for ticks in set(book_side.levels) | set(target):
                current = book.external_lots(side, ticks)
                wanted = target.get(ticks, 0)
                if wanted < current:
                    book.remove_external(side, ticks, current - wanted)
                    self.liquidity.removed += current - wanted
                elif wanted > current:
                    increases.append((side, ticks, wanted - current))
        reports: list[MatchReport] = []
        for side, ticks, lots in sorted(
            increases, key=lambda item: (item[0].value, item[0].sign * -item[1])
        ):
            self.liquidity.added += lots
            trades = book.take(side, ticks, lots)
            reports.extend(self._maker_fills(trades, update.ts_ns))
            taken = sum(t.lots for t in trades if t.maker is not None)
            self.liquidity.traded += taken  # new displayed size that met own orders
            book.add_external(side, ticks, lots - sum(t.lots for t in trades))
        return reports

    # ------------------------------------------------------------------ internals
    def _reference_price(self, instrument: Instrument, side: OrderSide) -> float | None:
        ticks = self._books[instrument.symbol].side(side.opposite).best()
        return None if ticks is None else ticks_to_price(ticks, instrument)

    def _execute(self, order: VenueOrder, now_ns: int) -> list[MatchReport]:
        """Trade a new (or re-priced) order as a taker, then rest or cancel the rest."""
        book = self._books[order.symbol]
        leaves = order.leaves_lots
        if order.time_in_force is TimeInForce.FOK and (
            book.available(order.side, order.price_ticks, leaves) < leaves
        ):
            return [self._cancel_rest(order, "FOK order could not be filled in full", now_ns)]
        reports = self._taker_fills(order, book.take(order.side, order.price_ticks, leaves), now_ns)
        if order.leaves_lots == 0:
            return reports
        if order.order_type is OrderType.MARKET:
            reason = "no more liquidity for the MARKET order"
            reports.append(self._cancel_rest(order, reason, now_ns))
        elif order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            reason = f"{order.time_in_force.value} order: unfilled quantity canceled"
            reports.append(self._cancel_rest(order, reason, now_ns))
        else:
            book.rest(order)
        return reports

    def _cancel_rest(self, order: VenueOrder, reason: str, now_ns: int) -> MatchReport:
        order.status = OrderStatus.CANCELED
        event = OrderCanceled(client_order_id=order.client_order_id, ts_ns=now_ns, reason=reason)
        return self._report(event, order)

    def _taker_fills(
        self, taker: VenueOrder, trades: list[Trade], now_ns: int
    ) -> list[MatchReport]:
        reports: list[MatchReport] = []
        for trade in trades:
            reports.append(self._fill(taker, trade.lots, trade.price_ticks, now_ns, True))
            if trade.maker is not None:
                reports.append(self._fill(trade.maker, trade.lots, trade.price_ticks, now_ns))
            else:
                self.liquidity.traded += trade.lots
        return reports

    def _maker_fills(self, trades: list[Trade], now_ns: int) -> list[MatchReport]:
        reports: list[MatchReport] = []
        for trade in trades:
            if trade.maker is None:
                self.liquidity.traded += trade.lots
            else:
                reports.append(self._fill(trade.maker, trade.lots, trade.price_ticks, now_ns))
        return reports

    def _fill(
        self, order: VenueOrder, lots: int, price_ticks: int, now_ns: int, aggressive: bool = False
    ) -> MatchReport:
        instrument = order.instrument
        quantity = lots_to_quantity(lots, instrument)
        price = ticks_to_price(price_ticks, instrument)
        order.apply_fill(lots, price_ticks)
        exec_id = self._next_exec_id()
        fill = Fill(
            exec_id=exec_id,
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            quantity=quantity,
            price=price,
            fee=self._config.commission_bps * quantity * price / 10_000.0,
            ts_ns=now_ns,
        )
        return MatchReport(
            event=OrderFilled(fill=fill),
            state=order.state(),
            exec_id=exec_id,
            aggressive=aggressive,
        )

    def _next_exec_id(self) -> str:
        self._exec_count += 1
        return f"{self._config.exec_id_prefix}{self._exec_count}"

    def _report(self, event: OrderEvent, order: VenueOrder) -> MatchReport:
        return MatchReport(event=event, state=order.state(), exec_id=self._next_exec_id())

    def _refused_state(
        self, command: CancelOrder | ReplaceOrder, owner: str, order: VenueOrder | None
    ) -> OrderState | None:
        if order is not None:
            return order.state()
        return self._replaced.get((owner, command.orig_client_order_id))

    def _apply_replace(
        self, command: ReplaceOrder, order: VenueOrder, now_ns: int
    ) -> list[MatchReport]:
        book = self._books[order.symbol]
        instrument = order.instrument
        new_lots = quantity_to_lots(command.quantity, instrument)
        assert command.limit_price is not None  # limit orders only (checked)
        new_ticks = price_to_ticks(command.limit_price, instrument)
        keeps_priority = new_ticks == order.price_ticks and new_lots <= order.quantity_lots
        old_key = (order.owner, order.client_order_id)
        replaced_state = order.state()
        del self._orders[old_key]
        self._replaced[old_key] = dataclasses.replace(replaced_state, status=OrderStatus.REPLACED)
        order.client_order_id = command.client_order_id
        self._orders[(order.owner, order.client_order_id)] = order
        order.quantity_lots = new_lots
        event = OrderReplaced(
            orig_client_order_id=command.orig_client_order_id,
            client_order_id=command.client_order_id,
            quantity=command.quantity,
            limit_price=command.limit_price,
            ts_ns=now_ns,
        )
        if keeps_priority:
            book.reduce(order, order.leaves_lots)
            return [self._report(event, order)]
        book.remove(order)
        order.price_ticks = new_ticks
        self._sequence += 1
        order.sequence = self._sequence
        return [self._report(event, order), *self._execute(order, now_ns)]
