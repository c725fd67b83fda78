"""Peak memory of a 10-year 1-minute backtest streamed from the bar store.

Writes ten years of seeded 1-minute bars (252 sessions × 390 minutes a year: 982,800 bars)
into a fresh DuckDB bar store in chunks, then runs `sma_cross` over them with
``BacktestRequest(from_store=True)`` in a separate process, so the figure is that run's own
peak resident memory (``ru_maxrss``): bars are read back in windows of ``--chunk-bars``,
the engine keeps only per-bar equity and exposure, and the report is written.

    python benchmarks/backtest_memory.py [--years 10] [--chunk-bars 50000] [--json]

With ``--book-updates N`` it measures ``emp backtest --book`` instead: a seeded one-symbol
L2 recording of about N book updates (FIX 35=W, then 35=X moving level sizes, shifting the
book a tick now and then, with a trade every 20th message) is written, and
``book_imbalance`` runs on it in a separate process (the service ``emp backtest --book``
calls), which reports its peak resident memory and updates per second (parse, spool,
engine and report). ``--book-module FILE`` runs the ``run_book_backtest`` of another
``backtest_book.py`` instead (e.g. ``git show HEAD~1:src/emp/app/backtest_book.py``, the
version that held every update in a list), for a before/after figure.

    python benchmarks/backtest_memory.py --book-updates 200000 [--book-module F] [--json]
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


BOOK_T0 = 1_700_000_000_000_000_000
BOOK_STEP_NS = 10_000_000  # 10 ms between messages
BOOK_DEPTH = 10


def write_book_recording(path: Path, updates: int, seed: int = 11) -> int:
    """About ``updates`` book updates of one symbol, ``BK``, one FIX message per line."""
    from emp.adapters.fix_codec.md_encode import encode_md
    from emp.adapters.md_replay import write_raw_messages
    from emp.domain.market_data import EntryType, MdEntries, MdIncrement, MdSnapshot, UpdateAction

    rng = np.random.default_rng(seed)
    tick = 0.01
    bids = {10_000 - i: float(rng.integers(1, 1000)) for i in range(BOOK_DEPTH)}
    asks = {10_001 + i: float(rng.integers(1, 1000)) for i in range(BOOK_DEPTH)}
    ids = {"sender_comp_id": "V", "target_comp_id": "E"}
    rpt = 0

    def entries(rows: list[tuple[int, int, int, float]]) -> MdEntries:
        nonlocal rpt
        first, rpt = rpt + 1, rpt + len(rows)
        return MdEntries(
            actions=[r[0] for r in rows],
            types=[r[1] for r in rows],
            prices=[round(r[2] * tick, 2) for r in rows],
            sizes=[r[3] for r in rows],
            symbols=["BK"] * len(rows),
            rpt_seqs=list(range(first, rpt + 1)),
        )

    def messages():
        snapshot_rows = [(UpdateAction.NEW, EntryType.BID, t, s) for t, s in bids.items()]
        snapshot_rows += [(UpdateAction.NEW, EntryType.OFFER, t, s) for t, s in asks.items()]
        yield encode_md(
            MdSnapshot(symbol="BK", entries=entries(snapshot_rows), seq_num=1, ts_ns=BOOK_T0,
                       rpt_seq=rpt),
            **ids,
        )  # fmt: skip
        n_messages = max(1, round(updates / 1.05))
        for i in range(1, n_messages + 1):
            rows: list[tuple[int, int, int, float]] = []
            if i % 25 == 0:  # the book moves a tick: one side loses its best level
                up = bool(rng.integers(2))
                gone, grow = (asks, bids) if up else (bids, asks)
                best = min(gone) if up else max(gone)
                far = min(grow) if up else max(grow)
                del gone[best]
                del grow[far]
                grow[best] = float(rng.integers(1, 1000))
                edge = max(gone) + 1 if up else min(gone) - 1
                gone[edge] = float(rng.integers(1, 1000))
                g, w = (EntryType.OFFER, EntryType.BID) if up else (EntryType.BID, EntryType.OFFER)
                rows += [
                    (UpdateAction.DELETE, g, best, 0.0),
                    (UpdateAction.DELETE, w, far, 0.0),
                    (UpdateAction.NEW, w, best, grow[best]),
                    (UpdateAction.NEW, g, edge, gone[edge]),
                ]
            else:
                side, kind = (bids, EntryType.BID) if rng.integers(2) else (asks, EntryType.OFFER)
                level = sorted(side, reverse=kind == EntryType.BID)[int(rng.integers(5))]
                side[level] = float(side[level] % 999 + 1 + int(rng.integers(0, 300)))
                rows.append((UpdateAction.CHANGE, kind, level, side[level]))
            if i % 20 == 0:
                buy = bool(rng.integers(2))
                rows.append(
                    (UpdateAction.NEW, EntryType.TRADE, min(asks) if buy else max(bids),
                     float(rng.integers(1, 200)))
                )  # fmt: skip
            increment = MdIncrement(
                entries=entries(rows), seq_num=i + 1, ts_ns=BOOK_T0 + i * BOOK_STEP_NS
            )
            yield encode_md(increment, **ids)

    return write_raw_messages(path, messages())


def run_book_child(recording: Path, reports: Path, module: Path | None) -> None:
    import importlib.util

    from emp.app.backtest import BacktestRequest, run_backtest
    from emp.app.containers import build_container, close_stores
    from emp.app.plugins import make_plugin_manager
    from emp.app.settings import load_settings

    runner = run_backtest
    if module is not None:
        spec = importlib.util.spec_from_file_location("backtest_book_under_test", module)
        if spec is None or spec.loader is None:
            raise SystemExit(f"expected a Python module at {module}")
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        runner = loaded.run_book_backtest
    settings = load_settings(db_path=reports / "emp.duckdb", reports_dir=reports)
    container = build_container(settings)
    before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    try:
        outcome = runner(
            settings,
            container,
            make_plugin_manager(load_entrypoints=False),
            BacktestRequest(
                strategy="book_imbalance", book_file=recording, params={"units": 10, "every": 5}
            ),
        )
    finally:
        close_stores(container, settings)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = next(reports.rglob("report.json"))
    updates = json.loads(report.read_text())["identity"]["config"]["book"]["updates"]
    print(
        json.dumps(
            {
                "updates": updates,
                "fills": outcome.summary["fills"],
                "seconds": round(seconds, 1),
                "updates_per_s": round(updates / seconds),
                "rss_before_run_mb": round(before_kib / 1024, 1),
                "peak_rss_mb": round(peak_kib / 1024, 1),
            }
        )
    )


def book_main(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        recording = Path(tmp) / "book.fix"
        start = time.perf_counter()
        messages = write_book_recording(recording, args.book_updates)
        write_s = time.perf_counter() - start
        command = [sys.executable, __file__, "--book-child", str(recording), str(Path(tmp) / "r")]
        if args.book_module is not None:
            command += ["--book-module", str(args.book_module)]
        child = subprocess.run(command, capture_output=True, text=True, check=False)
        if child.returncode != 0:
            raise SystemExit(f"the book backtest failed:\n{child.stderr}")
        result = json.loads(child.stdout.strip().splitlines()[-1])
        size_mb = recording.stat().st_size / 2**20
    return {
        "book_updates_asked": args.book_updates,
        "messages": messages,
        "recording_mb": round(size_mb, 1),
        "write_s": round(write_s, 1),
        "module": str(args.book_module) if args.book_module else "emp.app.backtest_book",
        **result,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--chunk-bars", type=int, default=50_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--book-updates", type=int, default=None)
    parser.add_argument("--book-module", type=Path, default=None)
    parser.add_argument("--child", nargs=2, metavar=("DB", "REPORTS"), help=argparse.SUPPRESS)
    parser.add_argument("--book-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_backtest_child(Path(args.child[0]), Path(args.child[1]), args.chunk_bars)
        return
    if args.book_child:
        run_book_child(Path(args.book_child[0]), Path(args.book_child[1]), args.book_module)
        return
    if args.book_updates is not None:
        out = book_main(args)
        for key, value in out.items():
            print(f"{key:<18} {value}")
        if args.json:
            print(json.dumps(out))
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
