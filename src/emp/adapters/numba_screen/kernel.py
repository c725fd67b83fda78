"""``sma_cross`` screened in one compiled pass over the bars (numba).

The loop restates :mod:`emp.domain.screening.sma_cross` bar by bar — the running sums
of closes in a power-of-two ring of at least ``slow + 1``, the same decision inequality,
fills at the next open (or the decision close), the same price, fee, cash and sizing
arithmetic in the same order — so every float matches the numpy reference and the event
engine. Compiled without ``fastmath``: IEEE semantics, no reassociation. The one operation
numba rounds differently, ``round(x, 12)`` of an all-in size on a fractional lot grid,
runs in object mode (once per trade; whole lots need no rounding).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit, objmode

from emp.domain.errors import InvalidConfiguration
from emp.domain.screening import ScreeningCosts, ScreenResult
from emp.domain.screening.sma_cross import check_arguments
from emp.domain.strategies.sma_cross import REVERSE, TIE_TOLERANCE

_GRID_TOLERANCE = 1e-9  # Instrument.round_down_quantity's
_compiled: Callable[..., Any] | None = None


def _loop(
    open_: np.ndarray,
    close: np.ndarray,
    fast: int,
    slow: int,
    reverse: bool,
    units: float,
    cash: float,
    lot_size: float,
    whole_lots: bool,
    impact: float,
    commission_bps: float,
    per_share: float,
    fixed: float,
    minimum: float,
    at_close: bool,
    curve: bool,
    fill_bars: np.ndarray,
    fill_quantity: np.ndarray,
    fill_price: np.ndarray,
    fill_fee: np.ndarray,
    equity: np.ndarray,
    gross: np.ndarray,
) -> tuple[int, float]:
    n = close.shape[0]
    # S_k (the running sum of the first k closes) for the last slow + 1 k, at k & mask;
    # at bar t the ring indices of S_{t+1}, S_{t+1-fast}, S_{t+1-slow} move on by one
    size = 1
    while size < slow + 1:
        size *= 2
    mask = size - 1
    sums = np.zeros(size)
    i_new = 0
    i_fast = (size - fast) & mask
    i_slow = (size - slow) & mask
    total = 0.0
    position = 0.0
    held = 0
    pending = 0.0  # signed quantity to fill at the next open
    fills = 0
    for t in range(n):
        if pending != 0.0:
            sign = 1.0 if pending > 0 else -1.0
            quantity = abs(pending)
            price = open_[t] * (1.0 + impact) if sign > 0 else open_[t] * (1.0 - impact)
            variable = commission_bps * quantity * price / 10_000.0 + per_share * quantity
            if fixed:
                variable += fixed
            fee = max(minimum, variable)
            cash -= sign * quantity * price + fee
            fill_bars[fills] = t
            fill_quantity[fills] = sign * quantity
            fill_price[fills] = price
            fill_fee[fills] = fee
            fills += 1
            pending = 0.0
            position += sign * quantity
            if abs(position) <= 1e-9:
                position = 0.0
        c = close[t]
        total = total + c
        i_new = (i_new + 1) & mask
        i_fast = (i_fast + 1) & mask
        i_slow = (i_slow + 1) & mask
        sums[i_new] = total
        if t >= slow - 1:
            fast_sma = (total - sums[i_fast]) / fast
            slow_sma = (total - sums[i_slow]) / slow
            if fast_sma - slow_sma > total * TIE_TOLERANCE:
                want = 1
            else:
                want = -1 if reverse else 0
            if want != held:
                if want == 0:
                    target = 0.0
                elif units > 0:
                    target = want * units
                else:
                    value = cash + position * c if position else cash
                    lots = math.floor(value / c / lot_size + _GRID_TOLERANCE)
                    amount = lots * lot_size
                    if not whole_lots:  # Python's correctly rounded round(x, 12)
                        with objmode(rounded="float64"):
                            rounded = round(amount, 12)
                        amount = rounded
                    target = want * amount
                delta = target - position
                if delta != 0 and (at_close or t + 1 < n):
                    sign = 1.0 if delta > 0 else -1.0
                    quantity = abs(delta)
                    if at_close:
                        price = c * (1.0 + impact) if sign > 0 else c * (1.0 - impact)
                        variable = (
                            commission_bps * quantity * price / 10_000.0 + per_share * quantity
                        )
                        if fixed:
                            variable += fixed
                        fee = max(minimum, variable)
                        cash -= sign * quantity * price + fee
                        fill_bars[fills] = t
                        fill_quantity[fills] = sign * quantity
                        fill_price[fills] = price
                        fill_fee[fills] = fee
                        fills += 1
                        position += sign * quantity
                        if abs(position) <= 1e-9:
                            position = 0.0
                        held = (position > 0) - (position < 0)
                    else:  # booked now (the side is taken), filled at the next open
                        pending = sign * quantity
                        after = position + pending
                        if abs(after) <= 1e-9:
                            after = 0.0
                        held = (after > 0) - (after < 0)
        if curve:  # flat: 0 × close = 0.0 and cash + 0.0 = cash, as the reference has it
            value = position * c
            equity[t] = cash + value
            gross[t] = abs(value)
    final = cash + position * close[n - 1] if position else cash
    return fills, final


def _kernel() -> Callable[..., Any]:
    """The compiled loop (compiled on first use, then cached on disk)."""
    global _compiled
    if _compiled is None:
        _compiled = njit(cache=True)(_loop)
    return _compiled


class NumbaScreeningKernel:
    """``sma_cross`` screening compiled with numba (implements ScreeningKernelPort)."""

    name = "numba"

    def sma_cross(
        self,
        open_: np.ndarray,
        close: np.ndarray,
        *,
        fast: int,
        slow: int,
        mode: str = "long_only",
        units: float = 0.0,
        initial_cash: float = 1_000_000.0,
        lot_size: float = 1.0,
        costs: ScreeningCosts | None = None,
        curve: bool = True,
    ) -> ScreenResult:
        open_ = np.ascontiguousarray(open_, dtype=np.float64)
        close = np.ascontiguousarray(close, dtype=np.float64)
        n = close.shape[0]
        check_arguments(n, fast, slow, mode, units, initial_cash)
        if open_.shape[0] != n:
            raise InvalidConfiguration(
                f"expected as many opens as closes, were {open_.shape[0]} and {n}"
            )
        costs = costs or ScreeningCosts()
        bars = np.empty(n, dtype=np.int64)
        quantity = np.empty(n)
        price = np.empty(n)
        fee = np.empty(n)
        equity = np.empty(n if curve else 0)
        gross = np.empty(n if curve else 0)
        count, final = _kernel()(
            open_,
            close,
            int(fast),
            int(slow),
            mode == REVERSE,
            float(units),
            float(initial_cash),
            float(lot_size),
            float(lot_size).is_integer(),
            costs.impact,
            float(costs.commission_bps),
            float(costs.commission_per_share),
            float(costs.commission_fixed),
            float(costs.min_commission),
            costs.fill_model == "close",
            bool(curve),
            bars,
            quantity,
            price,
            fee,
            equity,
            gross,
        )
        return ScreenResult(
            fill_bars=bars[:count].copy(),
            fill_quantity=quantity[:count].copy(),
            fill_price=price[:count].copy(),
            fill_fee=fee[:count].copy(),
            final_equity=float(final),
            equity=equity if curve else None,
            gross_exposure=gross if curve else None,
        )
