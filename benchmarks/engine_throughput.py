"""Bars per second of EMP's bar event engine, per venue face.

Runs the example plugin's `sma_trend` strategy (or the built-in `buy_and_hold` when the
plugin is not installed) over seeded synthetic daily bars through the full order path:
order objects, instrument checks, pre-trade risk, the simulated venue (direct face, and the
mock-FIX face where every order and execution report is a FIX 4.4 message), portfolio and
trade log.

    python benchmarks/engine_throughput.py            # a table
    python benchmarks/engine_throughput.py --json     # ...and one JSON object as the last line
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from emp.adapters.clocks import ManualClock
from emp.adapters.fix_sim import MockFixVenue, SimulatedVenue, SimulatedVenueConfig
from emp.adapters.synthetic import RegimeSwitchingBarSource
from emp.app.engine import BarEventEngine
from emp.app.plugins import make_plugin_manager
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.risk import MaxOrderNotional, MaxPosition, RiskManager

FACES = {"direct": SimulatedVenue, "mock_fix": MockFixVenue}


def measure(face: str, bars, strategy_name: str, params: dict, repeats: int) -> dict:
    catalog = make_plugin_manager(load_entrypoints=True)
    spec = catalog.strategy(strategy_name)
    instruments = InstrumentRegistry(Instrument(symbol=s) for s in bars)
    seconds: list[float] = []
    fills = 0
    for _ in range(repeats):
        clock = ManualClock()
        venue = FACES[face](instruments, clock, SimulatedVenueConfig(commission_bps=1.0))
        engine = BarEventEngine(
            bars=bars,
            instruments=instruments,
            strategy=spec.build(params),
            risk=RiskManager(rules=[MaxPosition(1e9), MaxOrderNotional(1e12)]),
            venue=venue,
            clock=clock,
            initial_cash=1_000_000.0,
        )
        start = time.perf_counter()
        result = engine.run()
        seconds.append(time.perf_counter() - start)
        fills = len(result.fills)
    total_bars = sum(len(s) for s in bars.values())
    best = min(seconds)
    return {
        "face": face,
        "bars": total_bars,
        "fills": fills,
        "best_s": best,
        "median_s": statistics.median(seconds),
        "bars_per_s": total_bars / best,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=4)
    parser.add_argument("--bars", type=int, default=5_000, help="bars per symbol")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    symbols = [f"SYN_{i}" for i in range(args.symbols)]
    bars = RegimeSwitchingBarSource(symbols, n_bars=args.bars, seed=7).load()
    catalog = make_plugin_manager(load_entrypoints=True)
    strategy = "sma_trend" if "sma_cross" in catalog.strategies() else "buy_and_hold"
    params = {"fast": 10, "slow": 30} if strategy == "sma_trend" else {}
    rows = [measure(face, bars, strategy, params, args.repeats) for face in FACES]
    print(
        f"strategy {strategy} {params}, {args.symbols} symbols × {args.bars} bars, "
        f"best of {args.repeats}"
    )
    print(f"{'face':<10}{'bars':>10}{'fills':>8}{'best s':>10}{'bars/s':>12}")
    for row in rows:
        print(
            f"{row['face']:<10}{row['bars']:>10}{row['fills']:>8}{row['best_s']:>10.3f}"
            f"{row['bars_per_s']:>12,.0f}"
        )
    if args.json:
        print(
            json.dumps(
                {f"{r['face']}_bars_per_s": round(r["bars_per_s"]) for r in rows}
                | {"bars": rows[0]["bars"], "fills": rows[0]["fills"]}
            )
        )


if __name__ == "__main__":
    main()
