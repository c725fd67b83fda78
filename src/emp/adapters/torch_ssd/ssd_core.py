"""The SSD recurrence, computed two ways: chunked (fast) and one step at a time (the reference).

Shapes (b batch, T time, H heads, G groups, P head_dim, N state_dim)::

    x      (b, T, H, P)   head inputs
    dt     (b, T, H)      step Δ_t > 0 (already through softplus)
    A      (H,) or (b, T, H)   decay rate, negative (per head, or data dependent A_t)
    B, C   (b, T, G, N)   input and output maps; head h uses group h // (H // G)
    lam    (b, T, H)      λ_t in (0, 1), exponential-trapezoidal update (optional)
    theta  (b, T, G, N/4) rotation angle per pair of the rotated half of the state (optional)

The recurrence, per head, with state h_t of shape (P, N), α_t = exp(Δ_t A_t) and R_t the
rotation by θ_t of the first N/2 state dimensions (pairs (k, k + N/4))::

    Euler (default):  h_t = α_t h_{t-1} R_tᵀ + Δ_t x_t B_tᵀ
    trapezoidal:      h_t = α_t (h_{t-1} + (1-λ_t) Δ_t x_{t-1} B_{t-1}ᵀ) R_tᵀ + λ_t Δ_t x_t B_tᵀ
    output:           y_t = h_t C_t

(λ_t ≡ 1 gives back Euler; without rotation R_t = I.) :func:`ssd_step` is this recurrence
literally; :func:`ssd_chunked` computes the same numbers by chunks. See docs/model.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from emp.ports.signal_model import SignalModelError


@dataclass(frozen=True, slots=True)
class SSDState:
    """The state carried between calls: everything needed to continue exactly.

    ``h`` (b, H, P, N) is the SSM state after the last step. With the trapezoidal update the
    next step also needs the last input, ``x_prev`` (b, H, P) and ``B_prev`` (b, G, N);
    otherwise they are ``None``.
    """

    h: Tensor
    x_prev: Tensor | None = None
    B_prev: Tensor | None = None

    def detach(self) -> SSDState:
        """The same values cut from the autograd graph (truncated backpropagation)."""
        return SSDState(
            self.h.detach(),
            None if self.x_prev is None else self.x_prev.detach(),
            None if self.B_prev is None else self.B_prev.detach(),
        )


def zero_state(
    batch: int,
    heads: int,
    head_dim: int,
    groups: int,
    state_dim: int,
    *,
    trapezoidal: bool,
    dtype: torch.dtype,
    device: torch.device | str,
) -> SSDState:
    """The state before the first step: all zeros."""
    h = torch.zeros(batch, heads, head_dim, state_dim, dtype=dtype, device=device)
    if not trapezoidal:
        return SSDState(h)
    return SSDState(
        h,
        torch.zeros(batch, heads, head_dim, dtype=dtype, device=device),
        torch.zeros(batch, groups, state_dim, dtype=dtype, device=device),
    )


def rotate(v: Tensor, angle: Tensor) -> Tensor:
    """Rotate the pairs (k, k + N/4), k < N/4, of ``v``'s last dim (size N) by ``angle``.

    ``angle`` has last dim N/4 and broadcasts against ``v``'s other dims; the second half
    of the state (dims N/2 ..) is left as it is.
    """
    quarter = angle.shape[-1]
    a, b, rest = v[..., :quarter], v[..., quarter : 2 * quarter], v[..., 2 * quarter :]
    cos, sin = torch.cos(angle), torch.sin(angle)
    return torch.cat((a * cos - b * sin, a * sin + b * cos, rest), dim=-1)


def ssd_step(
    x: Tensor,
    dt: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    state: SSDState,
    lam: Tensor | None = None,
    theta: Tensor | None = None,
) -> tuple[Tensor, SSDState]:
    """One step of the recurrence: x (b, H, P), dt (b, H), A (H,) or (b, H), B/C (b, G, N),
    lam (b, H), theta (b, G, N/4). Returns y (b, H, P) and the new state."""
    b, heads, p = x.shape
    groups, n = B.shape[1], B.shape[2]
    k = heads // groups
    h = state.h.reshape(b, groups, k, p, n)
    if lam is not None:
        if state.x_prev is None or state.B_prev is None:
            raise SignalModelError("the trapezoidal update needs x_prev and B_prev in the state")
        beta = (1.0 - lam) * dt
        h = torch.addcmul(
            h,
            (beta[..., None] * state.x_prev).view(b, groups, k, p, 1),
            state.B_prev.view(b, groups, 1, 1, n),
        )
        weight = lam * dt
    else:
        weight = dt
    if theta is not None:
        h = rotate(h, theta.view(b, groups, 1, 1, n // 4))
    alpha = torch.exp(dt * A).view(b, groups, k, 1, 1)
    h = torch.addcmul(
        h * alpha, (weight[..., None] * x).view(b, groups, k, p, 1), B.view(b, groups, 1, 1, n)
    )
    y = torch.matmul(h.view(b, groups, k * p, n), C.view(b, groups, n, 1)).view(b, heads, p)
    h = h.view(b, heads, p, n)
    if lam is not None:
        return y, SSDState(h, x, B)
    return y, SSDState(h)


def ssd_naive(
    x: Tensor,
    dt: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    state: SSDState,
    lam: Tensor | None = None,
    theta: Tensor | None = None,
) -> tuple[Tensor, SSDState]:
    """The reference: :func:`ssd_step` in a loop over time. Same shapes as :func:`ssd_chunked`."""
    data_dependent_a = A.dim() == 3
    ys = []
    for t in range(x.shape[1]):
        y, state = ssd_step(
            x[:, t],
            dt[:, t],
            A[:, t] if data_dependent_a else A,
            B[:, t],
            C[:, t],
            state,
            None if lam is None else lam[:, t],
            None if theta is None else theta[:, t],
        )
        ys.append(y)
    if not ys:
        return x.new_zeros(x.shape), state
    return torch.stack(ys, dim=1), state


def ssd_chunked(
    x: Tensor,
    dt: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    state: SSDState,
    chunk: int,
    lam: Tensor | None = None,
    theta: Tensor | None = None,
) -> tuple[Tensor, SSDState]:
    """The recurrence over T steps by chunks of ``chunk`` steps; exact for any T >= 0.

    Rotation: with Φ_t = θ_0 + ... + θ_t (cumulated in float64, reduced mod 2π), the
    state g_t = h_t R(Φ_t) follows the unrotated recurrence with B̃_t = R(Φ_t)ᵀ B_t and
    C̃_t = R(Φ_t)ᵀ C_t, so rotating B and C once turns it into a plain SSD.

    Trapezoid: with β'_t = (1-λ_t) Δ_t, the shifted state h'_t = h_t + β'_{t+1} x_t B̃_tᵀ
    follows h'_t = α_t h'_{t-1} + (λ_t Δ_t + β'_{t+1}) x_t B̃_tᵀ (a plain SSD with another
    input weight), y_t = C̃_t·h'_t - β'_{t+1} (C_t·B_t) x_t, and h'_{-1} adds the carried
    input. β'_T is taken as 0, so the state returned is h_{T-1} itself.
    """
    _b, length, heads, _ = x.shape
    if length == 0:
        return x.new_zeros(x.shape), state
    dA = dt * A
    h0 = state.h
    b_tilde, c_tilde = B, C
    if theta is not None:
        phi = _cumulative_angle(theta)
        b_tilde, c_tilde = rotate(B, -phi), rotate(C, -phi)
    if lam is not None:
        if state.x_prev is None or state.B_prev is None:
            raise SignalModelError("the trapezoidal update needs x_prev and B_prev in the state")
        beta = (1.0 - lam) * dt
        beta_next = F.pad(beta[:, 1:], (0, 0, 0, 1))
        weight = lam * dt + beta_next
        per_group = heads // B.shape[2]
        b_prev = state.B_prev.repeat_interleave(per_group, dim=1)
        h0 = h0 + (beta[:, 0, :, None] * state.x_prev)[..., None] * b_prev[:, :, None, :]
    else:
        weight = dt
    y, h_last = _chunked_scan(x * weight[..., None], dA, b_tilde, c_tilde, h0, chunk)
    if lam is not None:
        cb = torch.einsum("btgn,btgn->btg", C, B).repeat_interleave(heads // B.shape[2], dim=2)
        y = y - (beta_next * cb)[..., None] * x
    if theta is not None:
        h_last = rotate(
            h_last, phi[:, -1].repeat_interleave(heads // B.shape[2], dim=1)[:, :, None]
        )
    if lam is not None:
        return y, SSDState(h_last, x[:, -1], B[:, -1])
    return y, SSDState(h_last)


def _cumulative_angle(theta: Tensor) -> Tensor:
    """Φ_t = Σ_{k<=t} θ_k over time (dim 1), summed in float64 and reduced mod 2π."""
    if theta.dtype == torch.float64:
        return torch.cumsum(theta, dim=1)
    phi = torch.remainder(torch.cumsum(theta.double(), dim=1), 2.0 * math.pi)
    return phi.to(theta.dtype)


def _chunked_scan(
    xw: Tensor, dA: Tensor, B: Tensor, C: Tensor, h0: Tensor, chunk: int
) -> tuple[Tensor, Tensor]:
    """The plain SSD h_t = exp(dA_t) h_{t-1} + xw_t B_tᵀ, y_t = h_t C_t, by chunks.

    xw (b, T, H, P), dA (b, T, H), B/C (b, T, G, N), h0 (b, H, P, N).
    Returns y (b, T, H, P) and h_{T-1} (b, H, P, N). Inside, heads come first:
    x (b, G, K, c, Q, P) with K heads per group and c chunks of Q steps. Decay weights
    within a chunk are exp(cum_l - cum_s) of the chunk-local cumulative sum, so the
    difference never spans more than one chunk's total decay.
    """
    b, length, heads, p = xw.shape
    groups, n = B.shape[2], B.shape[3]
    k = heads // groups
    q = min(chunk, length)
    pad = (-length) % q
    if pad:
        xw = F.pad(xw, (0, 0, 0, 0, 0, pad))
        dA = F.pad(dA, (0, 0, 0, pad))
        B = F.pad(B, (0, 0, 0, 0, 0, pad))
        C = F.pad(C, (0, 0, 0, 0, 0, pad))
    c = (length + pad) // q
    # head-major layouts: (b, g, k, c, q, p) for x, (b, g, 1, c, q, n) for B and C
    x = xw.view(b, c, q, groups, k, p).permute(0, 3, 4, 1, 2, 5).contiguous()
    Bg = B.view(b, c, q, groups, 1, n).permute(0, 3, 4, 1, 2, 5)
    Cg = C.view(b, c, q, groups, 1, n).permute(0, 3, 4, 1, 2, 5)
    cum = torch.cumsum(dA.view(b, c, q, groups, k).permute(0, 3, 4, 1, 2), dim=-1)  # (b,g,k,c,q)
    lower = torch.ones(q, q, dtype=torch.bool, device=xw.device).tril()
    # 1. within chunks: (C_l·B_s) exp(cum_l - cum_s) for s <= l
    decay = torch.exp((cum[..., :, None] - cum[..., None, :]).masked_fill_(~lower, -math.inf))
    weights = decay * torch.matmul(Cg, Bg.transpose(-1, -2))
    y = torch.matmul(weights, x)  # (b, g, k, c, q, p)
    # 2. each chunk's final state from a zero start
    to_end = torch.exp(cum[..., -1:] - cum)[..., None]
    states = torch.matmul((x * to_end).transpose(-1, -2), Bg)  # (b, g, k, c, p, n)
    # 3. carry the state across chunks
    chunk_decay = torch.exp(cum[..., -1])[..., None, None]  # (b, g, k, c, 1, 1)
    h = h0.view(b, groups, k, p, n)
    entering = []
    for decay_i, state_i in zip(chunk_decay.unbind(3), states.unbind(3), strict=True):
        entering.append(h)  # unbind/stack: one backward op each, not one per chunk
        h = decay_i * h + state_i
    # 4. the entering state's contribution
    h_in = torch.stack(entering, dim=3)  # (b, g, k, c, p, n)
    y = y.addcmul_(torch.matmul(Cg, h_in.transpose(-1, -2)), torch.exp(cum)[..., None])
    y = y.permute(0, 3, 4, 1, 2, 5).reshape(b, c * q, heads, p)[:, :length]
    return y, h.reshape(b, heads, p, n)
