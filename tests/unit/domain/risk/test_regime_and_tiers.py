"""Regime classification and gating, volatility tiers and their multipliers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emp.domain.errors import InvalidConfiguration
from emp.domain.regime import (
    HIGH_VOLATILITY,
    RANGE,
    TREND_DOWN,
    TREND_UP,
    WARMUP,
    RealisedVolTrendClassifier,
    RegimeClassifier,
    realised_volatility,
)
from emp.domain.risk import (
    MaxLeverage,
    MaxPosition,
    RegimeChanged,
    RegimePolicy,
    RiskManager,
    VolatilityTier,
    VolatilityTierChanged,
    VolatilityTiers,
)
from tests.unit.domain.risk.builders import BUY, SELL, account, check_input


def path(returns: np.ndarray, start: float = 100.0) -> np.ndarray:
    return start * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))


class TestRealisedVolatility:
    def test_annualises_the_standard_deviation_of_log_returns(self) -> None:
        closes = path(np.array([0.01, -0.01] * 50))
        expected = np.std([0.01, -0.01] * 50, ddof=1) * math.sqrt(252)
        assert realised_volatility(closes) == pytest.approx(expected)

    def test_is_nan_with_too_few_prices(self) -> None:
        assert math.isnan(realised_volatility(np.array([1.0, 2.0])))


class TestClassifier:
    classifier = RealisedVolTrendClassifier(window=20, high_volatility=0.5, trend_threshold=1.0)

    def test_satisfies_the_protocol(self) -> None:
        assert isinstance(self.classifier, RegimeClassifier)

    def test_short_history_is_warmup(self) -> None:
        assert self.classifier.classify(np.ones(20)) == WARMUP

    def test_labels(self) -> None:
        rng = np.random.default_rng(3)
        noise = rng.normal(0.0, 0.002, 20)
        assert self.classifier.classify(path(noise + 0.003)) == TREND_UP
        assert self.classifier.classify(path(noise - 0.003)) == TREND_DOWN
        assert self.classifier.classify(path(noise - noise.mean())) == RANGE
        assert self.classifier.classify(path(rng.normal(0.0, 0.05, 20))) == HIGH_VOLATILITY

    def test_flat_prices_are_a_range(self) -> None:
        assert self.classifier.classify(np.full(30, 50.0)) == RANGE

    def test_bad_window_is_refused(self) -> None:
        with pytest.raises(InvalidConfiguration):
            RealisedVolTrendClassifier(window=1)


class TestRegimePolicy:
    def test_strategy_overrides_beat_the_regime_default(self) -> None:
        policy = RegimePolicy(scales={"high_vol": 0.5}, per_strategy={"mr": {"high_vol": 0.0}})
        assert policy.scale_for("trend", "high_vol") == 0.5
        assert policy.scale_for("mr", "high_vol") == 0.0
        assert policy.scale_for("mr", "range") == 1.0

    def test_scales_outside_zero_one_are_refused(self) -> None:
        with pytest.raises(InvalidConfiguration):
            RegimePolicy(scales={"x": 1.5})


class TestRegimeGating:
    def manager(self) -> RiskManager:
        policy = RegimePolicy(scales={"high_vol": 0.5}, per_strategy={"mr": {"high_vol": 0.0}})
        return RiskManager(regime_policy=policy)

    def test_disabled_strategy_is_refused_in_its_regime(self) -> None:
        manager = self.manager()
        manager.on_bar(account(), regime="high_vol")
        decision = manager.check(check_input(BUY, 10, strategy="mr"))
        assert decision.reason == "regime_gate: regime 'high_vol' disables strategy 'mr'"

    def test_scaled_strategy_is_resized_and_audited(self) -> None:
        manager = self.manager()
        manager.on_bar(account(), regime="high_vol")
        decision = manager.check(check_input(BUY, 25, strategy="trend", lot_size=5))
        assert decision.quantity == 10
        assert (
            decision.reasons[0] == "regime_gate: regime 'high_vol' scales strategy 'trend' to 50%"
        )
        assert decision.reasons[-1] == "resized from 25 to 10"

    def test_reducing_orders_are_never_gated(self) -> None:
        manager = self.manager()
        manager.on_bar(account({"AAPL": 10}), regime="high_vol")
        assert manager.check(check_input(SELL, 10, position=10, strategy="mr")).approved

    def test_regime_changes_and_counts_are_kept_for_reports(self) -> None:
        manager = self.manager()
        for ts, label in enumerate(["range", "range", "high_vol"]):
            manager.on_bar(account(ts_ns=ts), regime=label)
        manager.check(check_input(BUY, 10, strategy="mr"))
        manager.check(check_input(BUY, 10, strategy="trend"))
        assert manager.regime == "high_vol"
        assert manager.regime_counts == {
            "range": {"bars": 2, "approved": 0, "resized": 0, "rejected": 0},
            "high_vol": {"bars": 1, "approved": 0, "resized": 1, "rejected": 1},
        }
        changes = [e for e in manager.audit if isinstance(e, RegimeChanged)]
        assert [(e.previous, e.current) for e in changes] == [("", "range"), ("range", "high_vol")]

    def test_classifier_labels_from_reference_closes(self) -> None:
        manager = RiskManager(classifier=RealisedVolTrendClassifier(window=10))
        manager.on_bar(account(), reference_closes=np.full(5, 10.0))
        assert manager.regime == WARMUP


class TestVolatilityTiers:
    tiers = VolatilityTiers.from_table([(0.0, 1.0, 1.0), (0.2, 0.5, 0.8), (0.4, 0.25, 0.5)])

    def test_tier_is_the_highest_whose_floor_is_reached(self) -> None:
        assert self.tiers.tier_for(0.1).name == "tier0"
        assert self.tiers.tier_for(0.2).name == "tier1"
        assert self.tiers.tier_for(0.9).name == "tier2"
        assert self.tiers.tier_for(math.nan).name == "tier0"

    @pytest.mark.parametrize(
        "tiers",
        [
            [],
            [VolatilityTier(name="a", min_volatility=0.1)],
            [
                VolatilityTier(name="a", min_volatility=0.0),
                VolatilityTier(name="a", min_volatility=0.2),
            ],
            [
                VolatilityTier(name="a", min_volatility=0.0),
                VolatilityTier(name="b", min_volatility=0.0),
            ],
        ],
    )
    def test_inconsistent_tables_are_refused(self, tiers) -> None:
        with pytest.raises(InvalidConfiguration):
            VolatilityTiers(tiers)

    def test_tier_scales_position_and_leverage_limits(self) -> None:
        manager = RiskManager(rules=[MaxPosition(100), MaxLeverage(2.0)], tiers=self.tiers)
        manager.on_bar(account(), realised_volatility=0.3)
        assert manager.volatility_tier.name == "tier1"
        assert manager.check(check_input(BUY, 50)).approved
        assert "limit is 50" in manager.check(check_input(BUY, 51, symbol="X")).reason
        lev = manager.check(check_input(BUY, 17, symbol="Y", equity=1_000.0))
        assert "limit is 1.60x" in lev.reason

    def test_tier_changes_are_audited_once_per_change(self) -> None:
        manager = RiskManager(tiers=self.tiers)
        for ts, vol in enumerate([0.1, 0.3, 0.31, 0.5, 0.1]):
            manager.on_bar(account(ts_ns=ts), realised_volatility=vol)
        changes = [e for e in manager.audit if isinstance(e, VolatilityTierChanged)]
        assert [(e.ts_ns, e.previous, e.current) for e in changes] == [
            (1, "tier0", "tier1"),
            (3, "tier1", "tier2"),
            (4, "tier2", "tier0"),
        ]

    def test_tier_is_measured_on_the_reference_closes(self) -> None:
        manager = RiskManager(tiers=self.tiers, vol_window=20)
        rng = np.random.default_rng(5)
        manager.on_bar(account(), reference_closes=path(rng.normal(0, 0.04, 60)))
        assert manager.volatility_tier.name == "tier2"
        assert manager.to_dict()["volatility_tier"]["realised_volatility"] > 0.4
