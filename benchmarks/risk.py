"""Pre-trade risk latency: one RiskManager.check with 20 active rules over 500 positions.

    python benchmarks/risk.py            # a table
    python benchmarks/risk.py --json     # the same, and one JSON object as the last line

Measured with time.perf_counter_ns around each ``RiskManager.check`` call (the check input
is built outside the timed region, as the app builds it before calling). Every rule is on
and sees a 500-symbol book, a 250-period return history (historical and parametric VaR,
betas) and two groupings; approved orders update the book as they would in a run. The
book is rebuilt from the account every ``--bar-every`` checks (a bar), outside the timing,
and that rebuild is reported on its own.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from emp.domain.orders import OrderSide, OrderType
from emp.domain.risk import (
    AccountSnapshot,
    MaxGroupExposure,
    MaxValueAtRisk,
    ReturnHistory,
    RiskCheckInput,
    RiskConfig,
    RiskManager,
    build_risk_manager,
)
from emp.domain.strategy import OrderIntent

POSITIONS = 500
PERIODS = 250


def build(
    rng: np.random.Generator,
) -> tuple[RiskManager, AccountSnapshot, ReturnHistory, list[str]]:
    symbols = [f"S{i:03d}" for i in range(POSITIONS)]
    sectors = {s: f"sector{i % 11}" for i, s in enumerate(symbols)}
    asset_class = {s: ("equity" if i % 5 else "etf") for i, s in enumerate(symbols)}
    currencies = {s: "EUR" for s in symbols[::4]}
    config = RiskConfig(
        allowed_symbols=tuple(symbols),
        price_collar=0.05,
        max_open_orders=10_000,
        strategy_orders_per_second=1e6,
        strategy_burst=1_000,
        global_orders_per_second=1e6,
        global_burst=1_000,
        max_order_quantity=1_000,
        max_order_notional=200_000.0,
        max_position=2_000,
        max_position_notional=400_000.0,
        max_losing_adds=1_000_000,
        max_gross_exposure=1e9,
        max_net_exposure=1e9,
        max_leverage=50.0,
        groupings={"sector": sectors, "asset_class": asset_class},
        currencies=currencies,
        group_default_limits={"sector": 1e9, "currency": 1e9},
        max_beta_exposure=1e9,
        max_var=1e8,
        var_window=PERIODS,
        resize=frozenset({"max_position", "max_gross_exposure", "max_var_historical"}),
        extra_rules=(
            MaxValueAtRisk(1e8, method="parametric", confidence=0.99),
            MaxGroupExposure("asset_class", default_limit=1e9),
        ),
    )
    manager = build_risk_manager(config)
    bench = rng.normal(0.0, 0.01, PERIODS)
    returns = bench[:, None] * rng.uniform(0.2, 1.8, POSITIONS) + rng.normal(
        0.0, 0.01, (PERIODS, POSITIONS)
    )
    history = ReturnHistory(symbols=tuple(symbols), returns=returns, benchmark=bench)
    account = AccountSnapshot(
        ts_ns=0,
        equity=50_000_000.0,
        positions={s: float(rng.integers(-500, 500)) or 1.0 for s in symbols},
        marks={s: float(rng.uniform(10.0, 300.0)) for s in symbols},
        fx_rates={"EUR": 1.08},
    )
    return manager, account, history, symbols


def percentile(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q))


def flatten_timings(positions: int = 50, trials: int = 200) -> np.ndarray:
    """Milliseconds from a HALT command with ``positions`` open positions to all of them
    flat, confirmed by fills booked in the portfolio, through the in-process simulated venue
    (direct face). The flattening market orders fill at the next bar's open, so each trial
    includes sending the orders, that bar's matching for every symbol, and booking the fills."""
    from emp.adapters.clocks import ManualClock
    from emp.adapters.fix_sim import SimulatedVenue
    from emp.domain.bars import Bar
    from emp.domain.commands import CancelOrder, SubmitOrder
    from emp.domain.events import OrderFilled
    from emp.domain.instruments import Instrument, InstrumentRegistry
    from emp.domain.orders import OrderSide
    from emp.domain.portfolio import Portfolio
    from emp.domain.risk import AccountSnapshot, RiskManager

    symbols = [f"S{i:03d}" for i in range(positions)]
    instruments = InstrumentRegistry(Instrument(symbol=s) for s in symbols)
    clock = ManualClock()
    venue = SimulatedVenue(instruments, clock)
    portfolio = Portfolio(1e9)
    manager = RiskManager()
    day = 86_400 * 10**9
    ts = day

    def bar_all(at: int) -> None:
        for s in symbols:
            venue.on_bar(Bar(s, at, 100.0, 101.0, 99.0, 100.0, 1e9))
        for event in venue.drain_events():
            if isinstance(event, OrderFilled):
                portfolio.apply_fill(event.fill)

    out = np.empty(trials)
    for trial in range(trials):
        for s in symbols:  # open a position in every symbol
            venue.submit_order(
                SubmitOrder(
                    client_order_id=f"open-{trial}-{s}",
                    symbol=s,
                    side=OrderSide.BUY,
                    quantity=100.0,
                    ts_ns=ts,
                )
            )
        ts += day
        clock.advance_to(ts)
        bar_all(ts)
        assert len(portfolio.positions) == positions
        ts += day
        clock.advance_to(ts)
        started = time.perf_counter_ns()
        account = AccountSnapshot.from_portfolio(portfolio, ts_ns=ts)
        for command in manager.halt(ts_ns=ts, reason="benchmark", account=account):
            if isinstance(command, SubmitOrder):
                venue.submit_order(command)
            elif isinstance(command, CancelOrder):
                venue.cancel_order(command)
        ts += 1_000_000  # the next bar opens 1 ms later
        clock.advance_to(ts)
        bar_all(ts)
        out[trial] = (time.perf_counter_ns() - started) / 1e6
        assert not portfolio.positions, "flatten left positions open"
        manager.resume(ts_ns=ts, reason="benchmark trial done")
        ts += day
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--iterations", type=int, default=20_000)
    parser.add_argument("--bar-every", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    manager, account, history, symbols = build(rng)
    rules = len(manager.rules)
    bar_ns: list[int] = []
    started = time.perf_counter_ns()
    manager.on_bar(account, returns=history)
    bar_ns.append(time.perf_counter_ns() - started)

    # The app passes the manager's context when it builds the input (saves a copy).
    context = manager.context
    picks = rng.integers(0, POSITIONS, args.iterations)
    sides = rng.integers(0, 2, args.iterations)
    quantities = rng.integers(1, 50, args.iterations)
    limits = rng.random(args.iterations) < 0.3
    timings = np.empty(args.iterations, dtype=np.int64)
    outcomes = {"approved": 0, "resized": 0, "rejected": 0}
    ts = 0
    for i in range(args.iterations):
        if i and i % args.bar_every == 0:
            ts += 1_000_000
            bar = AccountSnapshot(
                ts_ns=ts,
                equity=account.equity,
                positions=account.positions,
                marks=account.marks,
                fx_rates=account.fx_rates,
            )
            started = time.perf_counter_ns()
            manager.on_bar(bar)
            bar_ns.append(time.perf_counter_ns() - started)
        symbol = symbols[picks[i]]
        price = account.marks[symbol]
        side = OrderSide.BUY if sides[i] else OrderSide.SELL
        limit = round(price * (1.01 if side is OrderSide.BUY else 0.99), 2) if limits[i] else None
        ts += 1_000
        data = RiskCheckInput(
            intent=OrderIntent(
                symbol=symbol,
                side=side,
                quantity=float(quantities[i]),
                order_type=OrderType.LIMIT if limit else OrderType.MARKET,
                limit_price=limit,
            ),
            position=account.positions[symbol],
            open_buy_quantity=0.0,
            open_sell_quantity=0.0,
            reference_price=price,
            equity=account.equity,
            strategy="bench",
            ts_ns=ts,
            open_order_count=0,
            lot_size=1.0,
            average_price=price,
            context=context,
        )
        started = time.perf_counter_ns()
        decision = manager.check(data)
        timings[i] = time.perf_counter_ns() - started
        outcomes[decision.outcome.value] += 1

    warm = timings[min(1_000, args.iterations // 10) :] / 1_000.0
    flatten = flatten_timings()[10:]
    bars = np.array(bar_ns[1:] or bar_ns) / 1e6
    result = {
        "pretrade_check_us_p50": round(percentile(warm, 50), 2),
        "pretrade_check_us_p99": round(percentile(warm, 99), 2),
        "pretrade_check_us_mean": round(float(warm.mean()), 2),
        "pretrade_check_us_max": round(float(warm.max()), 2),
        "on_bar_ms_p50": round(percentile(bars, 50), 3),
        "flatten_ms_p50": round(percentile(flatten, 50), 3),
        "flatten_ms_p99": round(percentile(flatten, 99), 3),
        "rules": rules,
        "positions": POSITIONS,
        "var_window": PERIODS,
        "iterations": args.iterations,
        "approved": outcomes["approved"],
        "resized": outcomes["resized"],
        "rejected": outcomes["rejected"],
        "python": platform.python_version(),
    }
    width = max(len(k) for k in result)
    print(f"{'measure'.ljust(width)}  value")
    print(f"{'-' * width}  -----")
    for key, value in result.items():
        print(f"{key.ljust(width)}  {value}")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
