"""SMA crossover: EMP's built-in reference strategy for backtests and the screening path.

On each bar's close, with ``SMA_n`` the mean of the last ``n`` closes:

* ``fast`` SMA above the ``slow`` SMA → be long;
* otherwise → be flat (``mode="long_only"``) or short (``mode="reverse"``, always in the
  market).

A position is only traded when its side must change (never re-sized while the side holds).
The target size is ``units`` when given, else all of the account's equity (split equally
across the run's symbols) at the decision close, rounded down to whole lots: with one
symbol and no position, that is all available cash. Orders are MARKET orders; under the
default fill model they fill at the next bar's open, so the cost can differ from the budget
by the overnight gap (cash may then dip slightly below zero, or a little stays uninvested).

The SMAs are computed from a running sum of closes, ``(S_t − S_{t−n}) / n``, exactly as
``numpy.cumsum`` does it, so the vectorised screening path
(:mod:`emp.domain.screening`) takes bit-identical decisions. "Above" means above by more
than ``TIE_TOLERANCE × S_t``: an exact tie (common on a tick grid) is not a long signal,
whatever ulps of rounding the running sums carry (other engines, summing each window
afresh, see such ties as ties too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from emp.domain.bars import Bar, BarSeries
from emp.domain.errors import InvalidConfiguration
from emp.domain.orders import OrderSide
from emp.domain.strategy import OrderIntent, Strategy, StrategyContext, StrategySpec

#: Two SMAs closer than this × the running sum of closes are equal (a tie is not "above"):
#: on a tick grid exact ties happen, and the running-sum arithmetic leaves ulps of noise.
TIE_TOLERANCE = 1e-14
LONG_ONLY = "long_only"
REVERSE = "reverse"
MODES: tuple[str, ...] = (LONG_ONLY, REVERSE)


class _CumulativeSums:
    """The last ``slow + 1`` running sums of closes (``S_0 = 0``) in a ring buffer.

    ``count`` is how many sums are known (``S_0`` included); ``S_k`` sits at ``ring[k % size]``.
    """

    __slots__ = ("count", "ring", "size", "total")

    def __init__(self, slow: int) -> None:
        self.size = slow + 1
        self.ring = [0.0] * self.size
        self.count = 1  # S_0 = 0 is known
        self.total = 0.0

    def push(self, close: float) -> None:
        self.total = self.total + close
        self.ring[self.count % self.size] = self.total
        self.count += 1

    def back(self, lag: int) -> float | None:
        """``S_{t+1-lag}`` where ``S_{t+1}`` is the newest sum; ``None`` if not yet known."""
        if lag >= self.count:
            return None
        return self.ring[(self.count - 1 - lag) % self.size]


def desired_side(fast_sma: float, slow_sma: float, mode: str, tie: float = 0.0) -> int:
    """+1 long, -1 short, 0 flat: the side ``mode`` wants for these two averages.

    Long needs ``fast_sma − slow_sma > tie``.
    """
    if fast_sma - slow_sma > tie:
        return 1
    return -1 if mode == REVERSE else 0


class SmaCross(Strategy):
    """Long when SMA(fast) > SMA(slow); otherwise flat or short (see the module doc)."""

    name = "sma_cross"

    def __init__(
        self, *, fast: int = 10, slow: int = 30, mode: str = LONG_ONLY, units: float = 0.0
    ) -> None:
        if isinstance(fast, bool) or isinstance(slow, bool) or not 1 <= fast < slow:
            raise InvalidConfiguration(
                f"sma_cross needs integers 1 <= fast < slow, was fast={fast!r}, slow={slow!r}"
            )
        if mode not in MODES:
            raise InvalidConfiguration(
                f"sma_cross mode must be one of {', '.join(MODES)}, was {mode!r}"
            )
        if not units >= 0:
            raise InvalidConfiguration(f"sma_cross units must be >= 0, was {units!r}")
        self._fast = int(fast)
        self._slow = int(slow)
        self._mode = mode
        self._units = float(units)
        self._reverse = mode == REVERSE
        self._sums: dict[str, _CumulativeSums] = {}

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Sequence[OrderIntent]:
        symbol = bar.symbol
        sums = self._sums.get(symbol)
        if sums is None:
            sums = self._sums[symbol] = _CumulativeSums(self._slow)
        # push the close (inlined: this runs once per bar)
        newest = sums.total = sums.total + bar.close
        count = sums.count
        ring, size = sums.ring, sums.size
        ring[count % size] = newest
        sums.count = count = count + 1
        slow, fast = self._slow, self._fast
        if slow >= count:
            return ()
        fast_sma = (newest - ring[(count - 1 - fast) % size]) / fast
        slow_sma = (newest - ring[(count - 1 - slow) % size]) / slow
        if fast_sma - slow_sma > TIE_TOLERANCE * newest:
            side = 1
        else:
            side = -1 if self._reverse else 0
        current = ctx.position(symbol)
        current_side = (current > 0) - (current < 0)
        if side == current_side:
            return ()
        if side == 0:
            target = 0.0
        else:
            units = self._units
            if units <= 0:
                budget = ctx.equity / max(1, len(ctx.symbols))
                units = ctx.instrument(symbol).round_down_quantity(budget / bar.close)
            target = side * units
        delta = target - current
        if delta == 0:
            return ()
        order_side = OrderSide.BUY if delta > 0 else OrderSide.SELL
        return (OrderIntent(symbol=symbol, side=order_side, quantity=abs(delta), tag=self.name),)

    def fast_forward(self, series: BarSeries, start: int, stop: int, ctx: StrategyContext) -> int:
        """Skip, with numpy, the bars whose side equals the position's (see :class:`Strategy`).

        The running sums are ``numpy.cumsum`` from the current total (the same additions,
        in the same order, as :meth:`on_bar`), and the averages and the tie test the same
        expressions, so the first bar whose side differs is found bit for bit where
        :meth:`on_bar` would act. The first 128 bars go bar by bar in plain Python (a
        decision near ``start`` then costs little), the rest in numpy blocks of 1,024 bars
        growing to 16,384.
        """
        symbol = series.symbol
        sums = self._sums.get(symbol)
        if sums is None:
            sums = self._sums[symbol] = _CumulativeSums(self._slow)
        current = ctx.position(symbol)
        current_side = (current > 0) - (current < 0)
        closes = series.close
        # short stretches (a decision within a hundred bars or so) cost least in plain Python
        end = min(stop, start + 128)
        i = start + self._quiet_prefix_scalar(sums, closes[start:end].tolist(), current_side)
        block = 1024
        while i == end and i < stop:
            end = min(stop, i + block)
            i += self._quiet_prefix(sums, closes[i:end], current_side)
            block = min(block * 2, 16_384)
        return i

    def _quiet_prefix_scalar(
        self, sums: _CumulativeSums, closes: list[float], current_side: int
    ) -> int:
        """:meth:`_quiet_prefix` bar by bar: on_bar's arithmetic, decided before the push.

        on_bar acts when the side it wants differs from the position's: for a long
        position when the averages stop being "above", for a flat (or, reversing, short)
        one when they become "above", for any other at its first decision.
        """
        ring, size, count, total = sums.ring, sums.size, sums.count, sums.total
        fast, slow, tolerance = self._fast, self._slow, TIE_TOLERANCE
        flat_side = -1 if self._reverse else 0
        stay_above = True if current_side == 1 else False if current_side == flat_side else None
        start = count
        for close in closes:
            newest = total + close
            # on_bar decides once the count after the push exceeds slow
            if (
                count >= slow
                and (
                    (newest - ring[(count - fast) % size]) / fast
                    - (newest - ring[(count - slow) % size]) / slow
                    > tolerance * newest
                )
                is not stay_above
            ):
                break
            ring[count % size] = total = newest
            count += 1
        sums.total, sums.count = total, count
        return count - start

    def _quiet_prefix(self, sums: _CumulativeSums, closes: np.ndarray, current_side: int) -> int:
        """Push the leading closes on which on_bar stays silent; return how many."""
        size, count, fast, slow = sums.size, sums.count, self._fast, self._slow
        m = int(closes.shape[0])
        totals = np.cumsum(np.concatenate(([sums.total], closes)))[1:]
        # the last `size` known sums S_{count-size} .. S_{count-1} (unknown ones, before S_0,
        # are only ever read during the warm-up, where nothing is decided), then the new ones
        ring = sums.ring
        known = np.array([ring[a % size] for a in range(count - size, count)])
        history = np.concatenate((known, totals))
        fast_sma = (totals - history[size - fast : size - fast + m]) / fast
        slow_sma = (totals - history[size - slow : size - slow + m]) / slow
        long = fast_sma - slow_sma > TIE_TOLERANCE * totals
        side = np.where(long, 1, -1 if self._reverse else 0)
        warm = np.arange(count + 1, count + 1 + m) > slow  # on_bar decides from count > slow
        acts = warm & (side != current_side)
        quiet = int(np.argmax(acts)) if acts.any() else m
        if quiet:
            for a in range(count + max(0, quiet - size), count + quiet):
                ring[a % size] = float(totals[a - count])
            sums.total = float(totals[quiet - 1])
            sums.count = count + quiet
        return quiet


def _build(params: Mapping[str, Any]) -> Strategy:
    return SmaCross(
        fast=params["fast"], slow=params["slow"], mode=params["mode"], units=params["units"]
    )


SMA_CROSS_SPEC = StrategySpec(
    name="sma_cross",
    factory=_build,
    description=(
        "Long when SMA(fast) > SMA(slow), else flat (mode=long_only) or short "
        "(mode=reverse); all equity in whole units unless units > 0."
    ),
    parameters={"fast": 10, "slow": 30, "mode": LONG_ONLY, "units": 0.0},
)
