"""The fused inference paths: a whole SSD block step, and a mixer's scan over time, each
one compiled (numba) kernel over numpy views of the parameters and the state.

Eager PyTorch spends most of a batch-1 step in per-operation dispatch (about thirty small
operations at 2–8 µs each on this CPU); :meth:`FusedStepper.try_step` does the same
arithmetic in one call (see :mod:`~emp.adapters.torch_ssd.fast_kernels`). For a sequence,
:meth:`FusedStepper.try_sequence` runs the recurrence step by step over a projection that
torch computed: on a CPU the state of one batch row stays in cache, so this beats the
chunked form's large intermediate tensors, and it fuses Δ, A_t, λ_t, θ_t, D and the gate.
Both handle every Mamba-3 option. They run only where they are exact and cheap: CPU
tensors of float32 or float64 when no gradient is needed; everything else (CUDA,
autograd, other dtypes) takes the general eager path, which is also the reference the
tests hold them to. Results equal it to rounding: sums run in another order.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from emp.adapters.torch_ssd.fast_kernels import block_step_kernel, sequence_kernel
from emp.adapters.torch_ssd.ssd_core import SSDState

ParameterSlot = tuple[dict[str, Tensor], str]
"""Where a parameter lives: its module's ``_parameters`` dict and its name there."""


class FusedStepper:
    """The fused kernels bound to one block's (or bare mixer's) parameters.

    It holds numpy views that share memory with the parameters, so in-place updates (an
    optimizer step, ``load_state_dict``) are seen at once; :meth:`current` notices a
    replaced tensor (``.to()``, a new ``Parameter``, ``.data =``) so the owner rebuilds.
    :meth:`try_step` takes the step only when it can do it exactly and cheaply and
    returns ``None`` otherwise; it never mutates the state it is given.
    """

    def __init__(
        self,
        *,
        slots: tuple[ParameterSlot | None, ...],
        eps: float,
        layout: np.ndarray,
        d_model: int,
        heads: int,
        groups: int,
        head_dim: int,
        state_dim: int,
        trapezoidal: bool,
    ) -> None:
        # slots: RMSNorm weight (None: a bare mixer), in_proj, dt_bias, A_log|a_bias, D, out_proj
        tensors = tuple(None if slot is None else slot[0][slot[1]] for slot in slots)
        self._checks = tuple(
            (slot[0], slot[1], tensor, tensor.data_ptr())
            for slot, tensor in zip(slots, tensors, strict=True)
            if slot is not None and tensor is not None
        )
        self.parameters = tuple(t for t in tensors if t is not None)
        self.dtype = tensors[1].dtype  # the input projection's; the owner checked the rest
        empty = torch.empty(0, dtype=self.dtype)
        self._views = tuple(_view(empty if t is None else t) for t in tensors)
        self._eps = float(eps)
        self._layout = layout
        self._np_dtype = self._views[1].dtype
        self._none3 = np.empty((0, 0, 0), dtype=self._np_dtype)
        self._d_model = d_model
        self._h_shape = (heads, head_dim, state_dim)
        self._x_prev_shape = (heads, head_dim)
        self._b_prev_shape = (groups, state_dim)
        self._trapezoidal = trapezoidal

    def current(self) -> bool:
        """Whether every parameter is still the tensor and storage this stepper views."""
        for params, name, tensor, pointer in self._checks:
            if params.get(name) is not tensor or tensor.data_ptr() != pointer:
                return False
        return True

    def try_step(self, x: object, state: object) -> tuple[Tensor, SSDState] | None:
        """The fused step for x (batch, d_model) from ``state``, or ``None`` where it does
        not apply: another shape or dtype, not CPU, a gradient needed, or
        stale parameters. Every shape is checked here: the kernel does no bounds checks."""
        if type(state) is not SSDState or not isinstance(x, Tensor):
            return None
        try:  # numpy() refuses non-CPU tensors and tensors that require grad
            xa = np.ascontiguousarray(x.numpy())
            h = np.ascontiguousarray(state.h.numpy())
        except (TypeError, RuntimeError):
            return None
        np_dtype = self._np_dtype
        if xa.dtype is not np_dtype or xa.ndim != 2 or xa.shape[1] != self._d_model:
            return None
        batch = xa.shape[0]
        if h.dtype is not np_dtype or h.shape != (batch, *self._h_shape):
            return None
        prev = self._prev_arrays(state, batch)
        if prev is None:
            return None
        x_prev, b_prev, x_prev_new, b_prev_new = prev
        norm_w, w_in, dt_bias, a_param, d_skip, w_out = self._views
        out = np.empty_like(xa)
        h_new = np.empty_like(h)
        block_step_kernel(
            xa, norm_w, self._eps, w_in, dt_bias, a_param, d_skip, w_out,
            h, x_prev, b_prev, self._layout, out, h_new, x_prev_new, b_prev_new,
        )  # fmt: skip
        new_state = self._new_state(h_new, x_prev_new, b_prev_new)
        return torch.from_numpy(out), new_state

    def try_sequence(self, projected: Tensor, state: SSDState) -> tuple[Tensor, SSDState] | None:
        """The scan over time for a bare mixer: ``projected`` (batch, T >= 1, width) is the
        input projection's output; returns the SSD output before the gate,
        ``h_t C_t + D x_t`` (batch, T, H * P), and the state after the last step, or
        ``None`` where the kernel does not apply (as :meth:`try_step`)."""
        try:
            proj = np.ascontiguousarray(projected.numpy())
            h = np.ascontiguousarray(state.h.numpy())
        except (TypeError, RuntimeError):
            return None
        np_dtype = self._np_dtype
        width = self._views[1].shape[0]
        if proj.dtype is not np_dtype or proj.ndim != 3 or proj.shape[2] != width:
            return None
        batch, length = proj.shape[0], proj.shape[1]
        if length == 0 or h.dtype is not np_dtype or h.shape != (batch, *self._h_shape):
            return None
        prev = self._prev_arrays(state, batch)
        if prev is None:
            return None
        x_prev, b_prev, x_prev_new, b_prev_new = prev
        _, _, dt_bias, a_param, d_skip, _ = self._views
        heads, head_dim, _ = self._h_shape
        y = np.empty((batch, length, heads * head_dim), dtype=np_dtype)
        h_new = np.empty_like(h)
        sequence_kernel(
            proj, dt_bias, a_param, d_skip, h, x_prev, b_prev, self._layout,
            y, h_new, x_prev_new, b_prev_new,
        )  # fmt: skip
        new_state = self._new_state(h_new, x_prev_new, b_prev_new)
        return torch.from_numpy(y), new_state

    def _prev_arrays(
        self, state: SSDState, batch: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """The trapezoid inputs and outputs (x_prev, B_prev, x_prev_new, B_prev_new), empty
        placeholders for a non-trapezoidal mixer, or ``None`` where the kernel does not
        apply: a mismatched trapezoid state, a gradient needed, or stale parameters."""
        if self._trapezoidal:
            prev = self._trapezoid_arrays(state, batch)
            if prev is None:
                return None
            x_prev, b_prev = prev
            x_prev_new, b_prev_new = np.empty_like(x_prev), np.empty_like(b_prev)
        else:
            x_prev = b_prev = x_prev_new = b_prev_new = self._none3
        if torch.is_grad_enabled() and any(p.requires_grad for p in self.parameters):
            return None
        if not self.current():
            return None
        return x_prev, b_prev, x_prev_new, b_prev_new

    def _new_state(
        self, h_new: np.ndarray, x_prev_new: np.ndarray, b_prev_new: np.ndarray
    ) -> SSDState:
        """The state after a kernel call, with the trapezoid memory where the mixer has it."""
        if self._trapezoidal:
            return SSDState(
                torch.from_numpy(h_new), torch.from_numpy(x_prev_new), torch.from_numpy(b_prev_new)
            )
        return SSDState(torch.from_numpy(h_new))

    def _trapezoid_arrays(
        self, state: SSDState, batch: int
    ) -> tuple[np.ndarray, np.ndarray] | None:
        if state.x_prev is None or state.B_prev is None:
            return None
        try:
            x_prev = np.ascontiguousarray(state.x_prev.numpy())
            b_prev = np.ascontiguousarray(state.B_prev.numpy())
        except (TypeError, RuntimeError):
            return None
        np_dtype = self._np_dtype
        if x_prev.dtype is not np_dtype or x_prev.shape != (batch, *self._x_prev_shape):
            return None
        if b_prev.dtype is not np_dtype or b_prev.shape != (batch, *self._b_prev_shape):
            return None
        return x_prev, b_prev


def kernel_layout(
    *,
    heads: int,
    groups: int,
    head_dim: int,
    state_dim: int,
    spans: dict[str, tuple[int, int]],
    group_width: int,
    norm: bool,
    residual: bool,
) -> np.ndarray:
    """The kernel's integer arguments: sizes, offsets within a group slice, and flags."""

    def start(name: str) -> int:
        return spans[name][0] if name in spans else 0

    values = [
        heads, groups, heads // groups, head_dim, state_dim, group_width,
        start("z"), start("x"), start("B"), start("C"), start("dt"),
        start("A"), start("lam"), start("theta"),
        int("lam" in spans), int("theta" in spans), int("A" in spans), int(norm), int(residual),
    ]  # fmt: skip
    return np.array(values, dtype=np.int64)


def _view(t: Tensor) -> np.ndarray:
    """A numpy view of a CPU tensor's data (a contiguous copy only if it is strided)."""
    if t.requires_grad:
        t = t.detach()
    if not t.is_contiguous():
        t = t.contiguous()
    return t.numpy()
