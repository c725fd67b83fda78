"""The fused inference step (one numba kernel) against the eager reference step and the
chunked forward: exact to rounding for every option, used where it applies, never wrong."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.adapters.torch_ssd.blocks import SSDBlock
from emp.adapters.torch_ssd.config import SSDConfig
from emp.adapters.torch_ssd.dataset import Normalization
from emp.adapters.torch_ssd.fast_step import FusedStepper
from emp.adapters.torch_ssd.mixer import SSDMixer
from emp.adapters.torch_ssd.network import SignalNetConfig, build_signal_net
from emp.adapters.torch_ssd.signal_model import TorchSignalModel
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


def fused_steps(block: SSDBlock, x: torch.Tensor, state: SSDState | None):
    """T single steps through block.step in inference (the fused kernel), stacked."""
    ys = []
    with torch.inference_mode():
        for t in range(x.shape[1]):
            y, state = block.step(x[:, t], state)
            ys.append(y)
    return torch.stack(ys, dim=1), state


def general_steps(block: SSDBlock, x: torch.Tensor, state: SSDState | None):
    """The same T steps by the eager reference step."""
    ys = []
    state = state or block.initial_state(x.shape[0])
    with torch.no_grad():
        for t in range(x.shape[1]):
            y, state = block.general_step(x[:, t], state)
            ys.append(y)
    return torch.stack(ys, dim=1), state


class TestTheFusedStepEqualsTheReference:
    @settings(max_examples=40, deadline=None)
    @given(
        spec=configs, batch=st.integers(1, 3), length=st.integers(1, 6), seed=st.integers(0, 999)
    )
    def test_float64_fused_steps_equal_the_eager_step_within_1e_10(self, spec, batch, length, seed):
        block, x, start = seeded_case(spec, batch, length, seed)
        y_fused, s_fused = fused_steps(block, x, start)
        y_general, s_general = general_steps(block, x, start)
        assert max_abs(y_fused - y_general) <= 1e-10
        assert_states_close(s_fused, s_general, 1e-10)

    @settings(max_examples=30, deadline=None)
    @given(
        spec=configs, batch=st.integers(1, 3), length=st.integers(1, 40), seed=st.integers(0, 999)
    )
    def test_float64_fused_steps_equal_the_chunked_forward_within_1e_10(
        self, spec, batch, length, seed
    ):
        block, x, start = seeded_case(spec, batch, length, seed)
        y_fused, s_fused = fused_steps(block, x, start)
        with torch.no_grad():
            y_chunked, s_chunked = block.mixer(block.norm(x), start)
        assert max_abs(y_fused - (x + y_chunked)) <= 1e-10
        assert_states_close(s_fused, s_chunked, 1e-10)

    @settings(max_examples=30, deadline=None)
    @given(
        spec=configs, batch=st.integers(1, 3), length=st.integers(1, 30), seed=st.integers(0, 999)
    )
    def test_float32_fused_steps_agree_with_the_float64_reference_within_1e_4(
        self, spec, batch, length, seed
    ):
        reference_block, block32, x = float32_twins(spec, batch, length, seed)
        reference, _ = general_steps(reference_block, x, None)
        chunked32, _ = block32.stream(x.float())
        y32, state32 = fused_steps(block32, x.float(), None)
        assert y32.dtype == torch.float32 and state32.h.dtype == torch.float32
        torch.testing.assert_close(y32.double(), reference, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(y32, chunked32.detach(), rtol=1e-4, atol=1e-4)

    def test_at_the_benchmark_size_float32_agrees_with_the_float64_reference(self):
        config = SSDConfig(d_model=256, head_dim=64, state_dim=64, dt_max=0.5)
        reference_block = make_block(config, 0, perturb=False)
        block = make_block(config, 0, torch.float32, perturb=False)
        x = inputs(1, 50, 256, 1)
        y_fused, s_fused = fused_steps(block, x.float(), None)
        reference, s_reference = general_steps(reference_block, x, None)
        torch.testing.assert_close(y_fused.double(), reference, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(s_fused.h.double(), s_reference.h, rtol=1e-4, atol=1e-4)

    @pytest.mark.parametrize("options", [{}, ALL_OPTIONS])
    def test_the_bare_mixer_step_is_fused_too_and_equal(self, options):
        config = make_config(
            {"d_model": 6, "head_dim": 3, "state_dim": 8, "heads_per_group": 2, "n_groups": 1}
            | options
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(4)
            mixer = SSDMixer(config).double()
        x = inputs(2, 9, 6, 5)
        state_f = state_g = mixer.initial_state(2)
        with torch.inference_mode():
            for t in range(9):
                y_f, state_f = mixer.step(x[:, t], state_f)
                y_g, state_g = mixer.general_step(x[:, t], state_g)
                assert max_abs(y_f - y_g) <= 1e-10
        assert mixer._fused is not None
        assert_states_close(state_f, state_g, 1e-10)


class TestStreamingWithTheFusedStep:
    @settings(max_examples=25, deadline=None)
    @given(
        opts=st.fixed_dictionaries({k: st.booleans() for k in ALL_OPTIONS}),
        cuts=st.lists(st.integers(0, 21), max_size=5),
        seed=st.integers(0, 999),
    )
    def test_any_split_with_single_step_pieces_equals_one_call(self, opts, cuts, seed):
        spec = {"d_model": 8, "head_dim": 2, "state_dim": 8, "heads_per_group": 2, "n_groups": 2}
        block = make_block(make_config(spec | opts), seed)
        x = inputs(2, 21, 8, seed)
        bounds = sorted({0, 21, *cuts, *(c + 1 for c in cuts if c < 21)})  # 1-step pieces
        with torch.inference_mode():
            whole, last = block.stream(x)
            state, pieces = None, []
            for start, stop in itertools.pairwise(bounds):
                y, state = block.stream(x[:, start:stop], state)
                pieces.append(y)
        assert max_abs(torch.cat(pieces, dim=1) - whole) <= 1e-10
        assert_states_close(state, last, 1e-10)

    def test_a_one_step_sequence_in_inference_takes_the_fused_kernel(self, monkeypatch):
        block = make_block(make_config({**_SMALL, **ALL_OPTIONS}), 1)

        def refuse(*_args, **_kwargs):
            raise AssertionError("the eager path ran")

        monkeypatch.setattr(block.mixer, "forward", refuse)
        monkeypatch.setattr(block, "general_step", refuse)
        with torch.inference_mode():
            y, state = block.stream(inputs(2, 1, 6, 2))
            y, state = block.stream(inputs(2, 1, 6, 3), state)
        assert y.shape == (2, 1, 6) and isinstance(block._fused, FusedStepper)

    def test_the_signal_model_fed_bar_by_bar_uses_the_fused_step(self, monkeypatch):
        config = SignalNetConfig(n_features=3, d_model=8, head_dim=4, state_dim=4, chunk=8)
        net = build_signal_net(config, seed=0).double()
        normalization = Normalization(
            feature_mean=np.zeros(3), feature_scale=np.ones(3), target_scale=1.0
        )
        features = np.random.default_rng(0).normal(size=(30, 3))
        whole = TorchSignalModel(net, normalization).predict(features)
        calls = []
        original = FusedStepper.try_step

        def counting(self, x, state):
            result = original(self, x, state)
            calls.append(result is not None)
            return result

        monkeypatch.setattr(FusedStepper, "try_step", counting)
        model = TorchSignalModel(net, normalization)
        bars = np.concatenate([model.predict(features[t : t + 1]) for t in range(30)])
        assert np.allclose(bars, whole, rtol=0, atol=1e-10)
        assert len(calls) >= 30 * config.n_layers and all(calls[-30 * config.n_layers :])


_SMALL = {"d_model": 6, "head_dim": 3, "state_dim": 8, "heads_per_group": 1, "n_groups": 2}


class TestTheFusedStepIsUsedOnlyWhereItIsRight:
    def test_with_gradients_needed_the_eager_step_runs_and_gradients_flow(self):
        block = make_block(make_config(_SMALL), 2).train()
        for parameter in block.parameters():
            parameter.requires_grad_(True)
        y, _ = block.step(inputs(2, 1, 6, 3)[:, 0])
        assert y.grad_fn is not None
        y.sum().backward()
        assert block.mixer.in_proj.weight.grad is not None

    def test_in_inference_the_output_carries_no_graph(self):
        block = make_block(make_config(_SMALL), 2)
        with torch.no_grad():
            y, _ = block.step(inputs(2, 1, 6, 3)[:, 0])
        assert y.grad_fn is None and isinstance(block._fused, FusedStepper)

    def test_the_state_given_is_never_changed(self):
        block = make_block(make_config({**_SMALL, **ALL_OPTIONS}), 3)
        start = random_state(block, 2, 4)
        copy = SSDState(start.h.clone(), start.x_prev.clone(), start.B_prev.clone())
        x = inputs(2, 1, 6, 5)[:, 0]
        with torch.inference_mode():
            first, _ = block.step(x, start)
            second, _ = block.step(x, start)
        assert torch.equal(first, second)
        assert torch.equal(start.h, copy.h) and torch.equal(start.x_prev, copy.x_prev)
        assert torch.equal(start.B_prev, copy.B_prev)

    def test_in_place_weight_updates_are_seen_at_once(self):
        block = make_block(make_config(_SMALL), 4)
        x = inputs(1, 1, 6, 6)[:, 0]
        with torch.no_grad():
            before, _ = block.step(x)
            block.mixer.in_proj.weight.data.mul_(2.0)  # not even tracked by _version
            after, _ = block.step(x)
            reference, _ = block.general_step(x, block.initial_state(1))
        assert max_abs(after - before) > 1e-6
        assert max_abs(after - reference) <= 1e-10

    def test_replaced_parameters_rebuild_the_kernel_binding(self):
        block = make_block(make_config(_SMALL), 5, torch.float32)
        x = inputs(1, 1, 6, 7)
        with torch.no_grad():
            block.step(x[:, 0].float())
            first = block._fused
            block.double()  # new storage for every parameter
            y, _ = block.step(x[:, 0])
            block.mixer.D = torch.nn.Parameter(block.mixer.D * 3.0)
            y3, _ = block.step(x[:, 0])
            reference, _ = block.general_step(x[:, 0], block.initial_state(1))
        assert block._fused is not first and y.dtype == torch.float64
        assert max_abs(y3 - reference) <= 1e-10 and max_abs(y3 - y) > 1e-6

    def test_a_deep_copy_steps_with_its_own_weights(self):
        block = make_block(make_config(_SMALL), 9)
        x = inputs(1, 1, 6, 10)[:, 0]
        with torch.no_grad():
            original, _ = block.step(x)
            twin = copy.deepcopy(block)
            twin.mixer.D.mul_(3.0)
            changed, _ = twin.step(x)
            again, _ = block.step(x)
            reference, _ = twin.general_step(x, twin.initial_state(1))
        assert torch.equal(again, original) and max_abs(changed - original) > 1e-6
        assert max_abs(changed - reference) <= 1e-10

    @pytest.mark.filterwarnings("ignore:Mismatch dtype between input and weight")  # torch's
    def test_parameters_in_mixed_dtypes_take_the_eager_step(self):
        block = make_block(make_config(_SMALL), 10)
        block.norm.float()  # the kernels read every parameter in one dtype
        x = inputs(1, 1, 6, 11)[:, 0]
        with torch.no_grad():
            y, _ = block.step(x)
        assert block._fused is None and y.dtype == torch.float64

    def test_strided_inputs_and_states_are_handled(self):
        block = make_block(make_config({**_SMALL, "trapezoidal": True}), 6)
        x = inputs(3, 4, 6, 8)
        with torch.no_grad():
            _, state = block.stream(x[:, :3], method="chunked")  # strided x_prev, B_prev
            y, _ = block.step(x[:, 3], state)
            reference, _ = block.general_step(x[:, 3], state)
        assert not state.x_prev.is_contiguous()
        assert max_abs(y - reference) <= 1e-10

    def test_wrong_shapes_are_still_refused_after_the_kernel_is_bound(self):
        block = make_block(make_config(_SMALL), 7)
        with torch.no_grad():
            _, state = block.step(inputs(2, 1, 6, 9)[:, 0])
            with pytest.raises(SignalModelError, match=r"expected input of shape \(batch, 6\)"):
                block.step(torch.zeros(2, 5, dtype=torch.float64), state)
            with pytest.raises(SignalModelError, match=r"expected a state with h of shape \(3, "):
                block.step(torch.zeros(3, 6, dtype=torch.float64), state)
            with pytest.raises(SignalModelError, match="expected input of dtype torch.float64"):
                block.step(torch.zeros(2, 6, dtype=torch.float32), state)

    def test_a_euler_state_is_refused_by_a_trapezoidal_block_in_inference(self):
        block = make_block(make_config({**_SMALL, "trapezoidal": True}), 8)
        with torch.no_grad():
            block.step(inputs(1, 1, 6, 1)[:, 0])
            euler = SSDState(torch.zeros(1, 2, 3, 8, dtype=torch.float64))
            with pytest.raises(SignalModelError, match="trapezoidal state"):
                block.step(inputs(1, 1, 6, 2)[:, 0], euler)
