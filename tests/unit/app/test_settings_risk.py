"""The market-data risk settings: compact strings parsed strictly, mapped onto RiskConfig,
and the rolling windows the engine keeps for them."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emp.app.demo import market_feed_from, risk_config_from
from emp.app.errors import ConfigError
from emp.app.market_windows import MarketFeed, MarketWindows, _Ring
from emp.app.settings import load_settings
from emp.domain.bars import Bar
from emp.domain.errors import InvalidConfiguration
from emp.domain.risk import build_risk_manager

SYMBOLS = ("SYN_A", "SYN_B", "SYN_C")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for key in list(os.environ):
        if key.startswith("EMP_"):
            monkeypatch.delenv(key)


class TestBadStringsAreConfigErrorsNamingTheVariable:
    @pytest.mark.parametrize(
        ("variable", "value", "message"),
        [
            ("EMP_VOLATILITY_TIERS", "0:1", "min_vol:position_mult:leverage_mult"),
            ("EMP_VOLATILITY_TIERS", "0:1:x", "expected a number for leverage_mult"),
            ("EMP_VOLATILITY_TIERS", "0.1:1:1", "must start at 0"),
            ("EMP_VOLATILITY_TIERS", "0:1:1,0.2:0:1", "position_multiplier must be > 0"),
            ("EMP_VOLATILITY_TIERS", "0:1:1,inf:1:1", "finite number"),
            ("EMP_REGIME_SCALES", "crisis:0", "expected a regime among"),
            ("EMP_REGIME_SCALES", "range:1.5", r"in \[0, 1\]"),
            ("EMP_REGIME_SCALES", "range", "expected regime:scale"),
            ("EMP_REGIME_SCALES", "range:0,range:1", "given twice"),
            ("EMP_GROUP_LIMITS", "TECH=100", "expected grouping:group=limit"),
            ("EMP_GROUP_LIMITS", "industry:X=100", "expected a grouping among"),
            ("EMP_GROUP_LIMITS", "currency:EUR=-5", "expected a cap > 0"),
            ("EMP_SYMBOL_SECTORS", "SYN_A", "expected SYMBOL=GROUP"),
            ("EMP_SYMBOL_CURRENCIES", "SYN_A=EUR,SYN_A=GBP", "given twice"),
            ("EMP_VAR_METHOD", "montecarlo", "historical"),
            ("EMP_VAR_CONFIDENCE", "1.5", "less than 1"),
            ("EMP_VAR_WINDOW", "1", "greater than or equal to 2"),
        ],
    )
    def test_a_bad_value_names_the_variable_and_what_was_expected(
        self, monkeypatch, variable, value, message
    ):
        monkeypatch.setenv(variable, value)
        with pytest.raises(ConfigError, match=variable) as raised:
            load_settings()
        assert raised.match(message)

    def test_sector_caps_without_a_sector_mapping_are_refused(self):
        with pytest.raises(ConfigError, match="EMP_SYMBOL_SECTORS is empty"):
            load_settings(group_limits="sector:TECH=100000")


class TestMappingOntoRiskConfig:
    def test_every_market_setting_reaches_the_risk_config(self):
        settings = load_settings(
            max_var=5_000.0,
            var_method="parametric",
            var_confidence=0.95,
            var_window=60,
            max_beta_exposure=1e5,
            volatility_tiers="0:1:1, 0.15:0.5:0.5 ,0.3:0.25:0.1",
            vol_window=10,
            regime_classifier=True,
            regime_scales="high_vol:0,trend_down:0.5",
            group_limits="sector:TECH=100000,sector:*=250000,currency:EUR=50000",
            symbol_sectors="SYN_A=TECH,SYN_B=ENERGY",
            symbol_currencies="SYN_C=EUR",
        )
        config = risk_config_from(settings)
        assert (config.max_var, config.var_method, config.var_confidence) == (
            5_000.0,
            "parametric",
            0.95,
        )
        assert (config.var_window, config.max_beta_exposure, config.vol_window) == (60, 1e5, 10)
        assert config.volatility_tiers == ((0.0, 1.0, 1.0), (0.15, 0.5, 0.5), (0.3, 0.25, 0.1))
        assert config.regime_classifier is True
        assert dict(config.regime_scales) == {"high_vol": 0.0, "trend_down": 0.5}
        assert config.group_limits == {"sector": {"TECH": 1e5}, "currency": {"EUR": 5e4}}
        assert config.group_default_limits == {"sector": 2.5e5}
        assert config.groupings == {"sector": {"SYN_A": "TECH", "SYN_B": "ENERGY"}}
        assert config.currencies == {"SYN_C": "EUR"}
        names = {rule.name for rule in build_risk_manager(config).rules}
        assert {
            "max_var_parametric",
            "max_beta_exposure",
            "max_sector_exposure",
            "max_currency_exposure",
        } <= names

    def test_defaults_turn_none_of_the_market_rules_on(self):
        config = risk_config_from(load_settings())
        assert config.max_var is None and config.max_beta_exposure is None
        assert config.volatility_tiers == () and not config.regime_scales
        assert not config.group_limits and not config.group_default_limits


class TestMarketFeedFromSettings:
    def feed(self, **settings):
        loaded = load_settings(**settings)
        return market_feed_from(loaded, risk_config_from(loaded), SYMBOLS)

    def test_no_market_rule_means_no_windows_to_keep(self):
        assert self.feed(max_gross_exposure=1e6) is None

    def test_a_var_cap_keeps_var_window_returns_without_a_reference(self):
        feed = self.feed(max_var=1e4, var_window=30)
        assert (feed.return_window, feed.benchmark, feed.reference_window) == (30, None, 0)

    def test_a_beta_cap_benchmarks_against_the_first_symbol_unless_named(self):
        assert self.feed(max_beta_exposure=1e4).benchmark == "SYN_A"
        assert self.feed(max_beta_exposure=1e4, beta_benchmark="SYN_C").benchmark == "SYN_C"

    def test_tiers_and_the_classifier_keep_enough_reference_closes_for_both(self):
        feed = self.feed(volatility_tiers="0:1:1", vol_window=10, regime_classifier=True)
        assert (feed.return_window, feed.reference, feed.reference_window) == (0, "SYN_A", 51)

    def test_an_unknown_benchmark_is_a_config_error_naming_the_variable(self):
        with pytest.raises(ConfigError, match="EMP_BETA_BENCHMARK.*was 'SPY'"):
            self.feed(max_beta_exposure=1e4, beta_benchmark="SPY")


class TestRollingWindows:
    @given(st.integers(1, 8), st.lists(st.floats(-1e6, 1e6), max_size=40))
    def test_a_ring_holds_exactly_the_last_capacity_values_oldest_first(self, capacity, values):
        ring = _Ring(capacity)
        for value in values:
            ring.append(value)
        assert ring.view().tolist() == values[-capacity:]
        assert len(ring) == min(capacity, len(values))

    def test_windows_turn_closes_into_returns_with_nan_for_symbols_without_a_bar(self):
        windows = MarketWindows(
            MarketFeed(
                symbols=("A", "B"),
                return_window=2,
                benchmark="B",
                reference_window=3,
                reference="A",
            )
        )
        assert windows.history() is None and windows.reference_closes() is None
        for step, closes in enumerate(
            ({"A": 100.0, "B": 10.0}, {"A": 110.0}, {"A": 99.0, "B": 11.0})
        ):
            windows.observe(
                [
                    Bar(symbol=s, ts_ns=step, open=c, high=c, low=c, close=c, volume=1.0)
                    for s, c in closes.items()
                ]
            )
        history = windows.history()
        np.testing.assert_allclose(history.returns, [[0.1, np.nan], [-0.1, 0.1]])
        np.testing.assert_allclose(history.benchmark, [np.nan, 0.1])
        assert windows.reference_closes().tolist() == [100.0, 110.0, 99.0]

    def test_a_benchmark_outside_the_symbols_is_refused(self):
        with pytest.raises(InvalidConfiguration, match="expected the benchmark symbol"):
            MarketFeed(symbols=("A",), return_window=5, benchmark="B")
