"""Series, features, targets and data hashes for the signal models."""

from __future__ import annotations

import numpy as np
import pytest

from emp.adapters.torch_ssd.config import InvalidModelConfig
from emp.adapters.torch_ssd.dataset import (
    Normalization,
    bar_features,
    data_hash,
    next_bar_targets,
    regime_ar_returns,
    return_features,
)
from emp.ports.signal_model import SignalModelError


class TestRegimeARSeries:
    def test_the_same_seed_gives_the_same_series_and_another_seed_another(self):
        a, regimes_a = regime_ar_returns(500, 3)
        b, regimes_b = regime_ar_returns(500, 3)
        c, _ = regime_ar_returns(500, 4)
        assert np.array_equal(a, b) and np.array_equal(regimes_a, regimes_b)
        assert not np.array_equal(a, c)

    def test_a_long_series_visits_every_regime_with_their_autocorrelation_signs(self):
        returns, regimes = regime_ar_returns(20_000, 1)
        assert set(np.unique(regimes)) == {0, 1, 2}
        lagged = returns[:-1] - returns.mean(), returns[1:] - returns.mean()
        same = regimes[:-1] == regimes[1:]
        trending = same & (regimes[1:] == 0)
        reverting = same & (regimes[1:] == 1)
        assert np.corrcoef(lagged[0][trending], lagged[1][trending])[0, 1] > 0.25
        assert np.corrcoef(lagged[0][reverting], lagged[1][reverting])[0, 1] < -0.25

    def test_bad_lengths_and_seeds_are_refused(self):
        with pytest.raises(InvalidModelConfig, match="n must be an integer >= 2"):
            regime_ar_returns(1, 0)
        with pytest.raises(InvalidModelConfig, match="seed must be an integer >= 0"):
            regime_ar_returns(10, -1)


class TestFeaturesAndTargets:
    def test_targets_are_the_next_bar_return_of_each_feature_row(self):
        returns = np.array([0.01, -0.02, 0.03, 0.04])
        features, targets = next_bar_targets(return_features(returns), returns)
        assert features[:, 0].tolist() == [0.01, -0.02, 0.03]
        assert targets.tolist() == [-0.02, 0.03, 0.04]

    def test_bar_features_describe_each_bar_from_its_own_and_earlier_values(self):
        close = np.array([10.0, 11.0, 9.9])
        features, returns = bar_features(close, close * 1.1, close * 0.9, np.array([1e5, 2e5, 1e5]))
        assert features.shape == (2, 3)
        assert np.allclose(returns, np.log([1.1, 0.9]))
        assert np.allclose(features[:, 1], np.log(1.1 / 0.9))
        assert np.allclose(features[:, 2], [np.log(2), -np.log(2)])

    def test_non_finite_inputs_are_refused(self):
        with pytest.raises(SignalModelError, match="expected finite returns"):
            return_features(np.array([0.1, np.nan]))

    def test_mismatched_lengths_are_refused(self):
        with pytest.raises(SignalModelError, match="one equal length"):
            bar_features(np.ones(4), np.ones(4), np.ones(3), np.ones(4))


class TestHashAndNormalization:
    def test_the_hash_changes_with_any_value_or_shape(self):
        features, targets = np.ones((4, 2)), np.zeros(4)
        digest = data_hash(features, targets)
        assert digest == data_hash(features.copy(), targets.copy())
        changed = features.copy()
        changed[3, 1] = 1.0 + 1e-12
        assert data_hash(changed, targets) != digest
        assert data_hash(features.reshape(2, 4), targets) != digest

    def test_normalization_standardizes_the_rows_it_was_fitted_on(self):
        rng = np.random.default_rng(0)
        features = rng.normal(3.0, 2.0, size=(200, 2))
        scaled = Normalization.fit(features, rng.normal(size=200)).features(features)
        assert np.allclose(scaled.mean(axis=0), 0, atol=1e-12)
        assert np.allclose(scaled.std(axis=0), 1)

    def test_a_constant_feature_is_left_unscaled(self):
        normalization = Normalization.fit(np.ones((5, 1)), np.arange(5.0))
        assert normalization.feature_scale.tolist() == [1.0]
