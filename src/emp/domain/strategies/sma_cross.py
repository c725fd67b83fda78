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
        self._plans: dict[str, _Plan] = {}  # per symbol: see fast_forward

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
        """Skip the bars whose side equals the position's (see :class:`Strategy`).

        The decisions of every bar of ``series`` from ``start`` on are worked out once, in
        numpy (:class:`_Plan`): the running sums are ``numpy.cumsum`` from the current total
        (the same additions, in the same order, as :meth:`on_bar`), the averages and the
        tie test the same expressions, so the first bar whose side differs is found bit for
        bit where :meth:`on_bar` would act. Later calls on the same series look the next
        such bar up, as long as the sums are where the plan expects them (on_bar pushing
        the same closes keeps them there); otherwise the plan is worked out again.
        """
        symbol = series.symbol
        sums = self._sums.get(symbol)
        if sums is None:
            sums = self._sums[symbol] = _CumulativeSums(self._slow)
        plan = self._plans.get(symbol)
        if plan is None or not plan.fits(series, start, sums):
            plan = self._plans[symbol] = _Plan(series, start, sums, self._fast, self._slow)
        current = ctx.position(symbol)
        current_side = (current > 0) - (current < 0)
        k = plan.next_action(start, stop, current_side, -1 if self._reverse else 0)
        plan.advance(sums, start, k)
        return k


#: Bars one plan covers (beyond them, the next call plans again): bounds its memory.
PLAN_BARS = 1 << 20


class _Plan:
    """The decisions of a series' bars from ``offset`` on (at most :data:`PLAN_BARS`),
    given the sums at that bar.

    ``long[i]``: on_bar's averages say "above" at bar ``offset + i``; ``warm[i]``: on_bar
    decides there at all. ``next_long[i]`` / ``next_not_long[i]``: the first warm bar at or
    after ``offset + i`` that is (is not) "above", ``offset + n`` when none is.
    """

    __slots__ = (
        "count0",
        "first_warm",
        "history",
        "n",
        "next_long",
        "next_not_long",
        "offset",
        "series",
        "size",
        "totals",
    )

    def __init__(
        self,
        series: BarSeries,
        offset: int,
        sums: _CumulativeSums,
        fast: int,
        slow: int,
    ) -> None:
        closes = series.close[offset : offset + PLAN_BARS]
        n = self.n = int(closes.shape[0])
        size, count = self.size, self.count0 = sums.size, sums.count
        self.series, self.offset = series, offset
        totals = np.cumsum(np.concatenate(([sums.total], closes)))[1:]
        # the last `size` known sums S_{count-size} .. S_{count-1} (unknown ones, before S_0,
        # are only ever read during the warm-up, where nothing is decided), then the new ones
        ring = sums.ring
        known = np.array([ring[a % size] for a in range(count - size, count)])
        history = self.history = np.concatenate((known, totals))
        totals = self.totals = history[size:]
        fast_sma = (totals - history[size - fast : size - fast + n]) / fast
        slow_sma = (totals - history[size - slow : size - slow + n]) / slow
        long = fast_sma - slow_sma > TIE_TOLERANCE * totals
        warm = np.arange(count + 1, count + 1 + n) > slow  # on_bar decides from count > slow
        self.first_warm = int(np.argmax(warm)) if warm.any() else n
        self.next_long = _next_true(warm & long)
        self.next_not_long = _next_true(warm & ~long)

    def fits(self, series: BarSeries, start: int, sums: _CumulativeSums) -> bool:
        """Whether the sums stand where this plan has them before bar ``start``."""
        i = start - self.offset
        if series is not self.series or not 0 <= i < self.n:
            return False
        if sums.count != self.count0 + i:
            return False
        return sums.total == (self.totals[i - 1] if i else self.history[self.size - 1])

    def next_action(self, start: int, stop: int, current_side: int, flat_side: int) -> int:
        """The first bar in ``[start, stop)`` where on_bar acts, else ``stop``."""
        i = start - self.offset
        if current_side == 1:
            k = int(self.next_not_long[i])
        elif current_side == flat_side:
            k = int(self.next_long[i])
        else:  # a side on_bar never wants: it acts at its first decision
            k = max(i, self.first_warm)
        return min(self.offset + k, stop)

    def advance(self, sums: _CumulativeSums, start: int, stop: int) -> None:
        """Push the closes of bars ``[start, stop)`` into ``sums`` (their sums, looked up)."""
        if stop <= start:
            return
        base = self.count0 - self.offset  # S of bar b is S_{base + b}
        end = base + stop
        ring, size = sums.ring, sums.size
        # the newest `size` sums are the ring's (older ones are already there): S_a at
        # ring[a % size], from history[a - count0 + size]; at most two runs of the ring
        first = max(base + start, end - size)
        at = first - self.count0 + size
        values = self.history[at : at + end - first].tolist()
        split = first % size
        head = min(len(values), size - split)
        ring[split : split + head] = values[:head]
        ring[: len(values) - head] = values[head:]
        sums.total = values[-1]
        sums.count = end


def _next_true(flags: np.ndarray) -> np.ndarray:
    """For each index, the first index at or after it where ``flags`` holds (len if none)."""
    n = flags.shape[0]
    at = np.where(flags, np.arange(n, dtype=np.int32), np.int32(n))
    return np.minimum.accumulate(at[::-1])[::-1]


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
