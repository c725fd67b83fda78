"""SignalNet: features -> a stack of SSD (or LSTM) blocks -> one signal per bar."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

import torch
from torch import Tensor, nn

from emp.adapters.torch_ssd.blocks import LSTMBlock, SSDBlock
from emp.adapters.torch_ssd.config import InvalidModelConfig, SSDConfig
from emp.ports.signal_model import SignalModelError

Backbone = Literal["ssd", "lstm"]
Task = Literal["return", "direction"]
BACKBONES: tuple[str, ...] = ("ssd", "lstm")
TASKS: tuple[str, ...] = ("return", "direction")


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalNetConfig:
    """A signal network: ``n_layers`` residual blocks of width ``d_model`` between an input
    map from ``n_features`` and a one-number head.

    ``backbone`` "ssd" uses :class:`SSDBlock` with the SSD fields below; "lstm" uses
    :class:`LSTMBlock` sized to the same parameter count as the SSD block would have.
    ``task`` "return" regresses the next bar's (scaled) return; "direction" predicts the
    logit of an up move.
    """

    n_features: int
    d_model: int = 32
    n_layers: int = 2
    backbone: Backbone = "ssd"
    task: Task = "return"
    head_dim: int = 16
    state_dim: int = 16
    n_heads: int | None = None
    n_groups: int = 1
    chunk: int = 64
    trapezoidal: bool = False
    rotation: bool = False
    data_dependent_decay: bool = False

    def __post_init__(self) -> None:
        for name in ("n_features", "n_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidModelConfig(f"{name} must be an integer >= 1, was {value!r}")
        if self.backbone not in BACKBONES:
            raise InvalidModelConfig(
                f"backbone must be one of {', '.join(BACKBONES)}, was {self.backbone!r}"
            )
        if self.task not in TASKS:
            raise InvalidModelConfig(f"task must be one of {', '.join(TASKS)}, was {self.task!r}")
        self.ssd_config()  # validates the SSD fields (the LSTM is sized from them too)

    def ssd_config(self) -> SSDConfig:
        return SSDConfig(
            d_model=self.d_model,
            head_dim=self.head_dim,
            state_dim=self.state_dim,
            n_heads=self.n_heads,
            n_groups=self.n_groups,
            chunk=self.chunk,
            trapezoidal=self.trapezoidal,
            rotation=self.rotation,
            data_dependent_decay=self.data_dependent_decay,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SignalNetConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidModelConfig(
                f"unknown network config keys {unknown}; expected some of {sorted(known)}"
            )
        return cls(**values)


class SignalNet(nn.Module):
    """(batch, time, n_features) -> (batch, time) signals, causal and streamable."""

    def __init__(self, config: SignalNetConfig) -> None:
        super().__init__()
        self.config = config
        ssd = config.ssd_config()
        self.embed = nn.Linear(config.n_features, config.d_model)
        blocks: list[nn.Module] = [
            SSDBlock(ssd) if config.backbone == "ssd" else LSTMBlock.matching(ssd)
            for _ in range(config.n_layers)
        ]
        self.blocks = nn.ModuleList(blocks)
        self.norm = nn.RMSNorm(config.d_model)
        self.head = nn.Linear(config.d_model, 1)

    def forward(self, features: Tensor) -> Tensor:
        return self.stream(features, None)[0]

    def initial_state(self, batch: int) -> list[object]:
        return [block.initial_state(batch) for block in self.blocks]

    def stream(self, features: Tensor, states: list[object] | None) -> tuple[Tensor, list[object]]:
        """Signals for (batch, time, n_features) continuing from ``states`` (one per block)."""
        n = self.config.n_features
        if not isinstance(features, Tensor) or features.dim() != 3 or features.shape[-1] != n:
            shape = tuple(features.shape) if isinstance(features, Tensor) else type(features)
            raise SignalModelError(f"expected features of shape (batch, time, {n}), was {shape}")
        if states is None:
            states = [None] * len(self.blocks)
        if len(states) != len(self.blocks):
            raise SignalModelError(f"expected {len(self.blocks)} block states, was {len(states)}")
        x = self.embed(features)
        new_states = []
        for block, state in zip(self.blocks, states, strict=True):
            x, state = block.stream(x, state)
            new_states.append(state)
        return self.head(self.norm(x))[..., 0], new_states


def build_signal_net(config: SignalNetConfig, seed: int) -> SignalNet:
    """A freshly initialised network; the same config and seed give identical weights.

    Initialises under :func:`torch.random.fork_rng`, so torch's global generator is left
    as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SignalNet(config)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
