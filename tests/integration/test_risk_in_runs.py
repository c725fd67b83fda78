"""The risk layer in the order path of real runs: drawdown braking and the kill switch."""

from __future__ import annotations

import json
import os

import pytest
from dependency_injector import providers

import emp_sma_cross.plugin as sma_cross_plugin
from emp.adapters.kill_file import KillFile
from emp.app.containers import build_container
from emp.app.demo import DemoRequest, run_demo
from emp.app.plugins import make_plugin_manager
from emp.app.settings import load_settings
from emp.domain.orders import OrderSide
from emp.domain.risk import KILL_SWITCH_STRATEGY


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for key in list(os.environ):
        if key.startswith("EMP_"):
            monkeypatch.delenv(key)


class KillAfter:
    """A kill signal that fires after ``polls`` bars, like an operator running `emp kill`."""

    def __init__(self, polls: int) -> None:
        self.remaining = polls
        self.fired_at_poll: int | None = None

    def poll(self) -> str | None:
        self.remaining -= 1
        return "operator: venue incident" if self.remaining < 0 else None


def run(tmp_path, request=None, kill=None, **settings):
    config = load_settings(
        reports_dir=tmp_path / "reports",
        db_path=tmp_path / "emp.duckdb",
        kill_file=tmp_path / "KILL",
        **settings,
    )
    container = build_container(config)
    if kill is not None:
        container.kill_signal.override(providers.Object(kill))
    catalog = make_plugin_manager(load_entrypoints=False, extra_plugins=[sma_cross_plugin])
    try:
        return run_demo(config, container, catalog, request or DemoRequest(n_bars=400))
    finally:
        container.database().close()


def risk_increasing_fills_after(outcome, ts_ns):
    """Fills after ``ts_ns`` that grew |position| (replayed from the fill list)."""
    positions: dict[str, float] = {}
    increasing = []
    for fill in outcome.result.fills:
        before = positions.get(fill.symbol, 0.0)
        after = before + fill.signed_quantity
        positions[fill.symbol] = after
        if fill.ts_ns > ts_ns and abs(after) > abs(before) + 1e-9:
            increasing.append(fill)
    return increasing


class TestKillSwitch:
    def test_a_kill_signal_mid_run_cancels_flattens_and_refuses_new_risk(self, tmp_path):
        outcome = run(tmp_path, kill=KillAfter(polls=250))
        risk = outcome.result.risk_state
        assert risk["trading_state"] == "HALTED"
        (halt,) = [e for e in risk["audit"] if e["event"] == "TradingStateChanged"]
        assert halt["current"] == "HALTED" and halt["source"] == "signal"
        assert "venue incident" in halt["reason"]
        assert outcome.result.portfolio.positions == {}, "everything flattened"
        flatten_orders = [o for o in outcome.result.orders if o.strategy == KILL_SWITCH_STRATEGY]
        assert flatten_orders and all(o.status.value == "FILLED" for o in flatten_orders)
        assert risk_increasing_fills_after(outcome, halt["ts_ns"]) == []
        assert outcome.summary["risk_final_state"] == "HALTED"
        report = json.loads((tmp_path / "reports" / outcome.run_id / "report.json").read_text())
        assert report["risk"]["trading_state"] == "HALTED"
        markdown = (tmp_path / "reports" / outcome.run_id / "report.md").read_text()
        assert "## Risk" in markdown and "HALTED" in markdown

    def test_the_emp_kill_file_halts_a_run_from_its_first_bar(self, tmp_path):
        KillFile(tmp_path / "KILL").request("desk closed", requested_ns=1)
        outcome = run(tmp_path)
        assert outcome.result.risk_state["trading_state"] == "HALTED"
        assert outcome.result.fills == []
        assert outcome.summary["risk_rejections"] > 0  # the strategy kept asking

    def test_without_a_signal_the_run_stays_active(self, tmp_path):
        outcome = run(tmp_path)
        assert outcome.result.risk_state["trading_state"] == "ACTIVE"
        assert outcome.summary["risk_state_changes"] == 0


class TestDrawdownBraking:
    def test_braking_moves_to_reducing_then_halted_and_the_report_shows_the_timeline(
        self, tmp_path
    ):
        outcome = run(
            tmp_path,
            DemoRequest(n_bars=600, params={"fast": "5", "slow": "15"}),
            reduce_drawdown=0.01,
            halt_drawdown=0.02,
            drawdown_hysteresis=0.005,
        )
        risk = outcome.result.risk_state
        states = [e["current"] for e in risk["audit"] if e["event"] == "TradingStateChanged"]
        assert states == ["REDUCING", "HALTED"]
        assert risk["trading_state"] == "HALTED"
        halted_at = next(
            e["ts_ns"]
            for e in risk["audit"]
            if e["event"] == "TradingStateChanged" and e["current"] == "HALTED"
        )
        assert risk_increasing_fills_after(outcome, halted_at) == []
        assert any(note.startswith("risk: ") for note in outcome.result.notes)
        markdown = (tmp_path / "reports" / outcome.run_id / "report.md").read_text()
        assert "| time | from | to | by | reason |" in markdown

    def test_in_reducing_only_orders_that_shrink_a_position_are_filled(self, tmp_path):
        outcome = run(
            tmp_path,
            DemoRequest(n_bars=600, params={"fast": "5", "slow": "15"}),
            reduce_drawdown=0.02,
            drawdown_hysteresis=0.005,
        )
        risk = outcome.result.risk_state
        assert risk["trading_state"] == "REDUCING"
        reducing_at = next(e["ts_ns"] for e in risk["audit"] if e["event"] == "TradingStateChanged")
        assert risk_increasing_fills_after(outcome, reducing_at) == []
        refused = [o for o in outcome.result.orders if o.status.value == "REJECTED"]
        assert refused and all(o.side is OrderSide.BUY for o in refused)  # long-only strategy
