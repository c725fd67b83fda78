"""The compiled (numba) kernels behind :mod:`~emp.adapters.torch_ssd.fast_step`.

One time step of one batch row is :func:`_step_rows`: from the row of the shared input
projection ``cur`` (and the previous one, ``prev``, for the trapezoid) it forms Δ_t, A_t,
λ_t, θ_t, updates every state row exactly as :func:`~emp.adapters.torch_ssd.ssd_core.
ssd_step` does (trapezoid term, rotation of the pairs (q, q + N/4), decay, input), takes
``h C + D x`` in the same pass and applies the SiLU gate. :func:`block_step_kernel` wraps it
with RMSNorm and both projections (one streaming step of a block); :func:`sequence_kernel`
runs it over time on a projection computed by torch (the inference forward of a mixer),
with the state of one batch row kept in two cache-resident buffers.

``meta`` (see ``fast_step.kernel_layout``) holds the sizes, the offsets of z, x, B, C, Δ,
A, λ, θ inside one group's slice of the projection, and the option flags. Shapes are the
callers' responsibility: nothing here checks bounds. Compiled lazily on first call
(``cache=True`` keeps the machine code on disk), never at import; importing numba costs
time, so the mixer imports this module only when it first needs it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_FASTMATH = {"reassoc", "contract"}  # lets LLVM vectorise the sums (no nnan/ninf)


@njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _softplus(v):  # torch's softplus (beta 1, threshold 20)
    if v > 20.0:
        return v
    return np.log1p(np.exp(v))


@njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _matvec(w, u, out):  # out = w @ u, eight rows at a time (independent accumulators)
    rows, cols = w.shape
    zero = w.dtype.type(0.0)
    j = 0
    while j + 8 <= rows:
        r0, r1, r2, r3 = w[j], w[j + 1], w[j + 2], w[j + 3]
        r4, r5, r6, r7 = w[j + 4], w[j + 5], w[j + 6], w[j + 7]
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = zero
        for i in range(cols):
            ui = u[i]
            a0 += r0[i] * ui
            a1 += r1[i] * ui
            a2 += r2[i] * ui
            a3 += r3[i] * ui
            a4 += r4[i] * ui
            a5 += r5[i] * ui
            a6 += r6[i] * ui
            a7 += r7[i] * ui
        out[j], out[j + 1], out[j + 2], out[j + 3] = a0, a1, a2, a3
        out[j + 4], out[j + 5], out[j + 6], out[j + 7] = a4, a5, a6, a7
        j += 8
    while j < rows:
        row = w[j]
        acc = zero
        for i in range(cols):
            acc += row[i] * u[i]
        out[j] = acc
        j += 1


@njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _head_scalars(cur, base, kk, hh, dt_bias, a_param, meta):
    """(α_t, input weight, trapezoid β_t) of head ``hh`` from its projection row."""
    real = cur.dtype.type
    off_dt, off_a, off_lam = meta[10], meta[11], meta[12]
    dt = real(_softplus(cur[base + off_dt + kk] + dt_bias[hh]))
    if meta[16]:  # data-dependent decay
        a = -real(_softplus(cur[base + off_a + kk] + a_param[hh]))
    else:
        a = -np.exp(a_param[hh])
    if meta[14]:  # trapezoid
        lam = real(1.0) / (real(1.0) + np.exp(-cur[base + off_lam + kk]))
        return np.exp(dt * a), lam * dt, (real(1.0) - lam) * dt
    return np.exp(dt * a), dt, real(0.0)


@njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _angles(theta, cos, sin):
    """cos and sin of θ = π·tanh(raw) for one group's rotated pairs."""
    for q in range(theta.shape[0]):
        angle = theta.dtype.type(math.pi) * np.tanh(theta[q])
        cos[q] = np.cos(angle)
        sin[q] = np.sin(angle)


@njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _rows_plain(src, dst, xs, bv, cv, alpha, weight, d, y):
    """One head's state rows without options: dst = α src + w x Bᵀ, y = dst C + D x.
    ``src`` and ``dst`` must be different arrays (else the loop is not vectorised)."""
    p, n = src.shape
    for pi in range(p):
        xv = xs[pi]
        wx = weight * xv
        s = src[pi]
        o = dst[pi]
        acc = xv - xv  # zero of the dtype
        for j in range(n):
            v = alpha * s[j] + wx * bv[j]
            o[j] = v
            acc += v * cv[j]
        y[pi] = acc + d * xv


@njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _rows_options(
    src, dst, xs, bv, cv, alpha, weight, d, y, trap, beta, xps, bps, rot, cos, sin, row
):  # fmt: skip
    """As :func:`_rows_plain` with the Mamba-3 options: first + β x_{t-1} B_{t-1}ᵀ
    (trapezoid; ``xps``, ``bps`` the previous input), then the pairs (q, q + N/4) turned."""
    p, n = src.shape
    quarter = n // 4
    for pi in range(p):
        xv = xs[pi]
        wx = weight * xv
        s = src[pi]
        o = dst[pi]
        if trap:
            bx = beta * xps[pi]
            for j in range(n):
                row[j] = s[j] + bx * bps[j]
        else:
            for j in range(n):
                row[j] = s[j]
        if rot:
            for q in range(quarter):
                first, second = row[q], row[q + quarter]
                row[q] = first * cos[q] - second * sin[q]
                row[q + quarter] = first * sin[q] + second * cos[q]
        acc = xv - xv
        for j in range(n):
            v = alpha * row[j] + wx * bv[j]
            o[j] = v
            acc += v * cv[j]
        y[pi] = acc + d * xv


@njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def block_step_kernel(
    x, norm_w, eps, w_in, dt_bias, a_param, d_skip, w_out, h, x_prev, b_prev, meta,
    out, h_new, x_prev_new, b_prev_new,
):  # fmt: skip
    """One block (or bare mixer) step for every row of ``x`` (batch, d_model) into ``out``
    and ``h_new`` (and, with the trapezoid, ``x_prev_new``/``b_prev_new``): RMSNorm (when
    ``meta[17]``), the input projection, the state update, ``h C + D x``, the SiLU gate,
    the output projection, the residual (when ``meta[18]``). Weights are (out, in)."""
    real = x.dtype.type
    batch, d_model = x.shape
    heads, groups, k, p, n, group_width = meta[0], meta[1], meta[2], meta[3], meta[4], meta[5]
    off_z, off_x, off_b, off_c, off_theta = meta[6], meta[7], meta[8], meta[9], meta[13]
    trap, rot, norm, residual = meta[14], meta[15], meta[17], meta[18]
    quarter = n // 4
    u = np.empty(d_model, x.dtype)
    proj = np.empty(w_in.shape[0], x.dtype)
    ys = np.empty(heads * p, x.dtype)
    mixed = np.empty(d_model, x.dtype)
    row = np.empty(n, x.dtype)
    cos = np.empty(max(quarter, 1), x.dtype)
    sin = np.empty(max(quarter, 1), x.dtype)
    for bi in range(batch):
        if norm:
            ss = real(0.0)
            for i in range(d_model):
                ss += x[bi, i] * x[bi, i]
            r = real(1.0 / math.sqrt(ss / d_model + eps))
            for i in range(d_model):
                u[i] = x[bi, i] * r * norm_w[i]
        else:
            for i in range(d_model):
                u[i] = x[bi, i]
        _matvec(w_in, u, proj)
        for g in range(groups):
            base = g * group_width
            bv = proj[base + off_b : base + off_b + n]
            cv = proj[base + off_c : base + off_c + n]
            if rot:
                _angles(proj[base + off_theta : base + off_theta + quarter], cos, sin)
            for kk in range(k):
                hh = g * k + kk
                alpha, weight, beta = _head_scalars(proj, base, kk, hh, dt_bias, a_param, meta)
                xs = proj[base + off_x + kk * p : base + off_x + (kk + 1) * p]
                y = ys[hh * p : (hh + 1) * p]
                if trap or rot:
                    _rows_options(
                        h[bi, hh], h_new[bi, hh], xs, bv, cv, alpha, weight, d_skip[hh], y,
                        trap, beta, x_prev[bi, hh] if trap else xs,
                        b_prev[bi, g] if trap else bv, rot, cos, sin, row,
                    )  # fmt: skip
                else:
                    _rows_plain(h[bi, hh], h_new[bi, hh], xs, bv, cv, alpha, weight, d_skip[hh], y)
                for pi in range(p):  # the SiLU gate
                    z = proj[base + off_z + kk * p + pi]
                    y[pi] = y[pi] * (z / (real(1.0) + np.exp(-z)))
                if trap:
                    x_prev_new[bi, hh] = xs
            if trap:
                b_prev_new[bi, g] = bv
        _matvec(w_out, ys, mixed)
        for j in range(d_model):
            out[bi, j] = mixed[j] + x[bi, j] if residual else mixed[j]


@njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def sequence_kernel(
    proj, dt_bias, a_param, d_skip, h0, x_prev, b_prev, meta,
    y, h_out, x_prev_out, b_prev_out,
):  # fmt: skip
    """The SSD over time on a projection ``proj`` (batch, T >= 1, width) from torch, one
    head at a time so its (P, N) state stays in L1 (two buffers, swapped each step):
    ``y`` (batch, T, H * P) gets ``h_t C_t + D x_t`` (the gate is left to the caller,
    vectorised), ``h_out`` the state after the last step (and the trapezoid's carry)."""
    batch, length, _ = proj.shape
    groups, k, p, n, group_width = meta[1], meta[2], meta[3], meta[4], meta[5]
    off_x, off_b, off_c, off_theta = meta[7], meta[8], meta[9], meta[13]
    trap, rot = meta[14], meta[15]
    quarter = n // 4
    cos = np.empty((length, max(quarter, 1)), proj.dtype)
    sin = np.empty((length, max(quarter, 1)), proj.dtype)
    buffers = np.empty((2, p, n), proj.dtype)
    row = np.empty(n, proj.dtype)
    for bi in range(batch):
        for g in range(groups):
            base = g * group_width
            if rot:
                for t in range(length):
                    theta = proj[bi, t, base + off_theta : base + off_theta + quarter]
                    _angles(theta, cos[t], sin[t])
            for kk in range(k):
                hh = g * k + kk
                src = h0[bi, hh]
                for t in range(length):
                    cur = proj[bi, t]
                    dst = buffers[t % 2]
                    alpha, weight, beta = _head_scalars(cur, base, kk, hh, dt_bias, a_param, meta)
                    xs = cur[base + off_x + kk * p : base + off_x + (kk + 1) * p]
                    bv = cur[base + off_b : base + off_b + n]
                    cv = cur[base + off_c : base + off_c + n]
                    ys = y[bi, t, hh * p : (hh + 1) * p]
                    if trap or rot:
                        xps, bps = xs, bv  # unused without the trapezoid
                        if trap and t == 0:
                            xps, bps = x_prev[bi, hh], b_prev[bi, g]
                        elif trap:
                            last = proj[bi, t - 1]
                            xps = last[base + off_x + kk * p : base + off_x + (kk + 1) * p]
                            bps = last[base + off_b : base + off_b + n]
                        _rows_options(
                            src, dst, xs, bv, cv, alpha, weight, d_skip[hh], ys,
                            trap, beta, xps, bps, rot, cos[t], sin[t], row,
                        )  # fmt: skip
                    else:
                        _rows_plain(src, dst, xs, bv, cv, alpha, weight, d_skip[hh], ys)
                    src = dst
                h_out[bi, hh] = src
            if trap:
                last = proj[bi, length - 1]
                b_prev_out[bi, g] = last[base + off_b : base + off_b + n]
                for kk in range(k):
                    start = base + off_x + kk * p
                    x_prev_out[bi, g * k + kk] = last[start : start + p]
