"""EMP's event engine and screening path side by side with backtrader and NautilusTrader.

One strategy everywhere: SMA(10) vs SMA(30) on closes, always in the market (long 100
units when the fast SMA is above the slow one, else short 100 units), on the same seeded
synthetic 1-minute bars (200,000 by default). Fill timing:

* EMP next_open (event engine and screening path) and backtrader (default broker, no
  cheat-on-close) fill a decision taken on bar t's close at bar t+1's open;
* NautilusTrader fills a market order sent from ``on_bar`` at once against the bar just
  processed (its close), so it is compared with EMP's opt-in ``close`` fill model.

Trades are compared as (bar time of the fill, signed quantity, price). The EMP event engine
runs the full path: strategy → OrderIntent → instrument check → risk manager (position and
notional caps) → SimulatedVenue (direct face) → fills → portfolio and trade log. It runs
twice: as configured by default (quiet stretches skipped, :mod:`emp.app.engine_quiet`:
``emp_event_bars_per_s``) and with every bar through the per-bar loop
(``emp_event_per_bar_bars_per_s``); both give the same fills (checked).

Every engine is timed the same way: the best of ``--repeats`` runs, in process CPU time
(``--timer wall`` for wall-clock time; on a machine shared with other jobs, CPU time is the
figure that does not depend on them; every engine here runs on one thread).

    python benchmarks/backtest_peers.py [--bars 200000] [--repeats 3] [--timer cpu|wall] [--json]

Peers come from the ``bench`` extra (``pip install -e '.[bench]'``); a peer that is not
installed is reported as ``null``. The last line with ``--json`` is one JSON object:
``emp_event_bars_per_s``, ``emp_screen_bars_per_s``, ``backtrader_bars_per_s``,
``nautilus_bars_per_s``, ``ratio_vs_backtrader``, ``ratio_vs_nautilus``, ``trades_equal``
(and details: each comparison and its differences, the numpy screening figure).

``emp_screen_bars_per_s`` is the fastest screening path: the numba kernel
(:mod:`emp.adapters.numba_screen`) over 1,000,000 bars with the per-bar equity curve (the
configuration the numpy figure always had), best of 7 (the first call, which compiles or
loads the kernel, is not timed). Beside it: the kernel returning fills and final equity
only (``curve=False``, what a parameter sweep reads: ``emp_screen_nocurve_1m_bars_per_s``)
and the numpy reference in the domain, with the curve (``emp_screen_numpy_1m_bars_per_s``).
All give the same fills (checked). Only the screening call is timed, not turning its
fills into a Python list for the comparison.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from emp.adapters.clocks import ManualClock
from emp.adapters.fix_sim import SimulatedVenue, SimulatedVenueConfig
from emp.adapters.numba_screen import NumbaScreeningKernel
from emp.app.engine import BarEventEngine
from emp.domain.bars import BarSeries
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.risk import MaxOrderNotional, MaxPosition, RiskManager
from emp.domain.screening import ScreeningCosts, ScreenResult, screen_sma_cross
from emp.domain.strategies.sma_cross import SmaCross

FAST, SLOW, UNITS = 10, 30, 100
MINUTE_NS = 60 * 10**9
START_NS = int(np.datetime64("2020-01-02T14:30", "ns").view(np.int64))
Trade = tuple[int, float, float]  # (ts_ns of the fill's bar, signed quantity, price)


def synthetic_minutes(n: int, seed: int = 7, decimals: int = 8) -> BarSeries:
    """Seeded 1-minute bars on a ``10**-decimals`` price grid (a random walk with range).

    On a coarse grid (0.01) exact ties between the two SMAs happen every few thousand bars,
    and each engine's float rounding then decides the side differently (EMP treats a tie
    as a tie; backtrader's and Nautilus's divisions sometimes put it above, sometimes
    below). The default 8 decimals make exact ties practically absent, so the comparison
    tests the engines' semantics, not their last bits.
    """
    rng = np.random.default_rng(seed)
    log_close = np.log(100.0) + np.cumsum(rng.normal(0.0, 0.0008, n))
    log_open = np.concatenate(([np.log(100.0)], log_close[:-1])) + rng.normal(0.0, 0.0002, n)
    spread_up = np.abs(rng.normal(0.0, 0.0004, n))
    spread_down = np.abs(rng.normal(0.0, 0.0004, n))
    tick = 10.0**-decimals
    open_ = np.round(np.exp(log_open) / tick) * tick
    close = np.round(np.exp(log_close) / tick) * tick
    high = np.maximum(
        np.round(np.exp(np.maximum(log_open, log_close) + spread_up) / tick) * tick,
        np.maximum(open_, close),
    )
    low = np.minimum(
        np.round(np.exp(np.minimum(log_open, log_close) - spread_down) / tick) * tick,
        np.minimum(open_, close),
    )
    volume = np.round(rng.lognormal(8.0, 0.5, n))
    ts = START_NS + np.arange(n, dtype=np.int64) * MINUTE_NS
    return BarSeries.from_arrays(
        "SYN",
        ts,
        np.round(open_, decimals),
        np.round(high, decimals),
        np.round(low, decimals),
        np.round(close, decimals),
        volume,
    )


#: The timer: process CPU time by default (on a shared machine, wall time mostly measures the
#: other jobs; every engine here runs on one thread), or wall-clock time (``--timer wall``).
TIMER: Callable[[], float] = time.process_time


def timed(run: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """The best of ``repeats`` runs (each engine gets the same number), and the last result."""
    best, trades = float("inf"), None
    for _ in range(repeats):
        start = TIMER()
        trades = run()
        best = min(best, TIMER() - start)
    return best, trades


# ---------------------------------------------------------------------------- EMP
def emp_event(series: BarSeries, fill_model: str, fast_forward: bool = True) -> list[Trade]:
    instruments = InstrumentRegistry([Instrument(symbol=series.symbol)])
    clock = ManualClock()
    engine = BarEventEngine(
        bars={series.symbol: series},
        instruments=instruments,
        strategy=SmaCross(fast=FAST, slow=SLOW, mode="reverse", units=UNITS),
        risk=RiskManager(rules=[MaxPosition(1e9), MaxOrderNotional(1e12)]),
        venue=SimulatedVenue(instruments, clock, SimulatedVenueConfig(fill_model=fill_model)),
        clock=clock,
        initial_cash=1_000_000.0,
        fast_forward=fast_forward,
    )
    result = engine.run()
    return [(f.ts_ns, f.signed_quantity, f.price) for f in result.fills]


def emp_screen(
    series: BarSeries, fill_model: str, kernel: str = "numba", curve: bool = True
) -> ScreenResult:
    """The screening path: the numba kernel (fastest) or the numpy reference."""
    screen = NumbaScreeningKernel().sma_cross if kernel == "numba" else screen_sma_cross
    return screen(
        series.open,
        series.close,
        fast=FAST,
        slow=SLOW,
        mode="reverse",
        units=UNITS,
        costs=ScreeningCosts(fill_model=fill_model),
        curve=curve,
    )


def screen_trades(series: BarSeries, result: ScreenResult) -> list[Trade]:
    """A screening result's fills as trades (outside the timed part: a list of tuples)."""
    ts = series.ts_ns[result.fill_bars]
    return list(
        zip(ts.tolist(), result.fill_quantity.tolist(), result.fill_price.tolist(), strict=True)
    )


# ------------------------------------------------------------------------ backtrader
def backtrader_run(series: BarSeries) -> list[Trade]:
    import backtrader as bt
    import pandas as pd

    class SmaAlwaysIn(bt.Strategy):
        def __init__(self) -> None:
            self.fast = bt.indicators.SMA(self.data.close, period=FAST)
            self.slow = bt.indicators.SMA(self.data.close, period=SLOW)
            self.fills: list[Trade] = []

        def next(self) -> None:
            want = UNITS if self.fast[0] > self.slow[0] else -UNITS
            if self.position.size != want:
                self.order_target_size(target=want)

        def notify_order(self, order) -> None:
            if order.status == order.Completed:
                when = bt.num2date(order.executed.dt)
                ts = int(pd.Timestamp(when).tz_localize("UTC").value)
                self.fills.append((ts, float(order.executed.size), float(order.executed.price)))

    frame = pd.DataFrame(
        {
            "open": series.open,
            "high": series.high,
            "low": series.low,
            "close": series.close,
            "volume": series.volume,
        },
        index=pd.to_datetime(series.ts_ns),
    )
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame, timeframe=bt.TimeFrame.Minutes))
    cerebro.addstrategy(SmaAlwaysIn)
    cerebro.broker.setcash(1_000_000.0)
    (strategy,) = cerebro.run()
    return strategy.fills


# ---------------------------------------------------------------------- NautilusTrader
def nautilus_run(series: BarSeries, decimals: int) -> list[Trade]:
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig, StrategyConfig
    from nautilus_trader.indicators import SimpleMovingAverage
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.data import Bar, BarType
    from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
    from nautilus_trader.model.identifiers import InstrumentId, Symbol, TraderId, Venue
    from nautilus_trader.model.instruments import Equity
    from nautilus_trader.model.objects import Money, Price, Quantity
    from nautilus_trader.trading.strategy import Strategy

    instrument = Equity(
        instrument_id=InstrumentId(symbol=Symbol("SYN"), venue=Venue("XNAS")),
        raw_symbol=Symbol("SYN"),
        currency=USD,
        price_precision=decimals,
        price_increment=Price(10.0**-decimals, decimals),
        lot_size=Quantity.from_int(1),
        ts_event=0,
        ts_init=0,
    )
    bar_type = BarType.from_str("SYN.XNAS-1-MINUTE-LAST-EXTERNAL")

    class SmaAlwaysIn(Strategy):
        def __init__(self) -> None:
            super().__init__(StrategyConfig(strategy_id="SMA-001"))
            self.fast = SimpleMovingAverage(FAST)
            self.slow = SimpleMovingAverage(SLOW)
            self.side = 0
            self.fills: list[Trade] = []

        def on_start(self) -> None:
            self.register_indicator_for_bars(bar_type, self.fast)
            self.register_indicator_for_bars(bar_type, self.slow)
            self.subscribe_bars(bar_type)

        def on_bar(self, bar) -> None:
            if not self.slow.initialized:
                return
            want = 1 if self.fast.value > self.slow.value else -1
            if want == self.side:
                return
            quantity = UNITS * (1 if self.side == 0 else 2)
            order = self.order_factory.market(
                instrument_id=instrument.id,
                order_side=OrderSide.BUY if want > 0 else OrderSide.SELL,
                quantity=Quantity.from_int(quantity),
            )
            self.submit_order(order)
            self.side = want

        def on_order_filled(self, event) -> None:
            sign = 1.0 if event.order_side == OrderSide.BUY else -1.0
            self.fills.append(
                (int(event.ts_event), sign * float(event.last_qty), float(event.last_px))
            )

    engine = BacktestEngine(
        config=BacktestEngineConfig(
            trader_id=TraderId("BENCH-001"), logging=LoggingConfig(log_level="ERROR")
        )
    )
    engine.add_venue(
        venue=Venue("XNAS"),
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        base_currency=USD,
        starting_balances=[Money(1_000_000_000, USD)],
    )
    engine.add_instrument(instrument)
    closes = series.ts_ns + MINUTE_NS  # Nautilus stamps a bar at its close
    bars = [
        Bar(
            bar_type,
            Price(o, decimals),
            Price(h, decimals),
            Price(lo, decimals),
            Price(c, decimals),
            Quantity(v, 0),
            int(ts),
            int(ts),
        )
        for o, h, lo, c, v, ts in zip(
            series.open.tolist(),
            series.high.tolist(),
            series.low.tolist(),
            series.close.tolist(),
            series.volume.tolist(),
            closes.tolist(),
            strict=True,
        )
    ]
    engine.add_data(bars)
    strategy = SmaAlwaysIn()
    engine.add_strategy(strategy)
    engine.run()
    fills = [(ts - MINUTE_NS, q, p) for ts, q, p in strategy.fills]  # back to bar open times
    engine.dispose()
    return fills


# --------------------------------------------------------------------------- compare
def compare(name: str, ours: list[Trade], theirs: list[Trade]) -> dict:
    """Fills merged per bar (a reversal may be one order or two) and compared."""

    def merged(trades: list[Trade]) -> list[Trade]:
        out: dict[int, list[float]] = {}
        for ts, quantity, price in trades:
            entry = out.setdefault(ts, [0.0, price])
            entry[0] += quantity
        return [(ts, q, p) for ts, (q, p) in sorted(out.items())]

    a, b = merged(ours), merged(theirs)

    def same(x: Trade, y: Trade) -> bool:
        return x[0] == y[0] and x[1] == y[1] and abs(x[2] - y[2]) <= 1e-9 * max(1.0, abs(x[2]))

    first_difference = None
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if not same(x, y):
            first_difference = {"index": index, "emp": x, name: y}
            break
    equal = len(a) == len(b) and first_difference is None
    return {
        "peer": name,
        "emp_fills": len(a),
        "peer_fills": len(b),
        "equal": equal,
        "first_difference": first_difference,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--screen-bars", type=int, default=1_000_000)
    parser.add_argument("--decimals", type=int, default=8, help="price grid: 10**-decimals")
    parser.add_argument("--timer", choices=("cpu", "wall"), default="cpu")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    global TIMER
    TIMER = time.process_time if args.timer == "cpu" else time.perf_counter
    series = synthetic_minutes(args.bars, decimals=args.decimals)
    n = len(series)

    event_s, event_trades = timed(lambda: emp_event(series, "next_open"), args.repeats)
    per_bar_s, per_bar_trades = timed(lambda: emp_event(series, "next_open", False), args.repeats)
    _, event_close_trades = timed(lambda: emp_event(series, "close"), 1)
    emp_screen(series, "next_open")  # compile (or load from numba's cache) the kernel
    screen_s, screened = timed(lambda: emp_screen(series, "next_open"), max(5, args.repeats))
    _, numpy_screened = timed(lambda: emp_screen(series, "next_open", "numpy"), 1)
    big = synthetic_minutes(args.screen_bars, seed=8, decimals=args.decimals)
    big_s, _ = timed(lambda: emp_screen(big, "next_open"), 7)
    big_nocurve_s, _ = timed(lambda: emp_screen(big, "next_open", curve=False), 7)
    big_numpy_s, _ = timed(lambda: emp_screen(big, "next_open", "numpy"), 7)
    comparisons = [
        compare("emp_event_per_bar", event_trades, per_bar_trades),
        compare("emp_screen", event_trades, screen_trades(series, screened)),
        compare("emp_screen_numpy", event_trades, screen_trades(series, numpy_screened)),
    ]
    out: dict = {
        "bars": n,
        "timer": "process CPU time" if args.timer == "cpu" else "wall clock",
        "repeats": args.repeats,
        "emp_event_bars_per_s": round(n / event_s),
        "emp_event_per_bar_bars_per_s": round(n / per_bar_s),
        "emp_screen_bars_per_s": round(len(big) / big_s),
        "emp_screen_path": (
            f"numba kernel (emp.adapters.numba_screen), {len(big):,} bars, with the equity curve"
        ),
        "emp_screen_nocurve_1m_bars_per_s": round(len(big) / big_nocurve_s),
        "emp_screen_numpy_1m_bars_per_s": round(len(big) / big_numpy_s),
        "emp_screen_200k_bars_per_s": round(n / screen_s),
        "backtrader_bars_per_s": None,
        "nautilus_bars_per_s": None,
    }
    if importlib.util.find_spec("backtrader") is not None:
        bt_s, bt_trades = timed(lambda: backtrader_run(series), args.repeats)
        out["backtrader_bars_per_s"] = round(n / bt_s)
        comparisons.append(compare("backtrader", event_trades, bt_trades))
    if importlib.util.find_spec("nautilus_trader") is not None:
        nt_s, nt_trades = timed(lambda: nautilus_run(series, args.decimals), args.repeats)
        out["nautilus_bars_per_s"] = round(n / nt_s)
        comparisons.append(compare("nautilus", event_close_trades, nt_trades))
    for peer, key in (("backtrader", "ratio_vs_backtrader"), ("nautilus", "ratio_vs_nautilus")):
        theirs = out[f"{peer}_bars_per_s"]
        out[key] = round(out["emp_event_bars_per_s"] / theirs, 2) if theirs else None
    out["trades_equal"] = all(c["equal"] for c in comparisons)
    out["comparisons"] = comparisons
    print(f"SMA({FAST}/{SLOW}) always in the market, ±{UNITS} units, {n:,} 1-minute bars")
    print(f"  timer: {out['timer']}, best of {args.repeats} for every engine")
    for key in (
        "emp_event_bars_per_s",
        "emp_event_per_bar_bars_per_s",
        "emp_screen_bars_per_s",
        "emp_screen_nocurve_1m_bars_per_s",
        "emp_screen_numpy_1m_bars_per_s",
        "emp_screen_200k_bars_per_s",
        "backtrader_bars_per_s",
        "nautilus_bars_per_s",
        "ratio_vs_backtrader",
        "ratio_vs_nautilus",
        "trades_equal",
    ):
        print(f"  {key:<28} {out[key]}")
    for c in comparisons:
        print(
            f"  fills vs {c['peer']:<11} emp {c['emp_fills']} / peer {c['peer_fills']}: "
            f"equal={c['equal']}"
        )
    if args.json:
        print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
