"""Position sizing: fixed fractional, volatility targeting and capped Kelly.

Pure functions from account and market numbers to an order quantity. Every result is
rounded *down* to a lot multiple and cut to the given :class:`SizingLimits`; pass the
risk layer's headroom (``RiskManager.capacity(...)``) as ``max_quantity`` to size within
every resizable risk limit too. A sizer never returns a negative quantity: direction is
the strategy's decision, size is this module's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from emp.domain.errors import InvalidConfiguration

_LOT_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True, kw_only=True)
class SizingLimits:
    """Bounds every sizer respects.

    Attributes:
        lot_size: results are multiples of it.
        max_quantity: at most this many units (e.g. the risk layer's capacity).
        max_notional: at most this notional at the sizing price.
    """

    lot_size: float = 1.0
    max_quantity: float = math.inf
    max_notional: float = math.inf

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lot_size) and self.lot_size > 0):
            raise InvalidConfiguration(f"lot_size must be > 0, was {self.lot_size!r}")
        for name in ("max_quantity", "max_notional"):
            value = getattr(self, name)
            if math.isnan(value) or value < 0:
                raise InvalidConfiguration(f"{name} must be >= 0, was {value!r}")


@dataclass(frozen=True, slots=True)
class SizingResult:
    """``quantity`` to trade (lot multiple, within limits); ``raw_quantity`` before them;
    ``limited_by`` names the bound that cut it (``None``: only lot rounding, if any)."""

    quantity: float
    raw_quantity: float
    limited_by: str | None = None


def _positive(name: str, value: float) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise InvalidConfiguration(f"{name} must be > 0, was {value!r}")
    return float(value)


def apply_limits(raw_quantity: float, price: float, limits: SizingLimits | None) -> SizingResult:
    """Cut ``raw_quantity`` to the limits and round it down to a lot multiple."""
    limits = limits if limits is not None else SizingLimits()
    raw = max(raw_quantity, 0.0) if math.isfinite(raw_quantity) else 0.0
    quantity, limited_by = raw, None
    if quantity > limits.max_quantity:
        quantity, limited_by = limits.max_quantity, "max_quantity"
    if quantity * price > limits.max_notional:
        quantity, limited_by = limits.max_notional / price, "max_notional"
    lots = math.floor(quantity / limits.lot_size + _LOT_TOLERANCE)
    return SizingResult(round(lots * limits.lot_size, 12), raw, limited_by)


def fixed_fractional(
    *,
    equity: float,
    fraction: float,
    price: float,
    stop_distance: float | None = None,
    limits: SizingLimits | None = None,
) -> SizingResult:
    """Risk ``fraction`` of equity.

    With a ``stop_distance`` (price units), the quantity loses ``fraction × equity`` if the
    stop is hit: ``fraction × equity / stop_distance``. Without one, ``fraction`` of equity
    is allocated: ``fraction × equity / price``.
    """
    _positive("price", price)
    if not (0 < fraction <= 1):
        raise InvalidConfiguration(f"fraction must be in (0, 1], was {fraction!r}")
    budget = max(equity, 0.0) * fraction
    per_unit = _positive("stop_distance", stop_distance) if stop_distance is not None else price
    return apply_limits(budget / per_unit, price, limits)


def volatility_target(
    *,
    equity: float,
    target_volatility: float,
    asset_volatility: float,
    price: float,
    limits: SizingLimits | None = None,
) -> SizingResult:
    """Hold the notional whose volatility is ``target_volatility`` of equity:
    ``equity × target / asset_volatility / price`` (both volatilities annualised).
    An unknown (NaN) or zero asset volatility sizes to nothing."""
    _positive("price", price)
    _positive("target_volatility", target_volatility)
    if not (math.isfinite(asset_volatility) and asset_volatility > 0):
        return SizingResult(0.0, 0.0, "asset_volatility")
    notional = max(equity, 0.0) * target_volatility / asset_volatility
    return apply_limits(notional / price, price, limits)


def kelly_fraction(win_probability: float, win_loss_ratio: float) -> float:
    """The Kelly fraction ``p - (1 - p) / b`` (may be negative: no edge)."""
    if not 0 <= win_probability <= 1:
        raise InvalidConfiguration(f"win_probability must be in [0, 1], was {win_probability!r}")
    _positive("win_loss_ratio", win_loss_ratio)
    return win_probability - (1.0 - win_probability) / win_loss_ratio


def kelly_capped(
    *,
    equity: float,
    price: float,
    win_probability: float,
    win_loss_ratio: float,
    kelly_multiplier: float = 0.5,
    max_fraction: float = 0.2,
    limits: SizingLimits | None = None,
) -> SizingResult:
    """Allocate ``min(kelly_multiplier × Kelly, max_fraction)`` of equity (0 without edge)."""
    _positive("price", price)
    if not 0 < kelly_multiplier <= 1:
        raise InvalidConfiguration(f"kelly_multiplier must be in (0, 1], was {kelly_multiplier!r}")
    if not 0 < max_fraction <= 1:
        raise InvalidConfiguration(f"max_fraction must be in (0, 1], was {max_fraction!r}")
    kelly = kelly_fraction(win_probability, win_loss_ratio) * kelly_multiplier
    fraction = min(max(kelly, 0.0), max_fraction)
    result = apply_limits(max(equity, 0.0) * fraction / price, price, limits)
    if kelly > max_fraction and result.limited_by is None:
        return SizingResult(result.quantity, result.raw_quantity, "max_fraction")
    return result
