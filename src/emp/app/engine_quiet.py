"""Quiet stretches: the event engine's fast path over bars on which nothing can happen.

While no order works, a run over one symbol whose strategy implements
:meth:`~emp.domain.strategy.Strategy.fast_forward` and whose risk layer does not need each
bar (:attr:`~emp.domain.risk.RiskManager.needs_every_bar` False; no market windows, no
per-bar account terms) has nothing to do on a bar where the strategy stays silent but
record equity. The engine then asks the strategy how many bars it would stay silent,
notes the stretch (its bounds, the cash and the position held through it: equity and
exposure are written for every stretch of the window at its end, in a few numpy
expressions with the same arithmetic as ``Portfolio.valuation`` per bar, so the curve is
bit for bit the same). The bar the strategy may act on then goes through the ordinary
per-bar path, as does every bar while an order works: it brings the clock, the portfolio's
mark, the venue and the risk layer past the stretch (the venue has nothing working, the
risk layer needs only the latest account). A stretch that ends the window is followed by
no such bar: the clock, mark, venue and risk layer are brought to its last bar in one step
each. The kill signal is polled once per stretch (at the bar after it, or at its end); a
progress callback hears of a stretch once, at its end (and of every bar run one by one).

The result equals the per-bar loop's (``tests/unit/app/test_engine_quiet.py`` runs both on
random bars and compares fills, trades and the equity curve exactly).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emp.app.engine_steps import bar_at, bars_of
from emp.domain.bars import Bar, BarSeries
from emp.domain.errors import StrategyError
from emp.domain.portfolio import Portfolio
from emp.domain.strategy import Strategy, StrategyContext

ProgressCallback = Callable[[int, int], None]
#: Bars run through the ordinary loop after a stretch (the decision bar and the fill bar).
_STEPS = 2
StepRunner = Callable[[list[int], list[list[Bar]], np.ndarray, np.ndarray, int], None]


def can_fast_forward(strategy: Strategy) -> bool:
    """The strategy overrides :meth:`Strategy.fast_forward` (the default skips nothing)."""
    method = getattr(type(strategy), "fast_forward", None)
    return method is not None and method is not Strategy.fast_forward


class QuietStretches:
    """Runs one symbol's window, skipping the quiet stretches (see the module doc).

    Args:
        strategy: the run's strategy (it implements ``fast_forward``).
        ctx: the strategy's context.
        portfolio: the run's portfolio (one currency).
        step: runs the ordinary per-bar loop over ``(times, steps, equity, gross,
            offset)``.
        settle: ``(ts_ns, equity, last_bar)`` — brings clock, venue and risk to the last
            bar of a stretch (and polls the kill signal).
        busy: whether an order works or the risk layer needs every bar right now.
        next_timer: when the strategy's next timer is due (``None``: none pending); a
            stretch ends before the bar at or after it, which the ordinary loop runs
            (firing the timer first).
    """

    def __init__(
        self,
        *,
        strategy: Strategy,
        ctx: StrategyContext,
        portfolio: Portfolio,
        step: StepRunner,
        settle: Callable[[int, float, Bar], None],
        busy: Callable[[], bool],
        next_timer: Callable[[], int | None] = lambda: None,
    ) -> None:
        self._strategy = strategy
        self._ctx = ctx
        self._portfolio = portfolio
        self._step = step
        self._settle = settle
        self._busy = busy
        self._next_timer = next_timer

    def run(
        self,
        series: BarSeries,
        equity: np.ndarray,
        gross: np.ndarray,
        progress: ProgressCallback | None,
        done: int,
        total: int | None,
    ) -> None:
        """Fill ``equity``/``gross`` (one slot per bar of ``series``), as the loop would."""
        n = len(series)
        times = series.ts_ns
        stretches: list[tuple[int, int, float, float]] = []
        i = 0
        while i < n:
            if not self._busy() and self._portfolio.holds_only(series.symbol):
                due = self._next_timer()  # a stretch ends before a timer's bar
                end = n if due is None else min(n, int(np.searchsorted(times, due)))
                j = self._forward(series, i, end) if end > i else i
                if j > i:
                    stretches.append(self._stretch(series, i, j, settle=j == n))
                    i = j
                    if progress is not None:
                        progress(done + i, total if total is not None else done + i)
                    if i == n:
                        break
            # the bar the strategy may act on, and the next (where a market order fills),
            # through the ordinary loop in one call
            stop = min(n, i + _STEPS)
            bars = bars_of(series, i, stop)
            self._step(times[i:stop].tolist(), [[bar] for bar in bars], equity, gross, i)
            i = stop
            if progress is not None:
                progress(done + i, total if total is not None else done + i)
        _write_stretches(series.close, stretches, equity, gross)

    def _forward(self, series: BarSeries, start: int, stop: int) -> int:
        try:
            k = self._strategy.fast_forward(series, start, stop, self._ctx)
        except Exception as error:
            raise StrategyError(
                f"strategy {self._strategy.name!r} raised {type(error).__name__} in "
                f"fast_forward on {series.symbol} from bar {start}: {error}"
            ) from error
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not start <= k <= stop:
            raise StrategyError(
                f"strategy {self._strategy.name!r}: fast_forward must return a bar index in "
                f"[{start}, {stop}], was {k!r}"
            )
        return int(k)

    def _stretch(
        self, series: BarSeries, start: int, stop: int, *, settle: bool
    ) -> tuple[int, int, float, float]:
        """``(start, stop, cash, quantity)`` for :func:`_write_stretches`; with ``settle``
        (nothing follows the stretch in this window) the run is brought to its last bar."""
        portfolio = self._portfolio
        symbol = series.symbol
        quantity = portfolio.quantity(symbol)  # the only open position, if any
        cash = portfolio.cash
        if not settle:  # the next bar's ordinary step brings everything past the stretch
            return start, stop, cash, quantity
        last = bar_at(series, stop - 1)
        # the last bar's equity, as _write_stretches will write it (float64 arithmetic)
        value = cash if quantity == 0.0 else cash + quantity * last.close
        portfolio.mark(symbol, last.close)
        self._ctx.ts_ns = last.ts_ns
        self._settle(last.ts_ns, value, last)
        return start, stop, cash, quantity


def _write_stretches(
    close: np.ndarray,
    stretches: list[tuple[int, int, float, float]],
    equity: np.ndarray,
    gross: np.ndarray,
) -> None:
    """Equity and exposure of every bar of the stretches, as ``Portfolio.valuation`` gives
    them: ``cash`` and 0 with no position, else ``cash + (q × close)`` and ``|q × close|``."""
    if not stretches:
        return
    starts, stops, cash, quantity = (np.array(column) for column in zip(*stretches, strict=True))
    lengths = stops - starts
    # the bar indices of every stretch, one after the other
    first = np.cumsum(lengths) - lengths
    at = np.arange(int(lengths.sum())) + np.repeat(starts - first, lengths)
    cash_at = np.repeat(cash, lengths)
    quantity_at = np.repeat(quantity, lengths)
    value = quantity_at * close[at]
    flat = quantity_at == 0.0
    equity[at] = np.where(flat, cash_at, cash_at + value)
    gross[at] = np.where(flat, 0.0, np.abs(value))
