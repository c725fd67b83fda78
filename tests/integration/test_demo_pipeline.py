"""The `emp demo` slice in-process, on real DuckDB files and real report files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dependency_injector import providers

import emp_sma_cross.plugin as sma_cross_plugin
from emp.app.containers import build_container
from emp.app.demo import DemoRequest, run_demo
from emp.app.hookspecs import hookimpl
from emp.app.plugins import make_plugin_manager
from emp.app.settings import load_settings
from emp.domain.bars import Bar
from emp.domain.errors import InvalidBars, StrategyError
from emp.domain.strategies.buy_and_hold import BuyAndHold
from emp.domain.strategy import StrategySpec
from emp.ports.bar_source import SymbolNotFound
from emp.ports.store_errors import StoreError, StoreUnavailable
from tests.fakes.run_store import InMemoryRunStore

REPORT_FILES = {"report.md", "report.json", "equity.png", "drawdown.png", "trades.csv"}


class ExplodingBuyAndHold(BuyAndHold):
    name = "exploding"

    def on_bar(self, bar: Bar, ctx):
        if ctx.position(bar.symbol) > 0:
            raise RuntimeError("model file missing")
        return super().on_bar(bar, ctx)


class ExtraStrategies:
    @hookimpl
    def emp_register_strategies(self):
        return [StrategySpec(name="exploding", factory=lambda p: ExplodingBuyAndHold())]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("EMP_"):
            monkeypatch.delenv(key)


def run(tmp: Path, request: DemoRequest | None = None, container=None, **settings):
    settings.setdefault("reports_dir", tmp / "reports")
    settings.setdefault("db_path", tmp / "emp.duckdb")
    config = load_settings(**settings)
    container = container or build_container(config)
    catalog = make_plugin_manager(
        load_entrypoints=False, extra_plugins=[sma_cross_plugin, ExtraStrategies()]
    )
    try:
        return run_demo(config, container, catalog, request or DemoRequest(n_bars=300)), container
    finally:
        container.database().close()


def reopen(tmp: Path):
    return build_container(load_settings(db_path=tmp / "emp.duckdb"))


class TestReport:
    def test_the_demo_writes_every_report_file_and_records_the_run(self, tmp_path):
        outcome, _ = run(tmp_path)
        assert set(outcome.artifacts) >= REPORT_FILES
        folder = tmp_path / "reports" / outcome.run_id
        assert {p.name for p in folder.iterdir()} >= REPORT_FILES
        report = json.loads((folder / "report.json").read_text())
        identity = report["identity"]
        assert identity["config"]["seed"] == 42
        assert len(identity["data_hash"]) == 64
        assert identity["package_version"]
        assert report["summary"]["trades"] == outcome.summary["trades"]
        assert outcome.summary["fills"] > 0, "the example strategy should trade in 300 bars"
        container = reopen(tmp_path)
        stored = container.run_store().get_run(outcome.run_id)
        assert stored.status == "completed"
        assert len(container.run_store().fills(outcome.run_id)) == outcome.summary["fills"]
        container.database().close()

    def test_the_same_seed_gives_an_identical_report_json_apart_from_run_stamps(self, tmp_path):
        first, _ = run(tmp_path / "a")
        second, _ = run(tmp_path / "b")

        def stable(outcome, root):
            data = json.loads((root / "reports" / outcome.run_id / "report.json").read_text())
            for key in ("run_id", "created_utc"):
                data["identity"].pop(key)
            data.pop("run_id")
            return data

        assert stable(first, tmp_path / "a") == stable(second, tmp_path / "b")
        assert first.run_id.split("-")[-1] == second.run_id.split("-")[-1]  # config hash

    def test_another_seed_gives_other_data_and_another_run_id_hash(self, tmp_path):
        first, _ = run(tmp_path / "a")
        second, _ = run(tmp_path / "b", seed=7)
        assert first.run_id.split("-")[-1] != second.run_id.split("-")[-1]
        assert first.summary["final_equity"] != second.summary["final_equity"]

    def test_the_fix_face_and_the_direct_face_give_identical_results(self, tmp_path):
        fix, _ = run(tmp_path / "fix", venue="sim_fix")
        direct, _ = run(tmp_path / "direct", venue="sim_direct")
        assert fix.summary == direct.summary
        assert fix.result.fills == direct.result.fills

    def test_tight_risk_limits_reject_orders_and_the_report_counts_them(self, tmp_path):
        outcome, _ = run(tmp_path, max_position=100.0)
        assert outcome.summary["risk_rejections"] > 0
        rejected = [o for o in outcome.result.orders if o.status.value == "REJECTED"]
        assert all("max_position" in (o.reject_reason or "") for o in rejected)
        assert all(
            abs(q) <= 100 for q in [p.quantity for p in outcome.result.portfolio.positions.values()]
        )


class TestUserData:
    def write_csv(self, path: Path, rows: int = 120, symbol: str = "AAA") -> Path:
        rng = np.random.default_rng(3)
        close = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.01, rows))), 2)
        frame = pd.DataFrame(
            {
                "date": pd.bdate_range("2023-01-02", periods=rows).strftime("%Y-%m-%d"),
                "symbol": symbol,
                "open": close,
                "high": close + 0.5,
                "low": close - 0.5,
                "close": close,
                "volume": 1_000_000,
            }
        )
        frame.to_csv(path, index=False)
        return path

    def test_a_csv_file_runs_through_the_same_slice(self, tmp_path):
        data = self.write_csv(tmp_path / "bars.csv")
        outcome, _ = run(tmp_path, DemoRequest(data_file=data, strategy="buy_and_hold"))
        assert outcome.summary["bars"] == 120
        assert outcome.summary["fills"] == 1

    def test_bad_bars_stop_before_any_run_is_recorded(self, tmp_path):
        data = self.write_csv(tmp_path / "bars.csv")
        frame = pd.read_csv(data)
        frame.loc[5, "close"] = float("nan")
        frame.to_csv(data, index=False)
        with pytest.raises(InvalidBars, match=r"bars\.csv.*row 5.*close is NaN"):
            run(tmp_path, DemoRequest(data_file=data))
        container = reopen(tmp_path)
        assert container.run_store().list_runs() == []
        container.database().close()

    def test_a_symbol_missing_from_the_file_is_named(self, tmp_path):
        data = self.write_csv(tmp_path / "bars.csv")
        with pytest.raises(SymbolNotFound, match="ZZZ"):
            run(tmp_path, DemoRequest(data_file=data, symbols=["ZZZ"]))


class TestFailures:
    def test_a_strategy_that_raises_leaves_a_failed_run_with_no_partial_orders(self, tmp_path):
        with pytest.raises(StrategyError, match="'exploding' raised RuntimeError"):
            run(tmp_path, DemoRequest(strategy="exploding", n_bars=50))
        container = reopen(tmp_path)
        (stored,) = container.run_store().list_runs()
        assert stored.status == "failed"
        assert "StrategyError" in (stored.error or "")
        assert container.run_store().orders(stored.run_id) == []
        assert container.run_store().fills(stored.run_id) == []
        container.database().close()
        assert not (tmp_path / "reports" / stored.run_id / "report.json").exists()

    def test_a_dead_database_is_a_store_unavailable_error(self, tmp_path):
        (tmp_path / "db-is-a-dir").mkdir()
        with pytest.raises(StoreUnavailable, match="db-is-a-dir"):
            run(tmp_path, db_path=tmp_path / "db-is-a-dir")

    def test_a_store_failure_at_completion_marks_the_run_failed(self, tmp_path):
        config = load_settings(reports_dir=tmp_path / "r", db_path=tmp_path / "x.duckdb")
        container = build_container(config)
        fake = InMemoryRunStore(fail_on_complete=True)
        container.run_store.override(providers.Object(fake))
        with pytest.raises(StoreError, match="disk full"):
            run(tmp_path, DemoRequest(n_bars=60), container=container)
        (record,) = fake.runs.values()
        assert record.status == "failed" and "disk full" in (record.error or "")
