"""SSDMixer: the Mamba-3-style token mixer: one input projection, the SSD, gate, output map."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from emp.adapters.torch_ssd.config import SSDConfig
from emp.adapters.torch_ssd.ssd_core import SSDState, ssd_chunked, ssd_naive, ssd_step, zero_state
from emp.ports.signal_model import SignalModelError

if TYPE_CHECKING:
    from emp.adapters.torch_ssd.fast_step import FusedStepper

Method = Literal["auto", "chunked", "scan", "naive"]
METHODS: tuple[str, ...] = ("auto", "chunked", "scan", "naive")


@dataclass(frozen=True, slots=True)
class ProjectionLayout:
    """Where each quantity sits in one group's slice of the input projection's output.

    The projection's output is ``n_groups`` equal slices of ``group_width`` columns, one
    per B/C group, each holding (in this order) that group's gate ``z`` and input ``x``
    (heads_per_group * head_dim each), ``B`` and ``C`` (state_dim each), ``dt``
    (heads_per_group), then when enabled ``A`` (heads_per_group), ``λ`` (heads_per_group)
    and the rotation angles (state_dim / 4). Splitting the weight's rows into contiguous
    runs of whole groups therefore splits the block by heads for tensor parallelism: every
    rank owns its heads' z, x, Δ, … and its groups' B, C, and the output projection splits
    by the matching columns.
    """

    names: tuple[str, ...]
    widths: tuple[int, ...]

    @property
    def group_width(self) -> int:
        return sum(self.widths)

    def span(self, name: str) -> tuple[int, int]:
        """[start, stop) of ``name`` within one group's slice."""
        start = 0
        for current, width in zip(self.names, self.widths, strict=True):
            if current == name:
                return start, start + width
            start += width
        raise KeyError(name)


def projection_layout(config: SSDConfig) -> ProjectionLayout:
    k, p, n = config.heads_per_group, config.head_dim, config.state_dim
    items = [("z", k * p), ("x", k * p), ("B", n), ("C", n), ("dt", k)]
    if config.data_dependent_decay:
        items.append(("A", k))
    if config.trapezoidal:
        items.append(("lam", k))
    if config.rotation:
        items.append(("theta", n // 4))
    return ProjectionLayout(tuple(i[0] for i in items), tuple(i[1] for i in items))


class SSDMixer(nn.Module):
    """The SSD token mixer: (batch, seq, d_model) -> (batch, seq, d_model), causal.

    ``forward(x, state)`` returns the output and the state after the last step, so calls
    on consecutive pieces of a sequence give the same numbers as one call on the whole;
    ``step(x_t, state)`` does one new time step. Parameters are initialised from torch's
    global generator: seed it (or use :func:`torch.random.fork_rng`) for reproducibility.
    """

    def __init__(self, config: SSDConfig) -> None:
        super().__init__()
        self.config = config
        self.layout = projection_layout(config)
        heads = config.heads
        self.in_proj = nn.Linear(
            config.d_model, config.n_groups * self.layout.group_width, bias=False
        )
        self.out_proj = nn.Linear(config.d_inner, config.d_model, bias=False)
        dt = torch.exp(
            torch.rand(heads) * (math.log(config.dt_max) - math.log(config.dt_min))
            + math.log(config.dt_min)
        )
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # softplus⁻¹(dt)
        a = torch.empty(heads).uniform_(config.a_init_min, config.a_init_max)
        if config.data_dependent_decay:
            self.a_bias = nn.Parameter(a + torch.log(-torch.expm1(-a)))  # softplus⁻¹(a)
        else:
            self.A_log = nn.Parameter(torch.log(a))
        self.D = nn.Parameter(torch.ones(heads))
        self._fused: FusedStepper | None = None  # the bare step's kernel, built lazily

    # ------------------------------------------------------------------ API
    def initial_state(
        self, batch: int, *, dtype: torch.dtype | None = None, device: torch.device | None = None
    ) -> SSDState:
        weight = self.in_proj.weight
        c = self.config
        return zero_state(
            batch,
            c.heads,
            c.head_dim,
            c.n_groups,
            c.state_dim,
            trapezoidal=c.trapezoidal,
            dtype=dtype or weight.dtype,
            device=device or weight.device,
        )

    def forward(
        self, x: Tensor, state: SSDState | None = None, *, method: Method = "auto"
    ) -> tuple[Tensor, SSDState]:
        """x (batch, seq, d_model) -> (y of the same shape, state after the last step).

        ``method``: ``"chunked"`` the chunked form (:func:`ssd_chunked`; any device,
        autograd); ``"scan"`` the compiled step-by-step scan (CPU, float32/64, no gradient
        needed; see :mod:`~emp.adapters.torch_ssd.fast_step`); ``"auto"`` (default) the
        scan where it applies, else chunked; ``"naive"`` the reference step loop.
        """
        if method not in METHODS:
            raise SignalModelError(
                f"expected method 'auto', 'chunked', 'scan' or 'naive', was {method!r}"
            )
        self._check_input(x, 3)
        if state is None:
            state = self.initial_state(x.shape[0])
        self._check_state(state, x.shape[0])
        b, length, _ = x.shape
        if length == 0:
            return x.new_zeros(x.shape), state
        if method in ("auto", "scan"):
            scanned = self._scan(x, state)
            if scanned is not None:
                return scanned
            if method == "scan":
                raise SignalModelError(
                    "expected CPU float32/float64 tensors with no gradient needed for "
                    "method 'scan' (use torch.inference_mode()), was otherwise; use 'chunked'"
                )
        parts = self._split(F.linear(x, self.in_proj.weight), (b, length))
        A = self._decay(parts)
        core = ssd_naive if method == "naive" else ssd_chunked
        kwargs = {} if method == "naive" else {"chunk": self.config.chunk}
        y, state = core(
            parts["x"],
            parts["dt"],
            A,
            parts["B"],
            parts["C"],
            state,
            lam=parts.get("lam"),
            theta=parts.get("theta"),
            **kwargs,
        )
        return self._output(y, parts, (b, length)), state

    def step(self, x: Tensor, state: SSDState | None = None) -> tuple[Tensor, SSDState]:
        """One time step: x (batch, d_model) -> (y (batch, d_model), new state).

        On CPU with no gradient needed (inference) this is one fused kernel
        (:mod:`~emp.adapters.torch_ssd.fast_step`); otherwise :meth:`general_step`.
        """
        fused = self._fused
        if fused is not None and state is not None:
            result = fused.try_step(x, state)
            if result is not None:
                return result
        self._check_input(x, 2)
        if state is None:
            state = self.initial_state(x.shape[0])
        self._check_state(state, x.shape[0])
        if fused is None or not fused.current():
            self._fused = fused = self.build_stepper(None)
        result = None if fused is None else fused.try_step(x, state)
        return result if result is not None else self.general_step(x, state)

    def general_step(self, x: Tensor, state: SSDState) -> tuple[Tensor, SSDState]:
        """One step by the reference :func:`ssd_step` in eager torch (any device, autograd)."""
        b = x.shape[0]
        parts = self._split(F.linear(x, self.in_proj.weight), (b,))
        y, state = ssd_step(
            parts["x"],
            parts["dt"],
            self._decay(parts),
            parts["B"],
            parts["C"],
            state,
            parts.get("lam"),
            parts.get("theta"),
        )
        return self._output(y, parts, (b,)), state

    def build_stepper(self, norm: nn.RMSNorm | None) -> FusedStepper | None:
        """The fused kernels bound to these parameters: ``x + step(RMSNorm(x))`` with
        ``norm``, the bare mixer step (and the scan) without; ``None`` unless every
        parameter is a contiguous CPU tensor of one dtype, float32 or float64."""
        c = self.config
        weight = self.in_proj.weight
        decay = "a_bias" if c.data_dependent_decay else "A_log"
        involved = [weight, self.out_proj.weight, self.dt_bias, getattr(self, decay), self.D]
        if norm is not None:
            involved.append(norm.weight)
        if weight.dtype not in (torch.float32, torch.float64) or not all(
            t.is_cpu and t.dtype == weight.dtype and t.is_contiguous() for t in involved
        ):  # the kernels read the parameters' own memory, in one dtype
            return None
        from emp.adapters.torch_ssd.fast_step import FusedStepper, kernel_layout  # numba: lazy

        layout = kernel_layout(
            heads=c.heads,
            groups=c.n_groups,
            head_dim=c.head_dim,
            state_dim=c.state_dim,
            spans={name: self.layout.span(name) for name in self.layout.names},
            group_width=self.layout.group_width,
            norm=norm is not None,
            residual=norm is not None,
        )
        return FusedStepper(
            slots=(
                None if norm is None else (norm._parameters, "weight"),
                (self.in_proj._parameters, "weight"),
                (self._parameters, "dt_bias"),
                (self._parameters, decay),
                (self._parameters, "D"),
                (self.out_proj._parameters, "weight"),
            ),
            eps=_norm_eps(norm, weight.dtype),
            layout=layout,
            d_model=c.d_model,
            heads=c.heads,
            groups=c.n_groups,
            head_dim=c.head_dim,
            state_dim=c.state_dim,
            trapezoidal=c.trapezoidal,
        )

    # ------------------------------------------------------------- internals
    def _scan(self, x: Tensor, state: SSDState) -> tuple[Tensor, SSDState] | None:
        """The compiled scan's forward, or ``None`` where it does not apply."""
        weight = self.in_proj.weight
        if not x.is_cpu or x.dtype not in (torch.float32, torch.float64):
            return None
        if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad):
            return None
        fused = self._fused
        if fused is None or not fused.current():
            self._fused = fused = self.build_stepper(None)
            if fused is None:
                return None
        projected = F.linear(x, weight)
        scanned = fused.try_sequence(projected, state)
        if scanned is None:
            return None
        y, state = scanned
        c = self.config
        start = self.layout.span("z")[0]
        z = projected.view(*x.shape[:2], c.n_groups, self.layout.group_width)
        z = z[..., start : start + c.heads_per_group * c.head_dim].reshape(y.shape)
        return F.linear(y.mul_(F.silu(z)), self.out_proj.weight), state

    def _split(self, projected: Tensor, lead: tuple[int, ...]) -> dict[str, Tensor]:
        c = self.config
        grouped = projected.view(*lead, c.n_groups, self.layout.group_width)
        chunks = torch.split(grouped, self.layout.widths, dim=-1)
        raw = dict(zip(self.layout.names, chunks, strict=True))
        heads = (*lead, c.heads)
        parts = {
            "z": raw["z"].reshape(*heads, c.head_dim),
            "x": raw["x"].reshape(*heads, c.head_dim),
            "B": raw["B"],
            "C": raw["C"],
            "dt": F.softplus(raw["dt"].reshape(heads) + self.dt_bias),
        }
        if c.data_dependent_decay:
            parts["A"] = -F.softplus(raw["A"].reshape(heads) + self.a_bias)
        if c.trapezoidal:
            parts["lam"] = torch.sigmoid(raw["lam"].reshape(heads))
        if c.rotation:
            parts["theta"] = math.pi * torch.tanh(raw["theta"])
        return parts

    def _decay(self, parts: dict[str, Tensor]) -> Tensor:
        if self.config.data_dependent_decay:
            return parts["A"]
        return -torch.exp(self.A_log)

    def _output(self, y: Tensor, parts: dict[str, Tensor], lead: tuple[int, ...]) -> Tensor:
        y = torch.addcmul(y, self.D[:, None], parts["x"]) * F.silu(parts["z"])
        return F.linear(y.reshape(*lead, self.config.d_inner), self.out_proj.weight)

    def _check_input(self, x: Tensor, dims: int) -> None:
        d = self.config.d_model
        expected = "(batch, seq, d_model)" if dims == 3 else "(batch, d_model)"
        if not isinstance(x, Tensor):
            raise SignalModelError(f"expected a torch tensor {expected}, was {type(x).__name__}")
        if x.dim() != dims or x.shape[-1] != d:
            want = f"(batch, seq, {d})" if dims == 3 else f"(batch, {d})"
            raise SignalModelError(
                f"expected input of shape {want} {expected}, was {tuple(x.shape)}"
            )
        check_like_parameters(x, self.in_proj.weight)

    def _check_state(self, state: SSDState, batch: int) -> None:
        c = self.config
        expected = (batch, c.heads, c.head_dim, c.state_dim)
        if not isinstance(state, SSDState) or tuple(state.h.shape) != expected:
            shape = tuple(state.h.shape) if isinstance(state, SSDState) else type(state).__name__
            raise SignalModelError(f"expected a state with h of shape {expected}, was {shape}")
        if c.trapezoidal and (state.x_prev is None or state.B_prev is None):
            raise SignalModelError(
                "expected a trapezoidal state with x_prev and B_prev, was one without them "
                "(use initial_state())"
            )


def _norm_eps(norm: nn.RMSNorm | None, dtype: torch.dtype) -> float:
    """The epsilon the RMSNorm uses (its own, or torch's default: the dtype's machine eps)."""
    if norm is None:
        return 0.0
    return torch.finfo(dtype).eps if norm.eps is None else float(norm.eps)


def check_like_parameters(x: Tensor, weight: Tensor) -> None:
    """Raise SignalModelError unless ``x`` has the parameters' dtype and device."""
    if x.dtype != weight.dtype:
        raise SignalModelError(
            f"expected input of dtype {weight.dtype} (the parameters' dtype), was {x.dtype}"
        )
    if x.device != weight.device:
        raise SignalModelError(
            f"expected input on device {weight.device} (the parameters' device), was {x.device}"
        )
