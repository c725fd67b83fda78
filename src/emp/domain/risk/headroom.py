"""How much more of an order a cap leaves room for, and lot rounding.

Every cap in this package has the same shape: a measure that a buy (or a sell) pushes up
by a known amount per unit, compared with a limit; an order passes when the measure stays
within the limit *or does not grow* (so orders that shrink a breach always pass). The
helpers here solve that inequality for the quantity, once, for all the caps.
"""

from __future__ import annotations

import math

_LOT_TOLERANCE = 1e-9


def headroom(level: float, other: float, limit: float) -> float:
    """The largest ``x >= 0`` with ``max(|level + x|, other) <= limit``, or with the measure
    not growing (``max(|level + x|, other) <= max(|level|, other)``).

    ``level`` is the side of the measure the order moves, ``other`` the absolute value of
    the side it leaves alone; callers guarantee ``level >= -other`` (the moved side starts
    at or above the negated other side), which makes the accepted set an interval from 0.
    """
    other = abs(other)
    unchanged = max(abs(level), other) - level
    within = limit - level if other <= limit else -math.inf
    return max(within, unchanged, 0.0)


def round_down_to_lot(quantity: float, lot_size: float) -> float:
    """The largest multiple of ``lot_size`` not above ``quantity`` (0.0 for none)."""
    if not math.isfinite(quantity):
        return quantity if quantity > 0 else 0.0
    if quantity <= 0:
        return 0.0
    lots = math.floor(quantity / lot_size + _LOT_TOLERANCE)
    return round(lots * lot_size, 12)
