"""Random SSD inputs for the tests, from an explicit seed."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from emp.adapters.torch_ssd.ssd_core import SSDState


@dataclass(frozen=True)
class Shape:
    batch: int
    length: int
    groups: int
    heads_per_group: int
    head_dim: int
    state_dim: int

    @property
    def heads(self) -> int:
        return self.groups * self.heads_per_group


def random_inputs(
    shape: Shape,
    seed: int,
    *,
    trapezoidal: bool = False,
    rotation: bool = False,
    data_dependent_decay: bool = False,
    dtype: torch.dtype = torch.float64,
) -> dict:
    """Keyword arguments for ssd_chunked/ssd_naive (minus chunk), with a random start state."""
    g = torch.Generator().manual_seed(seed)
    b, t, h, p, n, grp = (
        shape.batch,
        shape.length,
        shape.heads,
        shape.head_dim,
        shape.state_dim,
        shape.groups,
    )

    def randn(*size: int) -> torch.Tensor:
        return torch.randn(*size, generator=g, dtype=torch.float64)

    if data_dependent_decay:
        A = -F.softplus(randn(b, t, h))
    else:
        A = -(torch.rand(h, generator=g, dtype=torch.float64) + 0.1)
    inputs = {
        "x": randn(b, t, h, p),
        "dt": F.softplus(randn(b, t, h)) * 0.5,
        "A": A,
        "B": randn(b, t, grp, n),
        "C": randn(b, t, grp, n),
        "lam": torch.sigmoid(randn(b, t, h)) if trapezoidal else None,
        "theta": math.pi * torch.tanh(randn(b, t, grp, n // 4)) if rotation else None,
    }
    state = SSDState(
        randn(b, h, p, n),
        randn(b, h, p) if trapezoidal else None,
        randn(b, grp, n) if trapezoidal else None,
    )
    inputs = {k: (None if v is None else v.to(dtype)) for k, v in inputs.items()}
    parts = (state.h, state.x_prev, state.B_prev)
    inputs["state"] = SSDState(*(None if v is None else v.to(dtype) for v in parts))
    return inputs
