"""Peak memory of a 10-year 1-minute backtest streamed from the bar store.

Writes ten years of seeded 1-minute bars (252 sessions × 390 minutes a year: 982,800 bars)
into a fresh DuckDB bar store in chunks, then runs `sma_cross` over them with
``BacktestRequest(from_store=True)`` in a separate process, so the figure is that run's own
peak resident memory (``ru_maxrss``): bars are read back in windows of ``--chunk-bars``,
the engine keeps only per-bar equity and exposure, and the report is written.

    python benchmarks/backtest_memory.py [--years 10] [--chunk-bars 50000] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MINUTES_PER_SESSION = 390
SESSIONS_PER_YEAR = 252
SESSION_OPEN_NS = (14 * 60 + 30) * 60 * 10**9  # 14:30 UTC


def write_store(db: Path, years: int, seed: int = 3) -> int:
    from emp.adapters.duckdb_store import DuckDBBarStore, DuckDBDatabase
    from emp.domain.bars import BarSeries

    rng = np.random.default_rng(seed)
    days = np.busday_offset(np.datetime64("2010-01-04", "D"), np.arange(years * SESSIONS_PER_YEAR))
    day_ns = days.astype("datetime64[ns]").view(np.int64) + SESSION_OPEN_NS
    minute = np.arange(MINUTES_PER_SESSION, dtype=np.int64) * 60 * 10**9
    database = DuckDBDatabase(db)
    store = DuckDBBarStore(database)
    last = 100.0
    written = 0
    try:
        for block in np.array_split(np.arange(days.shape[0]), max(1, days.shape[0] // 63)):
            ts = (day_ns[block][:, None] + minute[None, :]).ravel()
            n = ts.shape[0]
            log_close = np.log(last) + np.cumsum(rng.normal(0.0, 0.0006, n))
            close = np.round(np.exp(log_close), 2)
            open_ = np.round(np.concatenate(([last], close[:-1])), 2)
            high = np.maximum(open_, close) + 0.01
            low = np.maximum(np.minimum(open_, close) - 0.01, 0.01)
            volume = np.round(rng.lognormal(7.0, 0.5, n))
            series = BarSeries.from_arrays("MIN", ts, open_, high, low, close, volume)
            written += store.write_bars({"MIN": series}, source="synthetic-minutes")
            last = float(close[-1])
    finally:
        database.close()
    return written


def run_backtest_child(db: Path, reports: Path, chunk_bars: int) -> None:
    from emp.app.backtest import BacktestRequest, run_backtest
    from emp.app.containers import build_container, close_stores
    from emp.app.plugins import make_plugin_manager
    from emp.app.settings import load_settings

    settings = load_settings(db_path=db, reports_dir=reports, venue="sim_direct")
    container = build_container(settings)
    start = time.perf_counter()
    try:
        outcome = run_backtest(
            settings,
            container,
            make_plugin_manager(load_entrypoints=False),
            BacktestRequest(
                strategy="sma_cross",
                params={"fast": 60, "slow": 240},
                symbols=["MIN"],
                from_store=True,
                chunk_bars=chunk_bars,
            ),
        )
    finally:
        close_stores(container, settings)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "bars": outcome.summary["bars"],
                "fills": outcome.summary["fills"],
                "seconds": round(seconds, 1),
                "peak_rss_mb": round(peak_kib / 1024, 1),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--chunk-bars", type=int, default=50_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("DB", "REPORTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_backtest_child(Path(args.child[0]), Path(args.child[1]), args.chunk_bars)
        return
    with tempfile.TemporaryDirectory() as tmp:
        db, reports = Path(tmp) / "bars.duckdb", Path(tmp) / "reports"
        start = time.perf_counter()
        written = write_store(db, args.years)
        write_s = time.perf_counter() - start
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--chunk-bars",
                str(args.chunk_bars),
                "--child",
                str(db),
                str(reports),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            raise SystemExit(f"the backtest failed:\n{child.stderr}")
        result = json.loads(child.stdout.strip().splitlines()[-1])
    out = {
        "years": args.years,
        "bars_written": written,
        "write_s": round(write_s, 1),
        "chunk_bars": args.chunk_bars,
        **result,
        "under_1_gb": result["peak_rss_mb"] < 1024,
    }
    for key, value in out.items():
        print(f"{key:<14} {value}")
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
