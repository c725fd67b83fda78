"""The commission of one fill, as every simulated venue charges it."""

from __future__ import annotations


def commission_fee(
    quantity: float,
    price: float,
    *,
    bps: float = 0.0,
    per_share: float = 0.0,
    fixed: float = 0.0,
    minimum: float = 0.0,
) -> float:
    """``max(minimum, bps × notional / 10⁴ + per_share × quantity + fixed)``."""
    variable = bps * quantity * price / 10_000.0 + per_share * quantity
    if fixed:
        variable += fixed
    return max(minimum, variable)
