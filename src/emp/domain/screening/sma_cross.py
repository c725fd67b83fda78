"""The built-in ``sma_cross`` strategy (:mod:`emp.domain.strategies.sma_cross`) in numpy.

Decisions: with ``S`` the running sum of closes (``numpy.cumsum``), at every bar
``t >= slow − 1`` the wanted side is long when ``(S_{t+1} − S_{t+1−fast}) / fast −
(S_{t+1} − S_{t+1−slow}) / slow > TIE_TOLERANCE × S_{t+1}``, else flat or short by
``mode``. The position trades wherever the wanted side differs from the held one: at the
next bar's open (``next_open``; a decision on the last bar never fills) or at the decision
bar's close (``close``).

Sizes: ``units`` when > 0 — then everything is vectorised; else all equity (cash plus the
position marked at the decision close) over the decision close, rounded down to the lot —
then a short Python loop runs over the trades only (equity depends on earlier trades).
Every float operation is the event engine's, in the same order, so fills and equity agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emp.domain.errors import InvalidConfiguration
from emp.domain.screening.costs import ScreeningCosts
from emp.domain.strategies.sma_cross import MODES, REVERSE, TIE_TOLERANCE

_GRID_TOLERANCE = 1e-9  # Instrument.round_down_quantity's


@dataclass(frozen=True, slots=True)
class ScreenResult:
    """Fills (bar index, signed quantity, price, fee) and the per-bar equity and exposure."""

    fill_bars: np.ndarray
    fill_quantity: np.ndarray  # signed: + buys, - sells
    fill_price: np.ndarray
    fill_fee: np.ndarray
    final_equity: float
    equity: np.ndarray | None  # None when screened without the curve
    gross_exposure: np.ndarray | None

    @property
    def n_fills(self) -> int:
        return int(self.fill_bars.shape[0])


def check_arguments(n: int, fast: int, slow: int, mode: str, units: float, cash: float) -> None:
    """Raise InvalidConfiguration unless the arguments make an ``sma_cross`` screen."""
    if isinstance(fast, bool) or isinstance(slow, bool) or not 1 <= fast < slow:
        raise InvalidConfiguration(f"sma_cross needs 1 <= fast < slow, was {fast}, {slow}")
    if mode not in MODES:
        raise InvalidConfiguration(f"mode must be one of {', '.join(MODES)}, was {mode!r}")
    if not units >= 0 or not cash > 0:
        raise InvalidConfiguration(f"expected units >= 0 and cash > 0, were {units}, {cash}")
    if n == 0:
        raise InvalidConfiguration("expected bars, got none")


def _long_mask(close: np.ndarray, fast: int, slow: int) -> np.ndarray:
    """For bars ``slow − 1 ..``: is SMA(fast) > SMA(slow)? (in place, few temporaries)"""
    n = close.shape[0]
    sums = np.empty(n + 1)
    sums[0] = 0.0
    np.cumsum(close, out=sums[1:])
    newest = sums[slow:]
    fast_sma = np.subtract(newest, sums[slow - fast : n + 1 - fast])
    fast_sma /= fast
    # not in place into ``sums``: ``newest`` is a view of it, and the tolerance needs it
    slow_sma = np.subtract(newest, sums[: n + 1 - slow])
    slow_sma /= slow
    fast_sma -= slow_sma
    return np.greater(fast_sma, np.multiply(newest, TIE_TOLERANCE, out=slow_sma))


def wanted_sides(close: np.ndarray, fast: int, slow: int, mode: str) -> np.ndarray:
    """Per bar, the side the strategy wants (int8; 0 before ``slow`` closes exist)."""
    n = close.shape[0]
    sides = np.zeros(n, dtype=np.int8)
    if n < slow:
        return sides
    long = _long_mask(close, fast, slow).view(np.int8)
    sides[slow - 1 :] = long * 2 - 1 if mode == REVERSE else long
    return sides


def _decisions(close: np.ndarray, fast: int, slow: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """The bars where the wanted side changes, and the side wanted from each of them on."""
    if close.shape[0] < slow:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int8)
    long = _long_mask(close, fast, slow)
    changes = np.flatnonzero(long[1:] != long[:-1]) + 1
    if mode == REVERSE or long[0]:
        changes = np.concatenate((np.zeros(1, dtype=np.int64), changes))
    wanted = long[changes].view(np.int8)
    if mode == REVERSE:
        wanted = wanted * 2 - 1
    return changes + (slow - 1), wanted


def screen_sma_cross(
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
    """Backtest ``sma_cross`` on one symbol's opens and closes (float64 arrays).

    ``curve=False`` skips the per-bar equity and exposure (the fastest way to rank
    parameter sets by final equity).
    """
    open_ = np.asarray(open_, dtype=np.float64)
    close = np.asarray(close, dtype=np.float64)
    n = close.shape[0]
    check_arguments(n, fast, slow, mode, units, initial_cash)
    costs = costs or ScreeningCosts()
    decisions, wanted = _decisions(close, fast, slow, mode)
    at_close = costs.fill_model == "close"
    if units > 0:
        bars, quantity = _fixed_size_trades(decisions, wanted, units, n, at_close)
        reference = close[bars] if at_close else open_[bars]
        prices = costs.fill_prices(reference, np.sign(quantity))
        fees = costs.fees(np.abs(quantity), prices)
    else:
        sides = wanted_sides(close, fast, slow, mode)
        bars, quantity, prices, fees = _all_in_trades(
            decisions, sides, open_, close, initial_cash, lot_size, costs, at_close
        )
    return _result(n, close, bars, quantity, prices, fees, initial_cash, curve)


def _fixed_size_trades(
    decisions: np.ndarray, wanted: np.ndarray, units: float, n: int, at_close: bool
) -> tuple[np.ndarray, np.ndarray]:
    targets = wanted.astype(np.float64) * units
    quantity = np.diff(targets, prepend=0.0)
    bars = decisions if at_close else decisions + 1
    keep = bars < n
    return bars[keep], quantity[keep]


def _all_in_trades(
    decisions: np.ndarray,
    sides: np.ndarray,
    open_: np.ndarray,
    close: np.ndarray,
    cash: float,
    lot_size: float,
    costs: ScreeningCosts,
    at_close: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = close.shape[0]
    bars: list[int] = []
    quantities: list[float] = []
    prices: list[float] = []
    fees: list[float] = []
    position = 0.0
    held = 0  # the side of ``position``
    # the decisions to look at: where the wanted side changes, and, while a wanted side
    # could not be reached (equity too small for one lot), every bar after it
    pending = decisions.tolist()
    k = 0
    t = pending[0] if pending else n
    while t < n:
        want = int(sides[t])
        if want != held:
            equity = cash + position * close[t] if position else cash
            if want == 0:
                target = 0.0
            else:
                lots = math.floor(equity / close[t] / lot_size + _GRID_TOLERANCE)
                target = want * round(lots * lot_size, 12)
            delta = target - position
            fill_at = t if at_close else t + 1
            if delta != 0 and fill_at < n:
                sign = 1 if delta > 0 else -1
                price = costs.fill_price(close[t] if at_close else open_[fill_at], sign)
                quantity = abs(delta)
                fee = costs.fee(quantity, price)
                cash -= sign * quantity * price + fee
                position += sign * quantity
                if abs(position) <= 1e-9:
                    position = 0.0
                held = (position > 0) - (position < 0)
                bars.append(fill_at)
                quantities.append(sign * quantity)
                prices.append(price)
                fees.append(fee)
        # next bar to look at: the next change of the wanted side, or the next bar while
        # the held side still differs from the wanted one
        while k < len(pending) and pending[k] <= t:
            k += 1
        upcoming = pending[k] if k < len(pending) else n
        t = t + 1 if held != want and t + 1 < upcoming else upcoming
    return (
        np.asarray(bars, dtype=np.int64),
        np.asarray(quantities, dtype=np.float64),
        np.asarray(prices, dtype=np.float64),
        np.asarray(fees, dtype=np.float64),
    )


def _result(
    n: int,
    close: np.ndarray,
    bars: np.ndarray,
    quantity: np.ndarray,
    prices: np.ndarray,
    fees: np.ndarray,
    initial_cash: float,
    curve: bool,
) -> ScreenResult:
    # cash and position after each fill, accumulated left to right as the portfolio does
    cash_after = np.subtract.accumulate(np.concatenate(([initial_cash], quantity * prices + fees)))
    position_after = np.add.accumulate(np.concatenate(([0.0], quantity)))
    last_position = float(position_after[-1])
    final = (
        float(cash_after[-1] + last_position * close[-1])
        if last_position
        else float(cash_after[-1])
    )
    equity = gross = None
    if curve:
        lengths = np.diff(np.concatenate(([0], bars, [n])))
        held = np.repeat(position_after, lengths)
        held *= close
        equity = np.repeat(cash_after, lengths)
        equity += held
        gross = np.abs(held, out=held)
    return ScreenResult(
        fill_bars=bars,
        fill_quantity=quantity,
        fill_price=prices,
        fill_fee=fees,
        final_equity=final,
        equity=equity,
        gross_exposure=gross,
    )


def sweep_sma_cross(
    open_: np.ndarray,
    close: np.ndarray,
    pairs: list[tuple[int, int]],
    **kwargs: object,
) -> np.ndarray:
    """Final equity of ``sma_cross`` for each ``(fast, slow)`` pair (other options alike)."""
    return np.asarray(
        [
            screen_sma_cross(open_, close, fast=f, slow=s, curve=False, **kwargs).final_equity  # type: ignore[arg-type]
            for f, s in pairs
        ]
    )
