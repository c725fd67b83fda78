"""Random SSD inputs for the tests, from an explicit seed."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from emp.adapters.torch_ssd.blocks import SSDBlock
from emp.adapters.torch_ssd.config import SSDConfig
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


# --- blocks with every parameter perturbed, for the fused kernels' tests

ALL_OPTIONS = {"trapezoidal": True, "rotation": True, "data_dependent_decay": True}

configs = st.builds(
    dict,
    d_model=st.integers(1, 12),
    head_dim=st.integers(1, 5),
    state_dim=st.sampled_from([4, 8, 12]),
    heads_per_group=st.integers(1, 2),
    n_groups=st.integers(1, 2),
    trapezoidal=st.booleans(),
    rotation=st.booleans(),
    data_dependent_decay=st.booleans(),
)


def make_config(spec: dict) -> SSDConfig:
    spec = dict(spec)
    heads = spec.pop("heads_per_group") * spec["n_groups"]
    return SSDConfig(n_heads=heads, chunk=4, dt_max=0.5, a_init_max=2.0, **spec)


def make_block(
    config: SSDConfig, seed: int, dtype: torch.dtype = torch.float64, *, perturb: bool = True
) -> SSDBlock:
    """A block whose every parameter is perturbed (so every term of the step matters)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        block = SSDBlock(config).double()
        with torch.no_grad():
            for parameter in block.parameters() if perturb else ():
                parameter.add_(0.3 * torch.randn_like(parameter))
    return block.to(dtype).eval()


def random_state(block: SSDBlock, batch: int, seed: int) -> SSDState:
    g = torch.Generator().manual_seed(seed)
    zero = block.initial_state(batch)
    parts = (zero.h, zero.x_prev, zero.B_prev)
    return SSDState(
        *(None if p is None else torch.randn(p.shape, generator=g).to(p.dtype) for p in parts)
    )


def inputs(batch: int, length: int, d_model: int, seed: int, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, length, d_model, generator=g, dtype=torch.float64).to(dtype)


def max_abs(t: torch.Tensor) -> float:
    return float(t.abs().max()) if t.numel() else 0.0


def assert_states_close(a: SSDState, b: SSDState, tolerance: float) -> None:
    assert max_abs(a.h - b.h) <= tolerance
    assert (a.x_prev is None) == (b.x_prev is None)
    if a.x_prev is not None:
        assert max_abs(a.x_prev - b.x_prev) <= tolerance
        assert max_abs(a.B_prev - b.B_prev) <= tolerance


def seeded_case(
    spec: dict, batch: int, length: int, seed: int
) -> tuple[SSDBlock, torch.Tensor, SSDState]:
    """A float64 block from ``spec``, inputs (batch, length, d_model) and a random start
    state, each from its own seed derived from ``seed``."""
    block = make_block(make_config(spec), seed)
    x = inputs(batch, length, block.d_model, seed + 1)
    return block, x, random_state(block, batch, seed + 2)


def float32_twins(
    spec: dict, batch: int, length: int, seed: int
) -> tuple[SSDBlock, SSDBlock, torch.Tensor]:
    """The same block from ``spec`` in float64 (the reference) and float32, and float64
    inputs (batch, length, d_model)."""
    config = make_config(spec)
    reference_block = make_block(config, seed)
    block32 = make_block(config, seed, torch.float32)
    return reference_block, block32, inputs(batch, length, config.d_model, seed + 1)
