"""Executions (fills)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from emp.domain.errors import InvalidFill
from emp.domain.orders import OrderSide


@dataclass(frozen=True, slots=True, kw_only=True)
class Fill:
    """One execution of (part of) an order.

    ``fee`` is the total commission charged for this execution in the instrument's
    currency (always >= 0); it is paid out of cash.
    """

    exec_id: str
    client_order_id: str
    symbol: str
    side: OrderSide
    quantity: float
    price: float
    fee: float
    ts_ns: int

    def __post_init__(self) -> None:
        if not math.isfinite(self.quantity) or self.quantity <= 0:
            raise InvalidFill(f"fill {self.exec_id}: quantity must be > 0, was {self.quantity}")
        if not math.isfinite(self.price) or self.price <= 0:
            raise InvalidFill(f"fill {self.exec_id}: price must be > 0, was {self.price}")
        if not math.isfinite(self.fee) or self.fee < 0:
            raise InvalidFill(f"fill {self.exec_id}: fee must be >= 0, was {self.fee}")

    @property
    def signed_quantity(self) -> float:
        return self.side.sign * self.quantity

    @property
    def notional(self) -> float:
        return self.quantity * self.price
