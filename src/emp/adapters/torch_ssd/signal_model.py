"""TorchSignalModel: a trained SignalNet (SSD or LSTM backbone) behind the SignalModelPort."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from emp.adapters.torch_ssd.checkpoint import load_checkpoint
from emp.adapters.torch_ssd.dataset import Normalization
from emp.adapters.torch_ssd.network import SignalNet
from emp.ports.signal_model import SignalModelError


class TorchSignalModel:
    """A :class:`~emp.ports.signal_model.SignalModelPort` over a trained :class:`SignalNet`.

    ``predict`` continues from the state left by the previous call, so feeding a series in
    pieces (down to one bar at a time) gives the same signals as one call on the whole;
    ``reset`` starts a new series. Signals are, for the "return" task, the predicted next
    bar log return and, for the "direction" task, ``2·P(up) - 1`` in (-1, 1). Features are
    (time, n_features) rows as the model was trained on; they are normalized here. On CPU
    the SSD blocks run their compiled inference kernels: one bar per call takes the fused
    step (tens of microseconds per block at d_model 256), longer pieces the scan.
    """

    def __init__(self, net: SignalNet, normalization: Normalization) -> None:
        n = net.config.n_features
        if normalization.feature_mean.shape != (n,) or normalization.feature_scale.shape != (n,):
            raise SignalModelError(
                f"expected a normalization for {n} features, was one for "
                f"{normalization.feature_mean.shape[0]}"
            )
        self._net = net.eval()
        self._normalization = normalization
        self._states: list[object] | None = None

    @classmethod
    def from_checkpoint(cls, path: Path) -> TorchSignalModel:
        checkpoint = load_checkpoint(path)
        return cls(checkpoint.net, checkpoint.normalization)

    @property
    def n_features(self) -> int:
        return self._net.config.n_features

    def predict(self, features: np.ndarray) -> np.ndarray:
        """(time, n_features) -> (time,) float64 signals; row t uses rows <= t only."""
        array = np.asarray(features, dtype=np.float64)
        if array.ndim != 2 or array.shape[1] != self.n_features:
            raise SignalModelError(
                f"expected features of shape (time, {self.n_features}), was {array.shape}"
            )
        if not np.all(np.isfinite(array)):
            raise SignalModelError("expected finite features, found NaN or infinity")
        if array.shape[0] == 0:
            return np.zeros(0)
        parameter = next(self._net.parameters())
        x = torch.as_tensor(self._normalization.features(array), dtype=parameter.dtype)
        with torch.inference_mode():
            output, self._states = self._net.stream(x[None].to(parameter.device), self._states)
        raw = output[0].double().cpu().numpy()
        if self._net.config.task == "return":
            return raw * self._normalization.target_scale
        return np.tanh(raw / 2.0)  # 2·sigmoid(z) - 1

    def reset(self) -> None:
        self._states = None
