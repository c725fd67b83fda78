"""Backtests people can trust: no look-ahead, reproducible reports, bounded streaming."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from dependency_injector import providers

from emp.adapters.clocks import ManualClock
from emp.adapters.fix_sim import SimulatedVenue, SimulatedVenueConfig
from emp.adapters.synthetic import RegimeSwitchingBarSource
from emp.app import builtin_plugin
from emp.app.backtest import BacktestRequest, run_backtest
from emp.app.containers import build_container
from emp.app.engine import BarEventEngine
from emp.app.plugins import make_plugin_manager
from emp.app.settings import load_settings
from emp.domain.bars import BarSeries
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.risk import RiskManager
from emp.domain.strategy import StrategySpec

T0 = np.datetime64("2021-01-04T00:00", "ns").view(np.int64)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("EMP_"):
            monkeypatch.delenv(key)


# ------------------------------------------------------------------ look-ahead
def builtin_variants() -> list[tuple[StrategySpec, dict]]:
    """Every built-in strategy with its defaults, and sma_cross in each mode and fill size."""
    variants = []
    for spec in builtin_plugin.emp_register_strategies():
        if spec.name == "book_imbalance":
            continue  # trades on book data only: its look-ahead test is in test_engine_book.py
        variants.append((spec, {}))
        if spec.name == "sma_cross":
            variants += [
                (spec, {"mode": "reverse", "fast": 3, "slow": 9}),
                (spec, {"units": 25.0, "fast": 2, "slow": 5}),
            ]
    return variants


def cut(bars: dict[str, BarSeries], last: int) -> dict[str, BarSeries]:
    return {
        s: BarSeries.from_arrays(
            s, b.ts_ns[:last], b.open[:last], b.high[:last], b.low[:last], b.close[:last],
            b.volume[:last],
        )
        for s, b in bars.items()
    }  # fmt: skip


def decisions(spec: StrategySpec, params: dict, bars: dict[str, BarSeries], fill_model: str):
    instruments = InstrumentRegistry(Instrument(symbol=s) for s in bars)
    clock = ManualClock()
    engine = BarEventEngine(
        bars=bars,
        instruments=instruments,
        strategy=spec.build(params),
        risk=RiskManager(),
        venue=SimulatedVenue(instruments, clock, SimulatedVenueConfig(fill_model=fill_model)),
        clock=clock,
        initial_cash=100_000.0,
    )
    result = engine.run()
    return [(o.created_ns, o.symbol, o.side, o.quantity) for o in result.orders], result


@pytest.mark.parametrize(
    "spec, params", builtin_variants(), ids=lambda v: getattr(v, "name", None) or str(v)
)
@pytest.mark.parametrize("fill_model", ["next_open", "close"])
def test_decisions_up_to_t_do_not_depend_on_bars_after_t(spec, params, fill_model):
    bars = RegimeSwitchingBarSource(["A", "B"], n_bars=160, seed=5).load()
    full, _ = decisions(spec, params, bars, fill_model)
    assert full, f"{spec.name} {params} should trade in 160 bars"
    for last in (1, 12, 40, 41, 97, 159):
        truncated, result = decisions(spec, params, cut(bars, last), fill_model)
        t = int(bars["A"].ts_ns[last - 1])
        assert truncated == [d for d in full if d[0] <= t], f"bars up to index {last - 1}"
        assert result.ts_ns[-1] == t


# ------------------------------------------------------------------ determinism
def backtest(tmp: Path, *, clock_ns: int | None = None, **request):
    settings = load_settings(
        reports_dir=tmp / "reports", db_path=tmp / "emp.duckdb", venue="sim_direct"
    )
    container = build_container(settings)
    if clock_ns is not None:
        container.clock.override(providers.Object(ManualClock(clock_ns)))
    catalog = make_plugin_manager(load_entrypoints=False)
    request = {"strategy": "sma_cross", "symbols": ["SYN_A"], "n_bars": 300, **request}
    try:
        return run_backtest(settings, container, catalog, BacktestRequest(**request))
    finally:
        container.database().close()


def report_hash(outcome) -> str:
    """sha256 of report.json without the run's own stamps (id and creation time)."""
    document = json.loads(outcome.artifacts["report.json"].read_text())
    document.pop("run_id")
    for key in ("run_id", "created_utc"):
        document["identity"].pop(key)
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


class TestDeterminism:
    def test_the_same_seed_twice_gives_the_same_report_hash(self, tmp_path):
        first = backtest(tmp_path / "a")
        second = backtest(tmp_path / "b")
        assert first.run_id != second.run_id
        assert report_hash(first) == report_hash(second)

    def test_another_seed_gives_another_report_hash(self, tmp_path, monkeypatch):
        first = backtest(tmp_path / "a")
        monkeypatch.setenv("EMP_SEED", "43")
        second = backtest(tmp_path / "b")
        assert report_hash(first) != report_hash(second)

    def test_with_a_fixed_clock_every_report_file_is_byte_identical(self, tmp_path):
        first = backtest(tmp_path / "a", clock_ns=int(T0))
        second = backtest(tmp_path / "b", clock_ns=int(T0))
        assert first.run_id == second.run_id
        assert set(first.artifacts) == set(second.artifacts)
        for name, path in first.artifacts.items():
            assert path.read_bytes() == second.artifacts[name].read_bytes(), name


# ------------------------------------------------------------------ streaming
class SpyStore:
    """A bar store that records how many bars each read returned."""

    def __init__(self, store) -> None:
        self._store = store
        self.reads: list[int] = []

    def write_bars(self, bars, source):
        return self._store.write_bars(bars, source)

    def read_bars(self, symbols, start_ns=None, end_ns=None):
        bars = self._store.read_bars(symbols, start_ns, end_ns)
        self.reads.append(max(len(s) for s in bars.values()))
        return bars

    def coverage(self):
        return self._store.coverage()


class TestStreaming:
    def test_small_chunks_give_the_same_run_as_one_chunk(self, tmp_path):
        whole = backtest(tmp_path / "a", n_bars=400, chunk_bars=10_000)
        chunked = backtest(tmp_path / "b", n_bars=400, chunk_bars=23)
        assert chunked.summary == whole.summary
        assert chunked.result.trades == whole.result.trades
        np.testing.assert_array_equal(chunked.result.equity, whole.result.equity)
        identity = json.loads(chunked.artifacts["report.json"].read_text())["identity"]
        assert (
            identity["data_hash"]
            == json.loads(whole.artifacts["report.json"].read_text())["identity"]["data_hash"]
        )

    def test_the_store_is_never_asked_for_more_than_about_one_chunk(self, tmp_path):
        settings = load_settings(
            reports_dir=tmp_path / "reports", db_path=tmp_path / "emp.duckdb", venue="sim_direct"
        )
        container = build_container(settings)
        spy = SpyStore(container.bar_store())
        container.bar_store.override(providers.Object(spy))
        try:
            outcome = run_backtest(
                settings,
                container,
                make_plugin_manager(load_entrypoints=False),
                BacktestRequest(strategy="sma_cross", symbols=["SYN_A"], n_bars=500, chunk_bars=50),
            )
        finally:
            container.database().close()
        assert outcome.summary["bars"] == 500
        assert len(spy.reads) >= 10
        assert max(spy.reads) <= 55
