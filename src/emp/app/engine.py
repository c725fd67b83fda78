"""The event loop that drives a strategy through risk and a venue over bars.

One loop for every bar-driven run (``emp demo`` today; backtests and paper sessions reuse
it with another clock and venue). Per timestamp, in this order:

1. the clock advances to the bar time and the venue matches working orders against each
   bar that opens now (next-bar-open fills), producing execution events;
2. events update orders, the portfolio and the trade log; strategies hear of their fills;
3. the portfolio is marked at each bar's close;
4. the strategy sees each closed bar and returns intents; every intent is checked against
   its instrument (:class:`~emp.domain.errors.InvalidOrder` on a malformed one) and the
   risk engine (a refusal becomes a REJECTED order with the reasons), then sent;
5. equity and exposure are recorded.

Given ``book_updates`` (book snapshots and trade prints in time order), the engine merges
them with the bars by time (:mod:`emp.app.engine_book`); without them nothing changes.

With account terms (:mod:`emp.app.engine_account`) short borrow accrues and FX rates move
before step 1, orders are checked against buying power before the risk check, and margin
maintenance is checked after step 5 (a breach may send liquidation orders, straight to the
venue like the kill switch's); with the default terms none of that runs.

The loop is kept lean (``benchmarks/backtest_peers.py``): bars are materialised per block of
timestamps, the venue is drained only while an order works, equity comes from one pass over
the open positions, the risk layer is told which symbols changed and builds the account
snapshot only when it reads it (its exposure book catches up at the next check), and
nothing else is allocated on a bar where nothing trades.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from emp.app.engine_account import AccountKeeper, make_portfolio
from emp.app.engine_book import BookPath, BookStream
from emp.app.engine_members import StrategyGroup, as_engine_strategy, owner_names
from emp.app.engine_orders import OrderPath
from emp.app.engine_quiet import QuietStretches, can_fast_forward
from emp.app.engine_result import RunResult
from emp.app.engine_risk import RiskPath
from emp.app.engine_steps import (
    account_builder,
    bars_by_step,
    check_input_builder,
    submit_builder,
)
from emp.app.market_windows import MarketFeed, MarketWindows
from emp.domain.accounts import AccountTerms, FxSeries
from emp.domain.bars import Bar, BarSeries
from emp.domain.clock_time import ns_to_iso
from emp.domain.errors import InvalidBars
from emp.domain.fills import Fill
from emp.domain.instruments import InstrumentRegistry
from emp.domain.matching import MarketUpdate
from emp.domain.orders import Order
from emp.domain.portfolio import Portfolio
from emp.domain.risk import (
    AccountSnapshot,
    RiskManager,
    TradingStateChanged,
)
from emp.domain.strategy import Strategy, StrategyContext
from emp.domain.trades import TradeLog
from emp.ports.kill_signal import KillSignalPort
from emp.ports.metrics_sink import MetricsSinkPort
from emp.ports.settable_clock import SettableClockPort
from emp.ports.simulated_venue import SimulatedVenuePort

ProgressCallback = Callable[[int, int], None]

#: Timestamps materialised as :class:`Bar` objects at a time (bounds memory per chunk).
_BLOCK = 4096


class BarEventEngine(BookPath, OrderPath, RiskPath):
    """Drives one strategy over aligned multi-symbol bars (and book updates, when given).
    Single-threaded, deterministic."""

    def __init__(
        self,
        *,
        bars: Mapping[str, BarSeries],
        instruments: InstrumentRegistry,
        strategy: Strategy | Sequence[Strategy],
        risk: RiskManager,
        venue: SimulatedVenuePort,
        clock: SettableClockPort,
        initial_cash: float,
        metrics: MetricsSinkPort | None = None,
        kill_signal: KillSignalPort | None = None,
        market: MarketFeed | None = None,
        account: AccountTerms | None = None,
        fx: Iterable[FxSeries] | None = None,
        fast_forward: bool = True,
        order_id_prefix: str | None = None,
        book_updates: Iterable[MarketUpdate] | None = None,
    ) -> None:
        """``strategy``: one strategy, or several run side by side over the one account
        (:mod:`emp.app.engine_members`). ``fast_forward`` lets the engine skip quiet
        stretches (:mod:`emp.app.engine_quiet`: same result, bar for bar); turn it off
        where each bar must be seen as it comes (a paced replay, a paper session).
        ``book_updates``: book snapshots and trade prints in time order, merged with the
        bars (:mod:`emp.app.engine_book`; read lazily, once, by the run)."""
        for symbol in bars:
            instruments[symbol]  # raises UnknownInstrument early
        strategy = as_engine_strategy(strategy)
        self._bars = dict(bars)
        self._instruments = instruments
        self._strategy = strategy
        # several strategies: one group, each order its member's (engine_members)
        self._group = strategy if isinstance(strategy, StrategyGroup) else None
        self._owners = owner_names(strategy)
        self._explicit_prefix = order_id_prefix
        self._risk = risk
        self._venue = venue
        self._clock = clock
        self._metrics = metrics
        terms = account if account is not None else AccountTerms()
        fx = tuple(fx) if fx is not None else None
        self._portfolio = make_portfolio(initial_cash, terms, instruments, fx)
        self._keeper = AccountKeeper(terms, self._portfolio, fx, instruments)
        self._account_checks = terms.checks_orders  # else the keeper never refuses an order
        self._multi_currency = self._portfolio.is_multi_currency
        self._account_rejections = 0
        self._ctx = StrategyContext(self._portfolio, instruments)
        self._orders: dict[str, Order] = {}
        self._working: dict[str, Order] = {}
        self._kill_signal = kill_signal
        # rolling windows only when the risk manager reads them (VaR, beta, tiers, regime)
        self._market = MarketWindows(market) if market is not None and market.needed else None
        self._risk_resizes = 0
        self._fills: list[Fill] = []
        self._trades = TradeLog(rate_of=self._portfolio.rate_of)
        self._sequence = 0
        self._order_prefix = order_id_prefix or strategy.name
        self._risk_rejections = 0
        self._venue_rejections = 0
        self._account = account_builder()
        self._submit = submit_builder()
        self._check_input = check_input_builder()
        # a RiskManager (not a stand-in with only on_bar) is told which symbols changed and
        # builds the account snapshot only when it needs one
        self._risk_on_demand = hasattr(risk, "on_bar_at")
        # symbols filled since the last risk step, in fill order (a dict: deterministic order)
        self._filled_since_risk: dict[str, None] = {}
        self._bar_ts, self._bar_equity = 0, float(initial_cash)
        self._bar_account: AccountSnapshot | None = None
        self._book = BookStream(book_updates, instruments) if book_updates is not None else None
        # quiet stretches (engine_quiet): a fast path with the per-bar loop's exact result
        self._quiet = (
            QuietStretches(
                strategy=strategy,
                ctx=self._ctx,
                portfolio=self._portfolio,
                step=self._quiet_step,
                settle=self._quiet_settle,
                busy=self._quiet_busy,
                next_timer=self._next_timer_ns,
            )
            if fast_forward
            and self._book is None
            and can_fast_forward(strategy)
            and self._risk_on_demand
            and self._market is None
            and not self._keeper.per_bar
            and not self._multi_currency
            else None
        )

    @property
    def portfolio(self) -> Portfolio:
        """The run's portfolio as it stands (read it between steps, e.g. from ``progress``)."""
        return self._portfolio

    # ------------------------------------------------------------------ loop
    def run(self, progress: ProgressCallback | None = None) -> RunResult:
        """Run over the bars given to the constructor."""
        total = int(_timeline(self._bars).shape[0]) if self._bars else 0
        return self.run_chunks([self._bars], progress, total=total)

    def run_chunks(
        self,
        chunks: Iterable[Mapping[str, BarSeries]],
        progress: ProgressCallback | None = None,
        *,
        total: int | None = None,
    ) -> RunResult:
        """Run over consecutive time windows of bars (streaming input).

        Each chunk maps symbols to their bars in one window; windows must follow each other
        in time (every timestamp of a chunk after every timestamp of the one before). The
        result equals :meth:`run` over the concatenated bars: the engine keeps no bars, only
        the per-timestamp equity and exposure. ``total`` (the number of timestamps, when
        known) is passed to ``progress``; otherwise the count so far is.
        """
        self._call_strategy("on_start", lambda: self._strategy.on_start(self._ctx))
        timelines: list[np.ndarray] = []
        equities: list[np.ndarray] = []
        grosses: list[np.ndarray] = []
        done = 0
        last_ts: int | None = None
        for chunk in chunks:
            for symbol in chunk:
                self._instruments[symbol]  # raises UnknownInstrument early
            if not chunk:
                continue
            timeline = _timeline(chunk)
            if timeline.shape[0] == 0:
                continue
            if last_ts is not None and int(timeline[0]) <= last_ts:
                raise InvalidBars(
                    "expected each chunk of bars to start after the previous one ended "
                    f"(ts_ns {last_ts}), was {int(timeline[0])}"
                )
            last_ts = int(timeline[-1])
            n = int(timeline.shape[0])
            if self._book is None:
                equity, gross = self._run_window(chunk, timeline, progress, done, total)
            else:  # merged with the book updates due: the timeline gains their times
                timeline, equity, gross = self._book_window(chunk, timeline, progress, done, total)
            done += n
            timelines.append(timeline)
            equities.append(equity)
            grosses.append(gross)
        if self._book is not None:
            for part, out in zip(self._book_rest(), (timelines, equities, grosses), strict=True):
                out.append(part)
        self._call_strategy("on_stop", lambda: self._strategy.on_stop(self._ctx))
        if not timelines:
            empty = np.zeros(0)
            return self._result(np.zeros(0, dtype=np.int64), empty, empty)
        return self._result(
            np.concatenate(timelines), np.concatenate(equities), np.concatenate(grosses)
        )

    def _run_window(
        self,
        bars: Mapping[str, BarSeries],
        timeline: np.ndarray,
        progress: ProgressCallback | None,
        done: int,
        total: int | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        n = int(timeline.shape[0])
        equity = np.empty(n)
        gross = np.empty(n)
        if self._quiet is not None and len(bars) == 1:
            (series,) = bars.values()
            self._quiet.run(series, equity, gross, progress, done, total)
            return equity, gross
        symbols = sorted(bars)
        # where each symbol's bars sit on the timeline (exact: the timeline is their union)
        slots = {s: np.searchsorted(timeline, bars[s].ts_ns) for s in symbols}
        for start in range(0, n, _BLOCK):
            stop = min(start + _BLOCK, n)
            steps = bars_by_step(bars, symbols, slots, start, stop)
            self._run_steps(
                timeline[start:stop].tolist(), steps, equity, gross, start, progress, done, total
            )
        return equity, gross

    def _run_steps(
        self,
        times: list[int],
        steps: list[list[Bar]],
        equity: np.ndarray,
        gross: np.ndarray,
        offset: int,
        progress: ProgressCallback | None,
        done: int,
        total: int | None,
    ) -> None:
        """The per-timestamp loop (the module doc's five steps), kept free of idle work.

        Nothing is allocated on a bar where no order works and the strategy stays put
        beyond the bar itself and the risk layer's account snapshot; the venue's events
        are drained only while an order works (a venue reports only on orders it was
        sent, and every order sent is working until its final report is applied).
        """
        advance = self._clock.advance_to
        ctx = self._ctx
        venue_on_bar = self._venue.on_bar
        portfolio = self._portfolio
        mark = portfolio.mark
        valuation = portfolio.valuation
        working = self._working
        fills = self._fills
        market = self._market
        on_bar = self._strategy.on_bar
        route = self._route
        risk_step = self._risk_step
        keeper = self._keeper if self._keeper.per_bar else None
        timers = ctx.timers.pending  # the live heap: no call per bar while none is set
        step = offset
        for ts, bars_now in zip(times, steps, strict=True):
            if timers and timers[0][0] <= ts:
                self._fire_timers(ts)
            advance(ts)
            ctx.ts_ns = ts
            if keeper is not None:
                keeper.before_bar(ts)
            for bar in bars_now:
                venue_on_bar(bar)
            if working:
                self._process_events()
            for bar in bars_now:
                mark(bar.symbol, bar.close)
            if market is not None:
                market.observe(bars_now)
            booked = len(fills)
            value = valuation()
            risk_step(ts, value[0], bars_now)
            for bar in bars_now:
                try:
                    intents = on_bar(bar, ctx)
                except Exception as error:
                    raise self._strategy_error("on_bar", error, bar) from error
                if intents:
                    for intent in intents:
                        route(intent, bar)
            if working:
                self._process_events()
            if len(fills) != booked:
                value = valuation()
            if keeper is not None:
                liquidation = keeper.after_bar(ts, value[0], value[1], working)
                if liquidation:
                    self._execute(liquidation, ts)
            equity[step], gross[step] = value
            step += 1
            if progress is not None:
                progress(done + step, total if total is not None else done + step)

    # ------------------------------------------------------- quiet stretches
    def _quiet_busy(self) -> bool:
        return bool(self._working) or self._risk.needs_every_bar

    def _next_timer_ns(self) -> int | None:
        return self._ctx.timers.next_ns

    def _quiet_step(
        self,
        times: list[int],
        steps: list[list[Bar]],
        equity: np.ndarray,
        gross: np.ndarray,
        offset: int,
    ) -> None:
        self._run_steps(times, steps, equity, gross, offset, None, 0, None)

    def _quiet_settle(self, ts: int, equity: float, bar: Bar) -> None:
        self._clock.advance_to(ts)
        self._venue.on_bar(bar)
        self._risk_step(ts, equity, [bar])

    # --------------------------------------------------------------- helpers
    def _result(self, ts: np.ndarray, equity: np.ndarray, gross: np.ndarray) -> RunResult:
        notes = []
        open_positions = self._portfolio.positions
        if open_positions:
            notes.append(
                f"{len(open_positions)} position(s) open at the end, marked at the last close: "
                + ", ".join(f"{s} {p.quantity:g}" for s, p in sorted(open_positions.items()))
            )
        if self._working:
            notes.append(f"{len(self._working)} order(s) still working at the end")
        for event in self._risk.audit:
            if isinstance(event, TradingStateChanged):
                notes.append(
                    f"risk: {event.previous} → {event.current} at {ns_to_iso(event.ts_ns)} "
                    f"({event.source}: {event.reason})"
                )
        notes.extend(self._keeper.notes())
        if not bool(np.isfinite(equity).all()):
            notes.append("equity contains non-finite values")
        return RunResult(
            ts_ns=ts,
            equity=equity,
            gross_exposure=gross,
            orders=list(self._orders.values()),
            fills=list(self._fills),
            trades=list(self._trades.closed),
            portfolio=self._portfolio,
            risk_rejections=self._risk_rejections,
            risk_resizes=self._risk_resizes,
            venue_rejections=self._venue_rejections,
            notes=notes,
            risk_state=self._risk.to_dict(),
            account_rejections=self._account_rejections,
            margin_breaches=list(self._keeper.breaches),
            liquidations=list(self._keeper.liquidations),
        )


def _timeline(bars: Mapping[str, BarSeries]) -> np.ndarray:
    """Every timestamp of ``bars``, sorted, once (a single series already is its own)."""
    if len(bars) == 1:
        (series,) = bars.values()
        return series.ts_ns  # validated strictly increasing
    return np.unique(np.concatenate([s.ts_ns for s in bars.values()]))
