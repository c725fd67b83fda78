"""Checkpoints: weights with the network and training config, normalization and data hash.

One file written by ``torch.save`` (atomically: a temporary file, then a rename) holding
only tensors and plain values, read back with ``torch.load(weights_only=True)`` so loading
a checkpoint never runs code from it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from emp.adapters.torch_ssd.dataset import Normalization
from emp.adapters.torch_ssd.network import SignalNet, SignalNetConfig, build_signal_net
from emp.adapters.torch_ssd.trainer import TrainConfig
from emp.ports.signal_model import SignalModelError

FORMAT = "emp-signal-net"
VERSION = 1


class CheckpointError(SignalModelError):
    """A checkpoint is missing, unreadable, of another format or inconsistent."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A loaded checkpoint: the network (in eval mode) and what it was trained with."""

    net: SignalNet
    net_config: SignalNetConfig
    train_config: TrainConfig
    normalization: Normalization
    data_hash: str
    data_spec: dict[str, Any]
    metrics: dict[str, Any]


def save_checkpoint(
    path: Path,
    net: SignalNet,
    *,
    train_config: TrainConfig,
    normalization: Normalization,
    data_hash: str,
    data_spec: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write the checkpoint to ``path`` (parents created); returns ``path``."""
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "net_config": net.config.to_dict(),
        "train_config": train_config.to_dict(),
        "normalization": normalization.to_dict(),
        "data_hash": data_hash,
        "data_spec": dict(data_spec or {}),
        "metrics": {k: _plain(v) for k, v in (metrics or {}).items()},
        "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
    }
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        torch.save(payload, temporary)
        os.replace(temporary, path)
    except OSError as error:
        raise CheckpointError(f"cannot write the checkpoint {path}: {error}") from error
    return path


def load_checkpoint(path: Path) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`; the network comes back in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path} (train one with `emp model train`)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises pickle, zip and runtime errors alike
        raise CheckpointError(f"cannot read the checkpoint {path}: {error}") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"expected an {FORMAT} checkpoint in {path}, found another format")
    if payload.get("version") != VERSION:
        raise CheckpointError(
            f"expected checkpoint version {VERSION} in {path}, was {payload.get('version')!r}"
        )
    try:
        net_config = SignalNetConfig.from_dict(payload["net_config"])
        net = build_signal_net(net_config, seed=0)  # weights replaced just below
        net.load_state_dict(payload["state_dict"])
        checkpoint = Checkpoint(
            net=net.eval(),
            net_config=net_config,
            train_config=TrainConfig.from_dict(payload["train_config"]),
            normalization=Normalization.from_dict(payload["normalization"]),
            data_hash=str(payload["data_hash"]),
            data_spec=dict(payload["data_spec"]),
            metrics=dict(payload["metrics"]),
        )
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"the checkpoint {path} is inconsistent: {error}") from error
    return checkpoint


def _plain(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return float(value)
