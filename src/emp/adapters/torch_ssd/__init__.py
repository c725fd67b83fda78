"""The signal model in torch: a Mamba-3-style SSD block, an LSTM baseline, trainer, checkpoints.

Needs the ``ml`` extra (``torch==2.13.0``). Only this package and the CLI's model commands
import torch; the domain sees the model through :class:`~emp.ports.signal_model.SignalModelPort`
(:class:`TorchSignalModel`). The math and the options are in docs/model.md.
"""

from emp.adapters.torch_ssd.blocks import LSTMBlock, LSTMState, SSDBlock
from emp.adapters.torch_ssd.checkpoint import (
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from emp.adapters.torch_ssd.config import InvalidModelConfig, SSDConfig
from emp.adapters.torch_ssd.mixer import SSDMixer
from emp.adapters.torch_ssd.network import SignalNet, SignalNetConfig, build_signal_net
from emp.adapters.torch_ssd.signal_model import TorchSignalModel
from emp.adapters.torch_ssd.ssd_core import SSDState, ssd_chunked, ssd_naive, ssd_step
from emp.adapters.torch_ssd.trainer import TrainConfig, TrainResult, evaluate, train_signal_net

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "InvalidModelConfig",
    "LSTMBlock",
    "LSTMState",
    "SSDBlock",
    "SSDConfig",
    "SSDMixer",
    "SSDState",
    "SignalNet",
    "SignalNetConfig",
    "TorchSignalModel",
    "TrainConfig",
    "TrainResult",
    "build_signal_net",
    "evaluate",
    "load_checkpoint",
    "save_checkpoint",
    "ssd_chunked",
    "ssd_naive",
    "ssd_step",
    "train_signal_net",
]
