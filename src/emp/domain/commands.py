"""Commands: requests, in the imperative, that a venue may accept or refuse."""

from __future__ import annotations

from dataclasses import dataclass

from emp.domain.orders import OrderSide, OrderType, TimeInForce


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitOrder:
    client_order_id: str
    symbol: str
    side: OrderSide
    quantity: float
    order_type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    strategy: str = ""
    ts_ns: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrder:
    client_order_id: str
    orig_client_order_id: str
    symbol: str
    side: OrderSide
    ts_ns: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceOrder:
    """Change quantity and/or limit price; the replacement gets ``client_order_id``."""

    client_order_id: str
    orig_client_order_id: str
    symbol: str
    side: OrderSide
    quantity: float
    limit_price: float | None = None
    ts_ns: int = 0


VenueCommand = SubmitOrder | CancelOrder | ReplaceOrder
