"""The venue's own record of an accepted order (mutable; the venue alone changes it)."""

from __future__ import annotations

from dataclasses import dataclass

from emp.adapters.fix_sim.matcher import MatchTerms
from emp.adapters.fix_sim.reports import OrderSnapshot
from emp.domain.orders import OrderSide, OrderStatus, OrderType, TimeInForce

QTY_TOLERANCE = 1e-9


@dataclass(slots=True, kw_only=True)
class WorkingOrder:
    """An order the simulated venue has accepted.

    ``after_bar_ts`` is the open time of the last bar of the symbol the venue had seen
    when the order arrived (``None`` if none): the order may only trade on later bars.
    """

    client_order_id: str
    venue_order_id: str
    symbol: str
    side: OrderSide
    order_type: OrderType
    limit_price: float | None
    time_in_force: TimeInForce
    quantity: float
    after_bar_ts: int | None
    filled_quantity: float = 0.0
    average_price: float = 0.0
    status: OrderStatus = OrderStatus.NEW

    @property
    def leaves_quantity(self) -> float:
        if self.status.is_terminal:
            return 0.0
        return max(self.quantity - self.filled_quantity, 0.0)

    def is_eligible_for(self, bar_ts_ns: int) -> bool:
        return self.after_bar_ts is None or bar_ts_ns > self.after_bar_ts

    def terms(self) -> MatchTerms:
        return MatchTerms(
            side=self.side,
            order_type=self.order_type,
            limit_price=self.limit_price,
            time_in_force=self.time_in_force,
            leaves_quantity=self.leaves_quantity,
        )

    def apply_fill(self, quantity: float, price: float) -> None:
        total = self.filled_quantity + quantity
        self.average_price = (self.average_price * self.filled_quantity + price * quantity) / total
        if self.quantity - total <= QTY_TOLERANCE * max(1.0, self.quantity):
            self.filled_quantity = self.quantity
            self.status = OrderStatus.FILLED
        else:
            self.filled_quantity = total
            self.status = OrderStatus.PARTIALLY_FILLED

    def snapshot(self) -> OrderSnapshot:
        return OrderSnapshot(
            venue_order_id=self.venue_order_id,
            symbol=self.symbol,
            side=self.side,
            quantity=self.quantity,
            filled_quantity=self.filled_quantity,
            average_price=self.average_price,
            status=self.status,
        )
