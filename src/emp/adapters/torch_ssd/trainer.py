"""A small trainer: next-bar return (or direction) from causal features, and its evaluation.

Training sees only the first ``1 - test_fraction`` of the rows, in random windows drawn
from a seeded ``torch.Generator``. Evaluation runs the network causally over the whole
series (the training rows are context only) and scores the held-out rows against a naive
baseline fitted on the training rows: the training mean return (or the training up-move
frequency for the direction task).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from emp.adapters.torch_ssd.config import InvalidModelConfig
from emp.adapters.torch_ssd.dataset import Normalization, data_hash
from emp.adapters.torch_ssd.network import SignalNet, SignalNetConfig, build_signal_net
from emp.ports.signal_model import SignalModelError

#: ``on_progress(batches_done, batches_total, last_loss)``
ProgressCallback = Callable[[int, int, float], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainConfig:
    """How to train.

    Attributes:
        epochs: passes of ``batches_per_epoch`` batches.
        batches_per_epoch: batches per epoch.
        batch_size: windows per batch.
        window: window length in bars (shortened to the training rows if longer).
        learning_rate, weight_decay: AdamW settings.
        grad_clip: maximum gradient norm.
        test_fraction: share of the rows, at the end, held out from training.
        seed: seeds the initial weights and the window draws.
    """

    epochs: int = 20
    batches_per_epoch: int = 16
    batch_size: int = 16
    window: int = 128
    learning_rate: float = 3e-3
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    test_fraction: float = 0.25
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("epochs", "batches_per_epoch", "batch_size", "window"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidModelConfig(f"{name} must be an integer >= 1, was {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InvalidModelConfig(f"seed must be an integer >= 0, was {self.seed!r}")
        for name in ("learning_rate", "grad_clip"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise InvalidModelConfig(f"{name} must be a finite number > 0, was {value!r}")
        if not (isinstance(self.weight_decay, int | float) and 0 <= self.weight_decay < 1):
            raise InvalidModelConfig(f"weight_decay must be in [0, 1), was {self.weight_decay!r}")
        if not (isinstance(self.test_fraction, int | float) and 0 < self.test_fraction < 1):
            raise InvalidModelConfig(
                f"test_fraction must be strictly between 0 and 1 (e.g. 0.25), "
                f"was {self.test_fraction!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidModelConfig(
                f"unknown training config keys {unknown}; expected some of {sorted(known)}"
            )
        return cls(**values)


@dataclass(frozen=True, slots=True)
class TrainResult:
    """A trained network with what is needed to use, save and judge it."""

    net: SignalNet
    normalization: Normalization
    losses: tuple[float, ...]
    metrics: dict[str, float | int | bool]
    n_train: int
    data_hash: str


def split_point(n_rows: int, test_fraction: float) -> int:
    """Rows before the returned index train; the rest are held out. Both sides >= 2 rows."""
    n_train = round(n_rows * (1.0 - test_fraction))
    if n_train < 2 or n_rows - n_train < 2:
        raise SignalModelError(
            f"expected enough rows for 2+ training and 2+ held-out rows with test_fraction "
            f"{test_fraction}, was {n_rows} rows"
        )
    return n_train


def train_signal_net(
    net_config: SignalNetConfig,
    train_config: TrainConfig,
    features: np.ndarray,
    targets: np.ndarray,
    *,
    on_progress: ProgressCallback | None = None,
) -> TrainResult:
    """Train a fresh network on the leading rows; evaluate it on the held-out rows."""
    features, targets = _checked(features, targets, net_config.n_features)
    n_train = split_point(len(targets), train_config.test_fraction)
    normalization = Normalization.fit(features[:n_train], targets[:n_train])
    x = torch.as_tensor(normalization.features(features[:n_train]), dtype=torch.float32)
    y = torch.as_tensor(_training_target(targets[:n_train], normalization, net_config.task))
    net = build_signal_net(net_config, train_config.seed)
    optimizer = torch.optim.AdamW(
        net.parameters(), lr=train_config.learning_rate, weight_decay=train_config.weight_decay
    )
    generator = torch.Generator().manual_seed(train_config.seed)
    window = min(train_config.window, n_train)
    total = train_config.epochs * train_config.batches_per_epoch
    losses: list[float] = []
    net.train()
    for done in range(1, total + 1):
        starts = torch.randint(
            0, n_train - window + 1, (train_config.batch_size,), generator=generator
        )
        index = starts[:, None] + torch.arange(window)
        prediction = net(x[index])
        loss = _loss(prediction, y[index], net_config.task)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), train_config.grad_clip)
        optimizer.step()
        losses.append(float(loss.detach()))
        if on_progress is not None:
            on_progress(done, total, losses[-1])
    net.eval()
    metrics = evaluate(net, normalization, features, targets, n_train)
    return TrainResult(
        net=net,
        normalization=normalization,
        losses=tuple(losses),
        metrics=metrics,
        n_train=n_train,
        data_hash=data_hash(features, targets),
    )


def predict_series(
    net: SignalNet, normalization: Normalization, features: np.ndarray
) -> np.ndarray:
    """The network's raw output for each row, in one causal pass (batch of one)."""
    parameter = next(net.parameters())
    x = torch.as_tensor(normalization.features(features), dtype=parameter.dtype)
    with torch.inference_mode():
        return net(x[None].to(parameter.device))[0].double().cpu().numpy()


def evaluate(
    net: SignalNet,
    normalization: Normalization,
    features: np.ndarray,
    targets: np.ndarray,
    n_train: int,
) -> dict[str, float | int | bool]:
    """Held-out scores of the network and of the naive baseline (rows from ``n_train``)."""
    features, targets = _checked(features, targets, net.config.n_features)
    if not 2 <= n_train <= len(targets) - 2:
        raise SignalModelError(
            f"expected n_train in [2, {len(targets) - 2}] for {len(targets)} rows, was {n_train}"
        )
    output = predict_series(net, normalization, features)[n_train:]
    train_targets, test = targets[:n_train], targets[n_train:]
    up = test > 0
    metrics: dict[str, float | int | bool] = {"n_train": n_train, "n_test": len(test)}
    if net.config.task == "return":
        predicted = output * normalization.target_scale
        naive = float(train_targets.mean())
        mse = float(np.mean((predicted - test) ** 2))
        naive_mse = float(np.mean((naive - test) ** 2))
        metrics |= {
            "mse": mse,
            "naive_mse": naive_mse,
            "mse_ratio": mse / naive_mse,
            "accuracy": float(np.mean((predicted > 0) == up)),
            "naive_accuracy": float(np.mean(up == (naive > 0))),
            "beats_naive": mse < naive_mse,
        }
    else:
        p_up = float(np.clip(np.mean(train_targets > 0), 1e-6, 1 - 1e-6))
        log_loss = float(np.mean(np.logaddexp(0.0, -output) * up + np.logaddexp(0.0, output) * ~up))
        naive_log_loss = float(-np.mean(up * math.log(p_up) + ~up * math.log(1 - p_up)))
        metrics |= {
            "log_loss": log_loss,
            "naive_log_loss": naive_log_loss,
            "accuracy": float(np.mean((output > 0) == up)),
            "naive_accuracy": float(np.mean(up == (p_up > 0.5))),
            "beats_naive": log_loss < naive_log_loss,
        }
    metrics["ic"] = _correlation(output, test)
    return metrics


def _training_target(targets: np.ndarray, normalization: Normalization, task: str) -> np.ndarray:
    if task == "return":
        return (targets / normalization.target_scale).astype(np.float32)
    return (targets > 0).astype(np.float32)


def _loss(prediction: torch.Tensor, target: torch.Tensor, task: str) -> torch.Tensor:
    if task == "return":
        return F.mse_loss(prediction, target)
    return F.binary_cross_entropy_with_logits(prediction, target)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    if a.std() < 1e-15 or b.std() < 1e-15:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def _checked(
    features: np.ndarray, targets: np.ndarray, n_features: int
) -> tuple[np.ndarray, np.ndarray]:
    features = np.asarray(features, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    if features.ndim != 2 or features.shape[1] != n_features:
        raise SignalModelError(
            f"expected features of shape (time, {n_features}), was {features.shape}"
        )
    if targets.shape != (features.shape[0],):
        raise SignalModelError(
            f"expected targets of shape ({features.shape[0]},) to match the features, "
            f"was {targets.shape}"
        )
    if not (np.all(np.isfinite(features)) and np.all(np.isfinite(targets))):
        raise SignalModelError("expected finite features and targets, found NaN or infinity")
    return features, targets
