"""Bar-store throughput: write and read 1 M bars in DuckDB and in Postgres.

    python benchmarks/store.py [--bars 1000000] [--symbols 10] [--pg-dsn DSN] [--json]

Without ``--pg-dsn`` a throwaway Postgres cluster is started in a temp dir (initdb and
pg_ctl of PostgreSQL 15, run as the ``postgres`` user when root) and removed afterwards.
Each figure is the best of ``--repeat`` runs into a fresh database/schema: one
``write_bars`` call (one transaction) of every bar, then one ``read_bars`` of every
symbol. With ``--json`` the last line is one JSON object:
``duckdb_bars_write_per_s``, ``duckdb_bars_read_per_s``, ``pg_bars_write_per_s``,
``pg_bars_read_per_s``.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import platform
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from sqlalchemy import text

from emp.adapters.duckdb_store import DuckDBBarStore, DuckDBDatabase
from emp.adapters.sql_store import SqlBarStore, SqlDatabase
from emp.domain.bars import BarSeries

MINUTE_NS = 60_000_000_000
T0 = 1_577_923_200_000_000_000


def make_bars(total: int, symbols: int, seed: int = 7) -> dict[str, BarSeries]:
    rng = np.random.default_rng(seed)
    per = total // symbols
    bars = {}
    for k in range(symbols):
        close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.001, per)))
        spread = np.abs(rng.normal(0, 0.05, per))
        symbol = f"SYM{k:03d}"
        bars[symbol] = BarSeries.from_arrays(
            symbol,
            T0 + np.arange(per, dtype=np.int64) * MINUTE_NS,
            close,
            close + spread,
            close - spread,
            close,
            rng.integers(1, 10_000, per).astype(np.float64),
        )
    return bars


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


@contextlib.contextmanager
def temporary_postgres() -> Iterator[str]:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not candidates:
        raise SystemExit("PostgreSQL server binaries not found: apt-get install -y postgresql-15")
    bin_dir = Path(candidates[0]).parent
    directory = Path(tempfile.mkdtemp(prefix="emp-bench-pg-"))
    as_postgres = os.geteuid() == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    def run(*args: str) -> None:
        command = [str(bin_dir / args[0]), *args[1:]]
        if as_postgres:
            command = ["su", "postgres", "-s", "/bin/sh", "-c", subprocess.list2cmdline(command)]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    try:
        if as_postgres:
            shutil.chown(directory, "postgres", "postgres")
        data = str(directory / "data")
        run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1"
        run("pg_ctl", "-D", data, "-l", str(directory / "pg.log"), "-o", options, "-w", "start")
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            run("pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def bench_duckdb(bars: dict[str, BarSeries], repeat: int) -> tuple[float, float]:
    writes, reads = [], []
    for _ in range(repeat):
        with (
            tempfile.TemporaryDirectory() as folder,
            DuckDBDatabase(Path(folder) / "b.duckdb") as db,
        ):
            store = DuckDBBarStore(db)
            db.open()
            writes.append(timed(lambda store=store: store.write_bars(bars, "bench")))
            reads.append(timed(lambda store=store: store.read_bars(list(bars))))
            db.close()
    return min(writes), min(reads)


def bench_postgres(bars: dict[str, BarSeries], repeat: int, dsn: str) -> tuple[float, float]:
    writes, reads = [], []
    for _ in range(repeat):
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with SqlDatabase(dsn, schema=schema) as db:
            store = SqlBarStore(db)
            db.open()
            writes.append(timed(lambda store=store: store.write_bars(bars, "bench")))
            reads.append(timed(lambda store=store: store.read_bars(list(bars))))
            with db.connection("dropping the benchmark schema") as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                connection.commit()
    return min(writes), min(reads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--pg-dsn", default=None, help="an existing Postgres (default: temp)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    bars = make_bars(args.bars, args.symbols)
    total = sum(len(series) for series in bars.values())
    duck_write, duck_read = bench_duckdb(bars, args.repeat)
    if args.pg_dsn:
        pg_write, pg_read = bench_postgres(bars, args.repeat, args.pg_dsn)
    else:
        with temporary_postgres() as dsn:
            pg_write, pg_read = bench_postgres(bars, args.repeat, dsn)
    figures = {
        "bars": total,
        "symbols": args.symbols,
        "duckdb_bars_write_per_s": round(total / duck_write),
        "duckdb_bars_read_per_s": round(total / duck_read),
        "pg_bars_write_per_s": round(total / pg_write),
        "pg_bars_read_per_s": round(total / pg_read),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }
    if not args.json:
        for key, value in figures.items():
            print(f"{key:>26}: {value:,}" if isinstance(value, int) else f"{key:>26}: {value}")
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
