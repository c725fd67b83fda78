"""The risk layer in the order path of real runs: drawdown braking and the kill switch."""

from __future__ import annotations

import json
import os
import urllib.request

import pytest
from dependency_injector import providers

import emp_sma_cross.plugin as sma_cross_plugin
from emp.adapters.alert_webhook import AlertWebhookKillSignal
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

    def test_a_firing_alertmanager_webhook_mid_run_halts_and_flattens(self, tmp_path):
        hook = AlertWebhookKillSignal(port=0).start()

        class AlertAfter:
            """Polls the webhook; after 250 bars Alertmanager posts a firing alert."""

            def __init__(self) -> None:
                self.polls = 0

            def poll(self) -> str | None:
                self.polls += 1
                if self.polls == 250:
                    body = {
                        "alerts": [
                            {
                                "status": "firing",
                                "labels": {"alertname": "EquityDrawdown", "emp_action": "kill"},
                            }
                        ]
                    }
                    request = urllib.request.Request(
                        hook.url, data=json.dumps(body).encode(), method="POST"
                    )
                    with urllib.request.urlopen(request, timeout=5) as response:
                        assert response.status == 200
                return hook.poll()

        try:
            outcome = run(tmp_path, kill=AlertAfter())
        finally:
            hook.close()
        risk = outcome.result.risk_state
        (halt,) = [e for e in risk["audit"] if e["event"] == "TradingStateChanged"]
        assert halt["current"] == "HALTED" and halt["source"] == "signal"
        assert halt["reason"] == "metrics alert EquityDrawdown"
        assert outcome.result.portfolio.positions == {}, "everything flattened"
        assert risk_increasing_fills_after(outcome, halt["ts_ns"]) == []

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


class TestIncrementalMarketWindows:
    """The app's rolling windows feed the manager's rolling model: bar by bar, the
    incremental state equals a manager built afresh from the same windows."""

    def test_every_bar_equals_a_fresh_manager_on_the_same_windows(self):
        import numpy as np

        from emp.adapters.synthetic import RegimeSwitchingBarSource
        from emp.app.market_windows import MarketFeed, MarketWindows
        from emp.domain.risk import AccountSnapshot, RiskConfig, build_risk_manager

        symbols = ("AAA", "BBB", "CCC")
        bars = RegimeSwitchingBarSource(list(symbols), n_bars=160, seed=11).load()
        config = RiskConfig(
            max_var=1e9,
            var_window=30,
            max_beta_exposure=1e9,
            volatility_tiers=((0.0, 1.0, 1.0), (0.2, 0.5, 0.5), (0.4, 0.25, 0.25)),
            vol_window=10,
            regime_classifier=True,
            regime_window=20,
        )
        feed = MarketFeed(
            symbols=symbols,
            return_window=30,
            benchmark="AAA",
            reference_window=21,
            reference="AAA",
        )
        windows = MarketWindows(feed)
        rolled = build_risk_manager(config)
        positions = {"AAA": 10.0, "BBB": -5.0, "CCC": 0.0}
        n = len(bars["AAA"])
        for i in range(n):
            now = [bars[s].bar(i) for s in symbols if i % 7 or s != "CCC"]  # CCC skips bars
            windows.observe(now)
            positions["CCC"] = float(i % 5)
            account = AccountSnapshot(
                ts_ns=int(bars["AAA"].ts_ns[i]),
                equity=1e6,
                positions=dict(positions),
                marks={s: float(bars[s].close[i]) for s in symbols},
            )
            inputs = {
                "reference_closes": windows.reference_closes(),
                "returns": windows.history(),
            }
            rolled.on_bar(account, **inputs)
            fresh = build_risk_manager(config)
            fresh.on_bar(account, **inputs)
            assert rolled.regime == fresh.regime
            assert (rolled.volatility_tier is None) == (fresh.volatility_tier is None)
            if fresh.volatility_tier is not None:
                assert rolled.volatility_tier.name == fresh.volatility_tier.name
            for key, value in fresh.book.to_dict().items():
                assert rolled.book.to_dict()[key] == pytest.approx(value, rel=1e-9, abs=1e-6)
            if fresh.book.var is not None:
                np.testing.assert_allclose(
                    np.sort(rolled.book.pnl), np.sort(fresh.book.pnl), rtol=1e-9, atol=1e-6
                )
                assert rolled.book.variance() == pytest.approx(
                    fresh.book.variance(), rel=1e-9, abs=1e-6
                )
        assert rolled.book.var is not None and rolled.book.market.observations == 30
