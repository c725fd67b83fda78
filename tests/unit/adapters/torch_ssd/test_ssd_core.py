"""The chunked SSD against its own step recurrence: exact, for every option and shape."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.adapters.torch_ssd.ssd_core import (
    SSDState,
    rotate,
    ssd_chunked,
    ssd_naive,
    ssd_step,
)
from tests.unit.adapters.torch_ssd.helpers import Shape, random_inputs

shapes = st.builds(
    Shape,
    batch=st.integers(1, 2),
    length=st.integers(1, 40),
    groups=st.integers(1, 2),
    heads_per_group=st.integers(1, 2),
    head_dim=st.integers(1, 4),
    state_dim=st.sampled_from([4, 8]),
)
options = st.fixed_dictionaries(
    {
        "trapezoidal": st.booleans(),
        "rotation": st.booleans(),
        "data_dependent_decay": st.booleans(),
    }
)


def f64(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def max_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max()) if a.numel() else 0.0


class TestChunkedEqualsTheStepRecurrence:
    @settings(max_examples=60, deadline=None)
    @given(shape=shapes, chunk=st.integers(1, 16), opts=options, seed=st.integers(0, 2**16))
    def test_float64_outputs_and_state_agree_within_1e_10(self, shape, chunk, opts, seed):
        inputs = random_inputs(shape, seed, **opts)
        y_chunked, s_chunked = ssd_chunked(**inputs, chunk=chunk)
        y_naive, s_naive = ssd_naive(**inputs)
        assert max_error(y_chunked, y_naive) <= 1e-10
        assert max_error(s_chunked.h, s_naive.h) <= 1e-10
        if opts["trapezoidal"]:
            assert torch.equal(s_chunked.x_prev, s_naive.x_prev)
            assert torch.equal(s_chunked.B_prev, s_naive.B_prev)

    @settings(max_examples=40, deadline=None)
    @given(shape=shapes, chunk=st.integers(1, 16), opts=options, seed=st.integers(0, 2**16))
    def test_float32_agrees_with_the_float64_reference_within_1e_4(self, shape, chunk, opts, seed):
        reference, _ = ssd_naive(**random_inputs(shape, seed, **opts))
        inputs = random_inputs(shape, seed, **opts, dtype=torch.float32)
        y_chunked, _ = ssd_chunked(**inputs, chunk=chunk)
        assert y_chunked.dtype == torch.float32
        torch.testing.assert_close(y_chunked.double(), reference, rtol=1e-4, atol=1e-4)

    @pytest.mark.parametrize("length", [1, 7, 63, 64, 65, 130])
    def test_lengths_below_at_and_above_the_chunk_are_exact(self, length):
        shape = Shape(1, length, 1, 2, 3, 8)
        inputs = random_inputs(shape, 5, trapezoidal=True, rotation=True)
        y_chunked, state = ssd_chunked(**inputs, chunk=64)
        y_naive, reference = ssd_naive(**inputs)
        assert y_chunked.shape == (1, length, 2, 3)
        assert max_error(y_chunked, y_naive) <= 1e-10
        assert max_error(state.h, reference.h) <= 1e-10

    def test_an_empty_sequence_returns_no_output_and_the_same_state(self):
        inputs = random_inputs(Shape(2, 0, 1, 1, 2, 4), 1)
        y, state = ssd_chunked(**inputs, chunk=4)
        assert y.shape == (2, 0, 1, 2)
        assert state is inputs["state"]


class TestTheOptionsAreTheirClaimedRecurrences:
    def test_trapezoid_with_lambda_one_is_the_euler_update(self):
        shape = Shape(2, 9, 1, 2, 3, 4)
        euler = random_inputs(shape, 3)
        trapezoid = random_inputs(shape, 3, trapezoidal=True)
        trapezoid["lam"] = torch.ones_like(trapezoid["lam"])
        carried = trapezoid["state"]
        trapezoid["state"] = SSDState(euler["state"].h, carried.x_prev, carried.B_prev)
        y_euler, _ = ssd_chunked(**euler, chunk=4)
        y_trapezoid, _ = ssd_chunked(**trapezoid, chunk=4)
        assert max_error(y_euler, y_trapezoid) <= 1e-12

    def test_trapezoid_with_lambda_below_one_changes_the_output(self):
        shape = Shape(1, 9, 1, 1, 3, 4)
        euler = random_inputs(shape, 3)
        trapezoid = dict(euler, lam=torch.full((1, 9, 1), 0.5, dtype=torch.float64))
        trapezoid["state"] = SSDState(
            euler["state"].h,
            torch.zeros(1, 1, 3, dtype=torch.float64),
            torch.zeros(1, 1, 4, dtype=torch.float64),
        )
        assert (
            max_error(ssd_chunked(**euler, chunk=4)[0], ssd_chunked(**trapezoid, chunk=4)[0]) > 1e-3
        )

    def test_the_trapezoid_step_is_the_formula_of_the_issue(self):
        g = torch.Generator().manual_seed(0)
        h, x_prev, b_prev, x, b, c = (
            torch.randn(s, generator=g, dtype=torch.float64) for s in ((2, 3), 2, 3, 2, 3, 3)
        )
        dt, a, lam = 0.3, -0.7, 0.25
        state = SSDState(h[None, None], x_prev[None, None], b_prev[None, None])
        y, new = ssd_step(
            x[None, None],
            f64([[dt]]),
            f64([a]),
            b[None, None],
            c[None, None],
            state,
            f64([[lam]]),
        )
        alpha = math.exp(dt * a)
        beta, gamma = (1 - lam) * dt * alpha, lam * dt
        expected = alpha * h + beta * torch.outer(x_prev, b_prev) + gamma * torch.outer(x, b)
        assert max_error(new.h[0, 0], expected) <= 1e-14
        assert max_error(y[0, 0], expected @ c) <= 1e-14

    def test_the_rotation_step_turns_the_state_before_adding_the_input(self):
        g = torch.Generator().manual_seed(1)
        h, x, b, c = (torch.randn(s, generator=g, dtype=torch.float64) for s in ((2, 4), 2, 4, 4))
        dt, a, angle = 0.4, -0.5, 0.8
        y, new = ssd_step(
            x[None, None],
            f64([[dt]]),
            f64([a]),
            b[None, None],
            c[None, None],
            SSDState(h[None, None]),
            theta=f64([[[angle]]]),
        )
        rotation = torch.eye(4, dtype=torch.float64)  # N=4: dims (0, 1) turn, 2 and 3 stay
        rotation[:2, :2] = f64(
            [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
        )
        expected = math.exp(dt * a) * h @ rotation.T + dt * torch.outer(x, b)
        assert max_error(new.h[0, 0], expected) <= 1e-14
        assert max_error(y[0, 0], expected @ c) <= 1e-14

    def test_rotation_by_zero_angles_is_no_rotation(self):
        shape = Shape(1, 11, 2, 1, 2, 8)
        plain = random_inputs(shape, 9)
        rotated = dict(plain, theta=torch.zeros(1, 11, 2, 2, dtype=torch.float64))
        assert (
            max_error(ssd_chunked(**plain, chunk=4)[0], ssd_chunked(**rotated, chunk=4)[0]) <= 1e-12
        )

    def test_rotation_turns_only_the_first_half_of_the_state(self):
        v = torch.arange(8.0, dtype=torch.float64)
        turned = rotate(v, torch.full((2,), math.pi / 2, dtype=torch.float64))
        # pairs (0, 2) and (1, 3) turn a quarter: (a, b) -> (-b, a); dims 4..7 stay
        assert torch.allclose(
            turned, torch.tensor([-2.0, -3.0, 0.0, 1.0, 4, 5, 6, 7], dtype=torch.float64)
        )
        assert torch.allclose(turned.norm(), v.norm())

    def test_rotation_with_angles_changes_the_output(self):
        shape = Shape(1, 11, 1, 1, 2, 8)
        plain = random_inputs(shape, 9)
        rotated = random_inputs(shape, 9, rotation=True)
        rotated["theta"] = torch.full_like(rotated["theta"], 1.0)
        assert (
            max_error(ssd_chunked(**plain, chunk=4)[0], ssd_chunked(**rotated, chunk=4)[0]) > 1e-3
        )

    def test_long_sequences_with_large_cumulative_angles_stay_exact_in_float32(self):
        shape = Shape(1, 600, 1, 1, 2, 8)
        inputs = random_inputs(shape, 2, rotation=True)
        inputs["theta"] = torch.full_like(inputs["theta"], 3.0)  # Φ reaches 1800 radians
        reference, _ = ssd_naive(**inputs)
        y32, _ = ssd_chunked(**random_inputs(shape, 2, rotation=True, dtype=torch.float32) | {
            "theta": torch.full((1, 600, 1, 2), 3.0)}, chunk=64)  # fmt: skip
        torch.testing.assert_close(y32.double(), reference, rtol=1e-4, atol=1e-4)


class TestGradients:
    @pytest.mark.parametrize("trapezoidal,rotation", [(False, False), (True, True)])
    def test_gradcheck_in_float64_on_a_tiny_problem(self, trapezoidal, rotation):
        inputs = random_inputs(
            Shape(1, 5, 1, 2, 2, 4), 4, trapezoidal=trapezoidal, rotation=rotation,
            data_dependent_decay=True,
        )  # fmt: skip
        names = [k for k in ("x", "dt", "A", "B", "C", "lam", "theta") if inputs[k] is not None]
        leaves = [inputs[k].clone().requires_grad_(True) for k in names]
        h0 = inputs["state"].h.clone().requires_grad_(True)

        def run(*args):
            kwargs = dict(zip(names, args[:-1], strict=True))
            state = SSDState(args[-1], inputs["state"].x_prev, inputs["state"].B_prev)
            y, last = ssd_chunked(**{**inputs, **kwargs, "state": state}, chunk=2)
            return y, last.h

        assert torch.autograd.gradcheck(run, (*leaves, h0), eps=1e-6, atol=1e-7)


class TestStrongDecay:
    @pytest.mark.parametrize("scale", [1.0, 20.0])
    def test_float32_stays_within_tolerance_when_a_chunk_decays_by_hundreds(self, scale):
        shape = Shape(2, 300, 1, 2, 4, 8)
        reference_inputs = random_inputs(shape, 1, data_dependent_decay=True)
        inputs = random_inputs(shape, 1, data_dependent_decay=True, dtype=torch.float32)
        reference_inputs["A"] = reference_inputs["A"] * scale
        inputs["A"] = inputs["A"] * scale
        reference, _ = ssd_naive(**reference_inputs)
        y, _ = ssd_chunked(**inputs, chunk=64)
        torch.testing.assert_close(y.double(), reference, rtol=1e-4, atol=1e-4)
