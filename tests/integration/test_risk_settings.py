"""The market-data risk rules reached from EMP_* settings in real demo runs: VaR caps,
volatility tiers, regime gating and sector caps, fed by the engine's rolling windows."""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest

import emp_sma_cross.plugin as sma_cross_plugin
from emp.app.containers import build_container
from emp.app.demo import DemoRequest, run_demo
from emp.app.errors import ConfigError
from emp.app.plugins import make_plugin_manager
from emp.app.settings import load_settings
from emp.domain.orders import OrderStatus


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for key in list(os.environ):
        if key.startswith("EMP_"):
            monkeypatch.delenv(key)


def run(tmp_path, **settings):
    config = load_settings(
        reports_dir=tmp_path / "reports",
        db_path=tmp_path / "emp.duckdb",
        kill_file=tmp_path / "KILL",
        **settings,
    )
    container = build_container(config)
    catalog = make_plugin_manager(load_entrypoints=False, extra_plugins=[sma_cross_plugin])
    try:
        return run_demo(config, container, catalog, DemoRequest(n_bars=400))
    finally:
        container.database().close()


def rejection_rules(outcome) -> Counter[str]:
    """Risk rejections counted by the rule that refused (``risk: <rule>: ...``)."""
    return Counter(
        order.reject_reason.removeprefix("risk: ").split(":")[0]
        for order in outcome.result.orders
        if order.status is OrderStatus.REJECTED and order.reject_reason.startswith("risk: ")
    )


def report_risk(outcome) -> dict:
    return json.loads(outcome.artifacts["report.json"].read_text())["risk"]


class TestVarCapFromSettings:
    def test_a_tight_historical_var_cap_refuses_orders_naming_the_var_rule(self, tmp_path):
        outcome = run(tmp_path, max_var=2_000.0)
        rules = rejection_rules(outcome)
        assert rules["max_var_historical"] > 0
        assert set(rules) == {"max_var_historical"}
        assert outcome.summary["risk_rejections"] == sum(rules.values())

    def test_a_parametric_var_cap_set_to_resize_cuts_orders_down(self, tmp_path):
        outcome = run(
            tmp_path,
            max_var=2_000.0,
            var_method="parametric",
            risk_resize="max_var_parametric",
        )
        assert outcome.summary["risk_resizes"] > 0
        resized = [e for e in report_risk(outcome)["audit"] if e["event"] == "OrderRiskResized"]
        assert resized
        assert all("max_var_parametric" in json.dumps(e) for e in resized)

    def test_without_a_var_cap_the_same_run_is_never_refused(self, tmp_path):
        outcome = run(tmp_path)
        assert rejection_rules(outcome) == Counter()


class TestVolatilityTiersFromSettings:
    def test_tier_changes_are_in_the_audit_and_the_low_tier_scales_the_position_cap(self, tmp_path):
        tiered = run(tmp_path / "tiered", volatility_tiers="0:1:1,0.1:0.2:0.2", max_position=5e3)
        flat = run(tmp_path / "flat", max_position=5_000.0)
        changes = [e for e in report_risk(tiered)["audit"] if e["event"] == "VolatilityTierChanged"]
        assert {e["current"] for e in changes} == {"tier0", "tier1"}
        assert any(e["position_multiplier"] == 0.2 for e in changes)
        assert report_risk(tiered)["volatility_tier"]["name"] in {"tier0", "tier1"}
        assert rejection_rules(tiered)["max_position"] > rejection_rules(flat)["max_position"]


class TestRegimeGatingFromSettings:
    def test_a_zero_scale_disables_the_strategy_in_that_regime_and_the_report_counts_it(
        self, tmp_path
    ):
        outcome = run(tmp_path, regime_scales="range:0")
        reasons = [o.reject_reason for o in outcome.result.orders if o.reject_reason]
        assert reasons
        assert all("regime 'range' disables strategy 'sma_trend'" in r for r in reasons)
        counts = report_risk(outcome)["regime_counts"]
        assert counts["range"]["rejected"] == len(reasons)
        assert counts["range"]["bars"] > 0
        assert sum(c["rejected"] for name, c in counts.items() if name != "range") == 0

    def test_the_classifier_alone_counts_regimes_without_refusing_anything(self, tmp_path):
        outcome = run(tmp_path, regime_classifier=True)
        counts = report_risk(outcome)["regime_counts"]
        assert counts["warmup"]["bars"] == 50
        assert sum(c["bars"] for c in counts.values()) == 400
        assert rejection_rules(outcome) == Counter()


class TestSectorCapsFromSettings:
    def test_a_sector_cap_binds_on_the_sector_it_names(self, tmp_path):
        outcome = run(
            tmp_path,
            group_limits="sector:TECH=20000",
            symbol_sectors="SYN_A=TECH,SYN_B=TECH",
        )
        refused = [
            o
            for o in outcome.result.orders
            if o.reject_reason and "max_sector_exposure" in o.reject_reason
        ]
        assert refused
        assert {o.symbol for o in refused} <= {"SYN_A", "SYN_B"}


class TestBetaCapFromSettings:
    def test_a_beta_cap_against_a_named_benchmark_refuses_orders(self, tmp_path):
        outcome = run(tmp_path, max_beta_exposure=30_000.0, beta_benchmark="SYN_B")
        assert rejection_rules(outcome)["max_beta_exposure"] > 0

    def test_a_benchmark_outside_the_run_is_a_config_error_naming_the_variable(self, tmp_path):
        with pytest.raises(ConfigError, match="EMP_BETA_BENCHMARK"):
            run(tmp_path, max_beta_exposure=30_000.0, beta_benchmark="NOPE")
