"""Why the venue refuses a new order or a replace, as (FIX code, reason in words).

New orders are refused with FIX OrdRejReason (103) codes (:class:`RejectCode`); cancel and
replace requests with CxlRejReason (102) codes (:class:`CancelRejectReason`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from emp.domain.commands import ReplaceOrder, SubmitOrder
from emp.domain.errors import InvalidConfiguration
from emp.domain.events import RejectCode
from emp.domain.instruments import Instrument
from emp.domain.matching.venue_order import VenueOrder, lots_to_quantity
from emp.domain.orders import OrderType

Refusal = tuple[int, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueLimits:
    """The venue's own pre-trade risk checks (``None`` = no limit).

    Attributes:
        max_order_quantity: the largest order quantity accepted.
        max_order_notional: the largest quantity x reference price accepted; the reference
            is the limit price, or for a market order the opposite side's best price.
    """

    max_order_quantity: float | None = None
    max_order_notional: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_order_quantity", "max_order_notional"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise InvalidConfiguration(f"{name} must be > 0 or None, was {value!r}")


def price_presence_refusal(order_type: OrderType, limit_price: float | None) -> str | None:
    if order_type is OrderType.MARKET and limit_price is not None:
        return f"a MARKET order takes no limit price, was {limit_price!r}"
    if order_type is OrderType.LIMIT and limit_price is None:
        return "a LIMIT order needs a limit price"
    return None


def quantity_refusal(
    instrument: Instrument, quantity: float, floor: float = 0.0, tolerance: float = 0.0
) -> str | None:
    """Why ``quantity`` cannot be an order's (or a replace's, above ``floor`` already
    filled, ``tolerance`` relative), or ``None``."""
    if not math.isfinite(quantity) or quantity <= floor * (1.0 + tolerance):
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


def limits_refusal(
    limits: VenueLimits, quantity: float, reference_price: float | None
) -> str | None:
    cap = limits.max_order_quantity
    if cap is not None and quantity > cap:
        return f"order quantity {quantity!r} exceeds the venue's limit of {cap!r}"
    cap = limits.max_order_notional
    if cap is not None and reference_price is not None and quantity * reference_price > cap:
        return f"order notional {quantity * reference_price!r} exceeds the venue's limit of {cap!r}"
    return None


def new_order_refusal(
    command: SubmitOrder,
    instrument: Instrument,
    limits: VenueLimits,
    reference_price: float | None,
) -> Refusal | None:
    """The first reason to refuse a (non-duplicate, known-symbol) new order, or None."""
    presence = price_presence_refusal(command.order_type, command.limit_price)
    if presence is not None:
        return RejectCode.UNSUPPORTED_CHARACTERISTIC, presence
    quantity = quantity_refusal(instrument, command.quantity)
    if quantity is not None:
        return RejectCode.INCORRECT_QUANTITY, quantity
    if command.limit_price is not None:
        price = price_refusal(instrument, command.limit_price)
        if price is not None:
            return RejectCode.INVALID_PRICE_INCREMENT, price
    reference = command.limit_price if command.limit_price is not None else reference_price
    risk = limits_refusal(limits, command.quantity, reference)
    if risk is not None:
        return RejectCode.EXCEEDS_LIMIT, risk
    return None


def replace_refusal(command: ReplaceOrder, order: VenueOrder, limits: VenueLimits) -> str | None:
    """Why a replace of a live, matching order is refused (CxlRejReason OTHER), or None."""
    instrument = order.instrument
    if order.order_type is OrderType.MARKET:
        return "a MARKET order cannot be replaced"
    filled = lots_to_quantity(order.filled_lots, instrument)
    return (
        price_presence_refusal(order.order_type, command.limit_price)
        or quantity_refusal(instrument, command.quantity, floor=filled)
        or (
            price_refusal(instrument, command.limit_price)
            if command.limit_price is not None
            else None
        )
        or limits_refusal(limits, command.quantity, command.limit_price)
    )
