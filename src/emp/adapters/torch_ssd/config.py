"""SSDConfig: the shape and options of one SSD mixer, validated with suggestions on error.

Plain Python (no torch): the CLI and checkpoints read and write it as a dict.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from emp.domain.errors import InvalidConfiguration
from emp.ports.signal_model import SignalModelError


class InvalidModelConfig(InvalidConfiguration, SignalModelError):
    """A model or training configuration value is out of range or inconsistent."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SSDConfig:
    """The configuration of one SSD mixer (and of the drop-in block around it).

    Attributes:
        d_model: width of the residual stream, the block's input and output feature size.
        head_dim: P, the width of one head's input ``x`` (default 64).
        state_dim: N, the size of ``B``, ``C`` and of each row of a head's state (default 64).
        n_heads: number of heads H; ``None`` derives it as ``expand * d_model / head_dim``.
        expand: inner width factor used only when ``n_heads`` is ``None``.
        n_groups: number of B/C groups G; the heads of a group share B and C (and its
            rotation angles). ``n_heads`` must be a multiple of it.
        chunk: Q, the chunk length of the chunked computation (default 64). Any positive
            value is exact; sequence lengths need not be multiples of it.
        trapezoidal: Mamba-3 exponential-trapezoidal update with a learned ``λ_t``.
        rotation: Mamba-3 data-dependent rotation of B/C on half the state (a complex-valued
            state on ``state_dim / 2`` dimensions); needs ``state_dim`` divisible by 4.
        data_dependent_decay: ``A_t = -softplus(·)`` from the input instead of one learned
            ``A`` per head.
        dt_min, dt_max: range of the initial step ``Δ`` (log-uniform, as in Mamba).
        a_init_min, a_init_max: range of the initial decay rate ``-A`` (uniform).
        norm_eps: epsilon of the block's RMSNorm.
    """

    d_model: int
    head_dim: int = 64
    state_dim: int = 64
    n_heads: int | None = None
    expand: int = 1
    n_groups: int = 1
    chunk: int = 64
    trapezoidal: bool = False
    rotation: bool = False
    data_dependent_decay: bool = False
    dt_min: float = 1e-3
    dt_max: float = 1e-1
    a_init_min: float = 1.0
    a_init_max: float = 16.0
    norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        for name in ("d_model", "head_dim", "state_dim", "expand", "n_groups", "chunk"):
            _check_positive_int(name, getattr(self, name))
        if self.n_heads is not None:
            _check_positive_int("n_heads", self.n_heads)
        else:
            inner = self.expand * self.d_model
            if inner % self.head_dim:
                raise InvalidModelConfig(
                    f"expand * d_model ({inner}) must be divisible by head_dim "
                    f"({self.head_dim}) when n_heads is not given; use a head_dim in "
                    f"{_divisors(inner)}, a d_model that is a multiple of "
                    f"{self.head_dim // math.gcd(self.head_dim, self.expand)}, "
                    "or set n_heads explicitly"
                )
        heads = self.heads
        if heads % self.n_groups:
            raise InvalidModelConfig(
                f"n_heads ({heads}) must be a multiple of n_groups ({self.n_groups}); "
                f"use n_groups in {_divisors(heads)}"
            )
        if self.rotation and self.state_dim % 4:
            lower = max(4, self.state_dim - self.state_dim % 4)
            raise InvalidModelConfig(
                f"rotation needs state_dim divisible by 4 (pairs of rotated dimensions on "
                f"half the state), was {self.state_dim}; use {lower} or {lower + 4}"
            )
        for name in ("trapezoidal", "rotation", "data_dependent_decay"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidModelConfig(
                    f"{name} must be true or false, was {getattr(self, name)!r}"
                )
        for name in ("dt_min", "dt_max", "a_init_min", "a_init_max", "norm_eps"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise InvalidModelConfig(f"{name} must be a finite number > 0, was {value!r}")
        if self.dt_min > self.dt_max:
            raise InvalidModelConfig(
                f"dt_min ({self.dt_min}) must not exceed dt_max ({self.dt_max})"
            )
        if self.a_init_min > self.a_init_max:
            raise InvalidModelConfig(
                f"a_init_min ({self.a_init_min}) must not exceed a_init_max ({self.a_init_max})"
            )

    @property
    def heads(self) -> int:
        """H, the number of heads (given or derived)."""
        if self.n_heads is not None:
            return self.n_heads
        return self.expand * self.d_model // self.head_dim

    @property
    def d_inner(self) -> int:
        """H * P, the width of the gated SSD output fed to the output projection."""
        return self.heads * self.head_dim

    @property
    def heads_per_group(self) -> int:
        return self.heads // self.n_groups

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SSDConfig:
        """A config from :meth:`to_dict` output; unknown keys are an error, not ignored."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidModelConfig(
                f"unknown SSD config keys {unknown}; expected some of {sorted(known)}"
            )
        return cls(**values)


def _check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidModelConfig(f"{name} must be an integer >= 1, was {value!r}")


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]
