"""The trainer, checkpoints, and the trained model behind the SignalModelPort."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from emp.adapters.torch_ssd.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from emp.adapters.torch_ssd.dataset import next_bar_targets, regime_ar_returns, return_features
from emp.adapters.torch_ssd.network import SignalNetConfig
from emp.adapters.torch_ssd.signal_model import TorchSignalModel
from emp.adapters.torch_ssd.trainer import TrainConfig, split_point, train_signal_net
from emp.ports.signal_model import SignalModelError, SignalModelPort

NET = SignalNetConfig(n_features=2, d_model=8, n_layers=1, head_dim=4, state_dim=4, chunk=16)
QUICK = TrainConfig(epochs=2, batches_per_epoch=4, batch_size=4, window=32, seed=5)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    returns, _ = regime_ar_returns(400, 2)
    return next_bar_targets(return_features(returns), returns)


@pytest.fixture(scope="module")
def trained(data):
    features, targets = data
    return train_signal_net(replace(NET, trapezoidal=True, rotation=True), QUICK, features, targets)


class TestTrainer:
    def test_training_with_one_seed_is_bit_identical(self, data):
        first = train_signal_net(NET, QUICK, *data)
        second = train_signal_net(NET, QUICK, *data)
        assert first.losses == second.losses
        for a, b in zip(first.net.parameters(), second.net.parameters(), strict=True):
            assert torch.equal(a, b)
        assert first.metrics == second.metrics

    def test_another_seed_trains_another_network(self, data):
        first = train_signal_net(NET, QUICK, *data)
        other = train_signal_net(NET, replace(QUICK, seed=6), *data)
        assert first.losses != other.losses

    def test_the_loss_falls_on_a_learnable_series(self, data):
        result = train_signal_net(NET, replace(QUICK, epochs=8, learning_rate=1e-2), *data)
        assert np.mean(result.losses[-4:]) < np.mean(result.losses[:4])

    def test_metrics_score_held_out_rows_against_the_naive_baseline(self, trained, data):
        metrics = trained.metrics
        assert metrics["n_train"] == split_point(len(data[1]), QUICK.test_fraction) == 299
        assert metrics["n_test"] == 100
        assert metrics["mse_ratio"] == pytest.approx(metrics["mse"] / metrics["naive_mse"])
        assert metrics["beats_naive"] == (metrics["mse"] < metrics["naive_mse"])

    def test_the_direction_task_reports_log_losses(self, data):
        result = train_signal_net(replace(NET, task="direction", backbone="lstm"), QUICK, *data)
        assert {"log_loss", "naive_log_loss", "accuracy"} <= set(result.metrics)

    def test_features_of_another_width_are_refused(self, data):
        with pytest.raises(SignalModelError, match=r"expected features of shape \(time, 3\)"):
            train_signal_net(replace(NET, n_features=3), QUICK, *data)

    def test_too_few_rows_for_a_held_out_part_are_refused(self):
        with pytest.raises(SignalModelError, match="2\\+ held-out rows"):
            split_point(5, 0.1)


class TestCheckpoints:
    def test_a_checkpoint_round_trips_weights_configs_and_data_hash(self, trained, tmp_path):
        path = save_checkpoint(
            tmp_path / "models" / "m.pt",
            trained.net,
            train_config=QUICK,
            normalization=trained.normalization,
            data_hash=trained.data_hash,
            data_spec={"series": "ar", "bars": 400, "seed": 2},
            metrics=trained.metrics,
        )
        loaded = load_checkpoint(path)
        assert loaded.net_config == trained.net.config
        assert loaded.train_config == QUICK
        assert loaded.data_hash == trained.data_hash
        assert loaded.data_spec == {"series": "ar", "bars": 400, "seed": 2}
        assert loaded.metrics["n_train"] == trained.metrics["n_train"]
        assert not loaded.net.training
        for a, b in zip(
            loaded.net.state_dict().values(), trained.net.state_dict().values(), strict=True
        ):
            assert torch.equal(a, b)

    def test_a_missing_checkpoint_is_a_named_error(self, tmp_path):
        with pytest.raises(CheckpointError, match="no checkpoint at"):
            load_checkpoint(tmp_path / "absent.pt")

    def test_a_file_that_is_not_a_checkpoint_is_a_named_error(self, tmp_path):
        path = tmp_path / "junk.pt"
        path.write_bytes(b"not a torch file")
        with pytest.raises(CheckpointError, match="cannot read the checkpoint"):
            load_checkpoint(path)

    def test_a_torch_file_of_another_format_is_refused(self, tmp_path):
        path = tmp_path / "other.pt"
        torch.save({"weights": torch.zeros(2)}, path)
        with pytest.raises(CheckpointError, match="found another format"):
            load_checkpoint(path)


class TestTheModelBehindThePort:
    def test_it_is_a_signal_model_port(self, trained):
        assert isinstance(TorchSignalModel(trained.net, trained.normalization), SignalModelPort)

    def test_predictions_are_causal(self, trained, data):
        features = data[0][:120]
        model = TorchSignalModel(trained.net, trained.normalization)
        original = model.predict(features)
        changed = features.copy()
        changed[80:] *= -3.0
        model.reset()
        again = model.predict(changed)
        assert np.array_equal(original[:80], again[:80])
        assert not np.allclose(original[80:], again[80:])

    def test_predicting_in_pieces_equals_predicting_the_whole_series(self, trained, data):
        features = data[0][:150]
        model = TorchSignalModel(trained.net, trained.normalization)
        whole = model.predict(features)
        model.reset()
        pieces = [model.predict(features[a:b]) for a, b in ((0, 70), (70, 71), (71, 150))]
        assert np.allclose(np.concatenate(pieces), whole, rtol=1e-5, atol=1e-9)

    def test_reset_starts_a_new_series(self, trained, data):
        features = data[0][:50]
        model = TorchSignalModel(trained.net, trained.normalization)
        first = model.predict(features)
        continued = model.predict(features)
        model.reset()
        assert not np.allclose(first, continued)
        assert np.array_equal(model.predict(features), first)

    def test_signals_are_predicted_returns_in_return_units(self, trained, data):
        model = TorchSignalModel(trained.net, trained.normalization)
        signals = model.predict(data[0])
        assert signals.dtype == np.float64 and signals.shape == (len(data[0]),)
        assert np.abs(signals).max() < 20 * np.abs(data[1]).max()

    def test_a_model_from_a_checkpoint_predicts_the_same_signals(self, trained, data, tmp_path):
        path = save_checkpoint(
            tmp_path / "m.pt",
            trained.net,
            train_config=QUICK,
            normalization=trained.normalization,
            data_hash=trained.data_hash,
        )
        loaded = TorchSignalModel.from_checkpoint(path)
        fresh = TorchSignalModel(trained.net, trained.normalization)
        assert np.array_equal(loaded.predict(data[0]), fresh.predict(data[0]))

    @pytest.mark.parametrize(
        "features,fragment",
        [
            (np.zeros((5, 3)), r"expected features of shape \(time, 2\), was \(5, 3\)"),
            (np.zeros(5), r"was \(5,\)"),
            (np.array([[0.0, np.nan]]), "expected finite features"),
        ],
    )
    def test_bad_features_are_refused_with_expected_and_actual(self, trained, features, fragment):
        model = TorchSignalModel(trained.net, trained.normalization)
        with pytest.raises(SignalModelError, match=fragment):
            model.predict(features)

    def test_no_rows_give_no_signals(self, trained):
        model = TorchSignalModel(trained.net, trained.normalization)
        assert model.predict(np.zeros((0, 2))).shape == (0,)
