"""The venue's own, mutable record of an order it accepted (the engine alone changes it).

Prices are held in integer ticks and quantities in integer lots of the instrument, so
matching arithmetic is exact; :meth:`VenueOrder.state` converts back to prices and
quantities for reports.
"""

from __future__ import annotations

from dataclasses import dataclass

from emp.domain.instruments import Instrument
from emp.domain.matching.records import OrderState
from emp.domain.orders import OrderSide, OrderStatus, OrderType, TimeInForce


def ticks_to_price(ticks: int, instrument: Instrument) -> float:
    return round(ticks * instrument.tick_size, 12)


def average_price(tick_lots: int, lots: int, instrument: Instrument) -> float:
    """The average fill price of ``lots`` whose prices in ticks times lots sum to
    ``tick_lots``, rounded as :func:`ticks_to_price` rounds (one price: that price exactly,
    not ``99.99000000000001``)."""
    if lots == 0:
        return 0.0
    return round(tick_lots * instrument.tick_size / lots, 12)


def lots_to_quantity(lots: int, instrument: Instrument) -> float:
    lot_size = instrument.lot_size
    whole = int(lot_size)
    if whole == lot_size:  # a whole lot size: the product is exact, no rounding needed
        return float(lots * whole)
    return round(lots * lot_size, 12)


def price_to_ticks(price: float, instrument: Instrument) -> int:
    return round(price / instrument.tick_size)


def quantity_to_lots(quantity: float, instrument: Instrument) -> int:
    return round(quantity / instrument.lot_size)


@dataclass(slots=True, kw_only=True, eq=False)
class VenueOrder:
    """An accepted order. ``sequence`` is its arrival number, for time priority."""

    owner: str
    client_order_id: str
    order_id: str
    instrument: Instrument
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    price_ticks: int | None
    quantity_lots: int
    sequence: int
    strategy: str = ""
    filled_lots: int = 0
    #: Sum of (price in ticks x lots) over fills, for an exact average price.
    filled_tick_lots: int = 0
    status: OrderStatus = OrderStatus.NEW

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def leaves_lots(self) -> int:
        if self.status.is_terminal:
            return 0
        return self.quantity_lots - self.filled_lots

    @property
    def limit_price(self) -> float | None:
        if self.price_ticks is None:
            return None
        return ticks_to_price(self.price_ticks, self.instrument)

    def apply_fill(self, lots: int, price_ticks: int) -> None:
        self.filled_lots += lots
        self.filled_tick_lots += lots * price_ticks
        done = self.filled_lots >= self.quantity_lots
        self.status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED

    def state(self) -> OrderState:
        instrument = self.instrument
        ticks, filled = self.price_ticks, self.filled_lots
        return OrderState(
            owner=self.owner,
            client_order_id=self.client_order_id,
            order_id=self.order_id,
            symbol=instrument.symbol,
            side=self.side,
            order_type=self.order_type,
            time_in_force=self.time_in_force,
            limit_price=None if ticks is None else ticks_to_price(ticks, instrument),
            quantity=lots_to_quantity(self.quantity_lots, instrument),
            filled_quantity=lots_to_quantity(filled, instrument),
            average_price=average_price(self.filled_tick_lots, filled, instrument),
            status=self.status,
        )


def restored_order(state: OrderState, instrument: Instrument, *, sequence: int) -> VenueOrder:
    """A :class:`VenueOrder` rebuilt from its last reported state (a venue restart).

    Ticks and lots come back exactly; the sum of fill ticks is rebuilt from the average
    price, which is exact for orders filled at one price and within rounding otherwise.
    """
    filled_lots = quantity_to_lots(state.filled_quantity, instrument)
    average_ticks = state.average_price / instrument.tick_size
    return VenueOrder(
        owner=state.owner,
        client_order_id=state.client_order_id,
        order_id=state.order_id or "",
        instrument=instrument,
        side=state.side,
        order_type=state.order_type,
        time_in_force=state.time_in_force,
        price_ticks=None
        if state.limit_price is None
        else price_to_ticks(state.limit_price, instrument),
        quantity_lots=quantity_to_lots(state.quantity, instrument),
        sequence=sequence,
        filled_lots=filled_lots,
        filled_tick_lots=round(average_ticks * filled_lots),
        status=state.status,
    )
