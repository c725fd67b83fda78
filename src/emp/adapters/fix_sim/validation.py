"""What the simulated venue refuses in a new order or a replace: the reasons, in words."""

from __future__ import annotations

import math

from emp.adapters.fix_sim.working_order import QTY_TOLERANCE
from emp.domain.instruments import Instrument
from emp.domain.orders import OrderType


def price_presence_refusal(order_type: OrderType, limit_price: float | None) -> str | None:
    if order_type is OrderType.MARKET and limit_price is not None:
        return f"a MARKET order takes no limit price, was {limit_price!r}"
    if order_type is OrderType.LIMIT and limit_price is None:
        return "a LIMIT order needs a limit price"
    return None


def quantity_refusal(instrument: Instrument, quantity: float, *, floor: float) -> str | None:
    if not math.isfinite(quantity) or quantity <= floor * (1.0 + QTY_TOLERANCE):
        bound = "0" if floor == 0 else f"the filled quantity {floor!r}"
        return f"order quantity must be greater than {bound}, was {quantity!r}"
    if not instrument.is_lot_multiple(quantity):
        return (
            f"order quantity must be a multiple of lot size {instrument.lot_size!r}, "
            f"was {quantity!r}"
        )
    return None


def price_refusal(instrument: Instrument, price: float) -> str | None:
    if not math.isfinite(price) or price <= 0:
        return f"limit price must be > 0, was {price!r}"
    if not instrument.is_on_tick(price):
        return (
            f"limit price must be a multiple of tick size {instrument.tick_size!r}, was {price!r}"
        )
    return None
