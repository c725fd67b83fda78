"""SSD vs LSTM on one synthetic series: both learn, both beat the naive baseline, and the
comparison is reported as it comes out (run with ``-s`` to see the table).

The series is the regime-switching AR(1) process with a slow latent drift of
``emp.adapters.torch_ssd.dataset.regime_ar_returns``: the AR coefficient flips sign with
the hidden regime, so the next return is predictable only by inferring the regime from
recent history. Both networks have two blocks of width 32 with matched parameter counts,
the same training budget, seed and held-out rows (the last quarter).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from emp.adapters.torch_ssd.dataset import next_bar_targets, regime_ar_returns, return_features
from emp.adapters.torch_ssd.network import SignalNetConfig, build_signal_net, parameter_count
from emp.adapters.torch_ssd.trainer import TrainConfig, train_signal_net

SSD = SignalNetConfig(n_features=2, d_model=32, n_layers=2, head_dim=16, state_dim=16)
LSTM = replace(SSD, backbone="lstm")
BUDGET = TrainConfig(epochs=12, batches_per_epoch=16, batch_size=16, window=256, seed=0)


def comparison_report(results: dict[str, dict]) -> str:
    lines = [f"{'model':<6} {'params':>7} {'mse/naive':>10} {'accuracy':>9} {'ic':>7}"]
    for name, metrics in results.items():
        lines.append(
            f"{name:<6} {metrics['parameters']:>7} {metrics['mse_ratio']:>10.4f} "
            f"{metrics['accuracy']:>9.3f} {metrics['ic']:>7.3f}"
        )
    winner = min(results, key=lambda name: results[name]["mse_ratio"])
    loser = max(results, key=lambda name: results[name]["mse_ratio"])
    lines.append(
        f"{winner} wins on held-out mean squared error "
        f"({results[winner]['mse_ratio']:.4f} vs {results[loser]['mse_ratio']:.4f} of the naive "
        "baseline's)"
    )
    return "\n".join(lines)


@pytest.mark.slow
def test_ssd_and_lstm_both_beat_the_naive_baseline_and_the_winner_is_reported(record_property):
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        returns, _ = regime_ar_returns(6000, 7)
        features, targets = next_bar_targets(return_features(returns), returns)
        results = {}
        for name, config in (("ssd", SSD), ("lstm", LSTM)):
            trained = train_signal_net(config, BUDGET, features, targets)
            results[name] = {
                **trained.metrics,
                "parameters": parameter_count(trained.net),
                "first_loss": trained.losses[0],
                "last_loss": trained.losses[-1],
            }
    finally:
        torch.set_num_threads(previous)

    report = comparison_report(results)
    print("\n" + report)
    record_property("ssd_vs_lstm", report)

    n_ssd, n_lstm = (parameter_count(build_signal_net(c, 0)) for c in (SSD, LSTM))
    assert abs(n_ssd - n_lstm) / n_ssd < 0.05  # matched sizes
    ssd, lstm = results["ssd"], results["lstm"]
    assert ssd["naive_mse"] == lstm["naive_mse"]  # the same held-out rows and baseline
    for name, metrics in results.items():
        assert metrics["last_loss"] < metrics["first_loss"], f"{name} did not train"
        assert metrics["mse_ratio"] < 0.97, f"{name} does not beat the naive baseline"
        assert metrics["accuracy"] > metrics["naive_accuracy"] + 0.03, name
        assert metrics["ic"] > 0.15, name
    assert report.splitlines()[-1].startswith(
        "ssd wins" if ssd["mse_ratio"] < lstm["mse_ratio"] else "lstm wins"
    )
