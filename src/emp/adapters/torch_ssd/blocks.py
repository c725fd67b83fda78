"""Drop-in residual blocks: the SSD block and an LSTM baseline of matched parameter count.

Both map (batch, seq, d_model) -> (batch, seq, d_model) as ``x + mixer(RMSNorm(x))`` (a
pre-norm residual block, like a transformer's MLP block), keep the input's dtype and
device, and stream: ``stream(x, state)`` continues from a state and ``step(x_t, state)``
does one new time step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from emp.adapters.torch_ssd.config import SSDConfig
from emp.adapters.torch_ssd.mixer import (
    Method,
    SSDMixer,
    check_like_parameters,
    projection_layout,
)
from emp.adapters.torch_ssd.ssd_core import SSDState
from emp.ports.signal_model import SignalModelError

if TYPE_CHECKING:
    from emp.adapters.torch_ssd.fast_step import FusedStepper


class SSDBlock(nn.Module):
    """``x + SSDMixer(RMSNorm(x))``: the SSD as a drop-in replacement for an MLP block."""

    def __init__(self, config: SSDConfig) -> None:
        super().__init__()
        self.d_model = config.d_model
        self.norm = nn.RMSNorm(config.d_model, eps=config.norm_eps)
        self.mixer = SSDMixer(config)
        self._fused: FusedStepper | None = None  # the fused step's kernel, built lazily

    def forward(self, x: Tensor) -> Tensor:
        return self.stream(x, None)[0]

    def initial_state(self, batch: int) -> SSDState:
        return self.mixer.initial_state(batch)

    def stream(
        self, x: Tensor, state: SSDState | None = None, *, method: Method = "auto"
    ) -> tuple[Tensor, SSDState]:
        """(batch, seq, d_model) from ``state`` (zeros when ``None``) -> (y, last state).

        ``method`` is the mixer's (``"auto"``: the compiled scan in CPU inference, else the
        chunked form). A one-step sequence (streaming bar by bar) goes through
        :meth:`step`, so it takes the fused step kernel in inference; every method computes
        the same recurrence.
        """
        self.mixer._check_input(x, 3)
        if x.shape[1] == 1 and method == "auto":
            y, state = self.step(x[:, 0], state)
            return y[:, None], state
        y, state = self.mixer(self.norm(x), state, method=method)
        return x + y, state

    def step(self, x: Tensor, state: SSDState | None = None) -> tuple[Tensor, SSDState]:
        """One time step: (batch, d_model) -> ((batch, d_model), new state).

        In inference on CPU (float32/64, no gradient needed) the whole block step is one
        fused kernel (:mod:`~emp.adapters.torch_ssd.fast_step`); elsewhere
        :meth:`general_step`. Both give the same numbers to rounding.
        """
        fused = self._fused
        if fused is not None and state is not None:
            result = fused.try_step(x, state)
            if result is not None:
                return result
        mixer = self.mixer
        mixer._check_input(x, 2)
        if state is None:
            state = mixer.initial_state(x.shape[0])
        mixer._check_state(state, x.shape[0])
        if fused is None or not fused.current():
            self._fused = fused = mixer.build_stepper(self.norm)
        result = None if fused is None else fused.try_step(x, state)
        return result if result is not None else self.general_step(x, state)

    def general_step(self, x: Tensor, state: SSDState) -> tuple[Tensor, SSDState]:
        """The eager-torch step (any device, autograd): the reference for the fused one."""
        y, state = self.mixer.general_step(
            F.rms_norm(x, (self.d_model,), self.norm.weight, self.norm.eps), state
        )
        return x + y, state


@dataclass(frozen=True, slots=True)
class LSTMState:
    """The LSTM's hidden and cell state, each (1, batch, hidden)."""

    h: Tensor
    c: Tensor

    def detach(self) -> LSTMState:
        return LSTMState(self.h.detach(), self.c.detach())


class LSTMBlock(nn.Module):
    """``x + Linear(LSTM(RMSNorm(x)))``: the baseline, same interface as :class:`SSDBlock`.

    :meth:`matching` sizes the hidden layer so the parameter count matches an SSD block.
    """

    def __init__(self, d_model: int, hidden: int, *, norm_eps: float = 1e-5) -> None:
        super().__init__()
        if hidden < 1 or d_model < 1:
            raise SignalModelError(
                f"expected d_model >= 1 and hidden >= 1, was d_model={d_model}, hidden={hidden}"
            )
        self.d_model = d_model
        self.hidden = hidden
        self.norm = nn.RMSNorm(d_model, eps=norm_eps)
        self.lstm = nn.LSTM(d_model, hidden, batch_first=True)
        self.out_proj = nn.Linear(hidden, d_model, bias=False)

    @classmethod
    def matching(cls, config: SSDConfig) -> LSTMBlock:
        """An LSTM block with as many parameters as ``SSDBlock(config)`` (nearest hidden)."""
        target = ssd_block_parameter_count(config)
        return cls(
            config.d_model, matched_lstm_hidden(target, config.d_model), norm_eps=config.norm_eps
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.stream(x, None)[0]

    def initial_state(self, batch: int) -> LSTMState:
        weight = self.out_proj.weight
        zeros = torch.zeros(1, batch, self.hidden, dtype=weight.dtype, device=weight.device)
        return LSTMState(zeros, zeros.clone())

    def stream(self, x: Tensor, state: LSTMState | None = None) -> tuple[Tensor, LSTMState]:
        self._check(x, 3)
        state = state or self.initial_state(x.shape[0])
        if x.shape[1] == 0:
            return x, state
        out, (h, c) = self.lstm(self.norm(x), (state.h, state.c))
        return x + self.out_proj(out), LSTMState(h, c)

    def step(self, x: Tensor, state: LSTMState | None = None) -> tuple[Tensor, LSTMState]:
        self._check(x, 2)
        y, state = self.stream(x[:, None], state)
        return y[:, 0], state

    def _check(self, x: Tensor, dims: int) -> None:
        if not isinstance(x, Tensor) or x.dim() != dims or x.shape[-1] != self.d_model:
            want = f"(batch, seq, {self.d_model})" if dims == 3 else f"(batch, {self.d_model})"
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise SignalModelError(f"expected input of shape {want}, was {shape}")
        check_like_parameters(x, self.out_proj.weight)


def ssd_block_parameter_count(config: SSDConfig) -> int:
    """Parameters of ``SSDBlock(config)``, computed without building it."""
    width = config.n_groups * projection_layout(config).group_width
    per_head = 3  # dt_bias, D, and A_log or a_bias
    return (
        config.d_model * width
        + config.d_inner * config.d_model
        + per_head * config.heads
        + config.d_model  # RMSNorm weight
    )


def lstm_block_parameter_count(d_model: int, hidden: int) -> int:
    """Parameters of ``LSTMBlock(d_model, hidden)``."""
    lstm = 4 * hidden * (d_model + hidden) + 8 * hidden
    return lstm + hidden * d_model + d_model


def matched_lstm_hidden(target: int, d_model: int) -> int:
    """The hidden size whose LSTM block parameter count is nearest ``target``."""
    hidden = 1
    while lstm_block_parameter_count(d_model, hidden + 1) <= target:
        hidden += 1
    above = hidden + 1
    if abs(lstm_block_parameter_count(d_model, above) - target) < abs(
        lstm_block_parameter_count(d_model, hidden) - target
    ):
        return above
    return hidden
