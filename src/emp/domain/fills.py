"""Executions (fills)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from emp.domain.errors import InvalidFill
from emp.domain.orders import OrderSide
from emp.domain.slots import slot_setters


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


_INF = math.inf
_new = object.__new__
#: Fill's slot setters in field order (None should its layout move: then the constructor).
_SETTERS = slot_setters(
    Fill,
    ("exec_id", "client_order_id", "symbol", "side", "quantity", "price", "fee", "ts_ns"),
)


def make_fill(
    exec_id: str,
    client_order_id: str,
    symbol: str,
    side: OrderSide,
    quantity: float,
    price: float,
    fee: float,
    ts_ns: int,
) -> Fill:
    """``Fill(exec_id=..., ..., ts_ns=...)`` with the arguments in field order, faster.

    A simulated venue makes one per execution: a frozen dataclass's ``__init__`` goes
    through ``object.__setattr__`` per field; this writes the slots directly. The checks
    are the constructor's (a value it would refuse goes through it, which raises).
    """
    setters = _SETTERS
    if setters is None or not (0.0 < quantity < _INF and 0.0 < price < _INF and 0.0 <= fee < _INF):
        return Fill(
            exec_id=exec_id,
            client_order_id=client_order_id,
            symbol=symbol,
            side=side,
            quantity=quantity,
            price=price,
            fee=fee,
            ts_ns=ts_ns,
        )
    s_exec, s_cid, s_symbol, s_side, s_quantity, s_price, s_fee, s_ts = setters
    fill = _new(Fill)
    s_exec(fill, exec_id)
    s_cid(fill, client_order_id)
    s_symbol(fill, symbol)
    s_side(fill, side)
    s_quantity(fill, quantity)
    s_price(fill, price)
    s_fee(fill, fee)
    s_ts(fill, ts_ns)
    return fill
