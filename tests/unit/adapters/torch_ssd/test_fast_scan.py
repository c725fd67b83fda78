"""The compiled scan over time (the CPU inference forward) against the chunked form and the
step loop: exact to rounding for every option, chosen by ``method="auto"`` only where right."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.adapters.torch_ssd.blocks import SSDBlock
from emp.adapters.torch_ssd.ssd_core import SSDState
from emp.ports.signal_model import SignalModelError
from tests.unit.adapters.torch_ssd.helpers import (
    ALL_OPTIONS,
    assert_states_close,
    configs,
    float32_twins,
    inputs,
    make_block,
    make_config,
    max_abs,
    random_state,
    seeded_case,
)

_SMALL = {"d_model": 6, "head_dim": 3, "state_dim": 8, "heads_per_group": 2, "n_groups": 2}


def mixer_run(block: SSDBlock, x: torch.Tensor, state: SSDState | None, method: str):
    with torch.no_grad():
        return block.mixer(block.norm(x), state, method=method)


class TestTheScanEqualsTheChunkedFormAndTheStepLoop:
    @settings(max_examples=40, deadline=None)
    @given(
        spec=configs, batch=st.integers(1, 3), length=st.integers(1, 40), seed=st.integers(0, 999)
    )
    def test_float64_scan_equals_chunked_and_naive_within_1e_10(self, spec, batch, length, seed):
        block, x, start = seeded_case(spec, batch, length, seed)
        y_scan, s_scan = mixer_run(block, x, start, "scan")
        for method in ("chunked", "naive"):
            y_ref, s_ref = mixer_run(block, x, start, method)
            assert max_abs(y_scan - y_ref) <= 1e-10
            assert_states_close(s_scan, s_ref, 1e-10)

    @settings(max_examples=30, deadline=None)
    @given(
        spec=configs, batch=st.integers(1, 3), length=st.integers(1, 40), seed=st.integers(0, 999)
    )
    def test_float32_scan_agrees_with_the_float64_reference_within_1e_4(
        self, spec, batch, length, seed
    ):
        reference_block, block32, x = float32_twins(spec, batch, length, seed)
        reference, _ = mixer_run(reference_block, x, None, "naive")
        y32, state32 = mixer_run(block32, x.float(), None, "scan")
        assert y32.dtype == torch.float32 and state32.h.dtype == torch.float32
        torch.testing.assert_close(y32.double(), reference, rtol=1e-4, atol=1e-4)

    def test_at_the_benchmark_size_float32_agrees_with_the_float64_reference(self):
        config = make_config(
            {"d_model": 256, "head_dim": 64, "state_dim": 64, "heads_per_group": 4, "n_groups": 1}
        )
        reference_block = make_block(config, 0, perturb=False)
        block = make_block(config, 0, torch.float32, perturb=False)
        x = inputs(2, 100, 256, 1)
        y32, s32 = mixer_run(block, x.float(), None, "scan")
        reference, s_ref = mixer_run(reference_block, x, None, "chunked")
        torch.testing.assert_close(y32.double(), reference, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(s32.h.double(), s_ref.h, rtol=1e-4, atol=1e-4)


class TestAutoChoosesTheScanOnlyWhereItIsRight:
    def test_in_inference_auto_runs_the_scan_not_the_chunked_form(self, monkeypatch):
        block = make_block(make_config({**_SMALL, **ALL_OPTIONS}), 1)
        x = inputs(2, 9, 6, 2)
        expected, _ = mixer_run(block, x, None, "scan")

        def refuse(*_args, **_kwargs):
            raise AssertionError("the chunked form ran")

        monkeypatch.setattr("emp.adapters.torch_ssd.mixer.ssd_chunked", refuse)
        with torch.inference_mode():
            y, _ = block.stream(x)
        assert max_abs(y - (x + expected)) <= 1e-12

    def test_when_gradients_are_needed_auto_runs_the_chunked_form_and_they_flow(self):
        block = make_block(make_config(_SMALL), 2).train().requires_grad_(True)
        x = inputs(2, 9, 6, 3).requires_grad_(True)
        y, _ = block.stream(x)
        y.square().sum().backward()
        assert y.grad_fn is not None and x.grad is not None
        assert block.mixer.in_proj.weight.grad is not None

    def test_asking_for_the_scan_where_a_gradient_is_needed_is_refused(self):
        block = make_block(make_config(_SMALL), 3).requires_grad_(True)
        with pytest.raises(SignalModelError, match="method 'scan'.*use 'chunked'"):
            block.stream(inputs(1, 5, 6, 4), method="scan")

    def test_the_carried_state_is_never_changed_by_the_scan(self):
        block = make_block(make_config({**_SMALL, **ALL_OPTIONS}), 5)
        start = random_state(block, 2, 6)
        copy = SSDState(start.h.clone(), start.x_prev.clone(), start.B_prev.clone())
        x = inputs(2, 7, 6, 7)
        first, _ = mixer_run(block, x, start, "scan")
        second, _ = mixer_run(block, x, start, "scan")
        assert torch.equal(first, second) and torch.equal(start.h, copy.h)
        assert torch.equal(start.x_prev, copy.x_prev) and torch.equal(start.B_prev, copy.B_prev)

    def test_a_wrong_state_is_still_refused_in_inference(self):
        block = make_block(make_config(_SMALL), 8)
        with torch.no_grad():
            _, state = block.stream(inputs(2, 4, 6, 9))
            with pytest.raises(SignalModelError, match=r"expected a state with h of shape \(3, "):
                block.stream(inputs(3, 4, 6, 9), state)
