"""The SSD block as a drop-in block: shapes, dtypes, devices, streaming, determinism, errors."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.adapters.torch_ssd.blocks import (
    LSTMBlock,
    SSDBlock,
    lstm_block_parameter_count,
    ssd_block_parameter_count,
)
from emp.adapters.torch_ssd.config import SSDConfig
from emp.adapters.torch_ssd.mixer import SSDMixer, projection_layout
from emp.ports.signal_model import SignalModelError

ALL_OPTIONS = {"trapezoidal": True, "rotation": True, "data_dependent_decay": True}


def make_block(seed: int = 0, dtype: torch.dtype = torch.float64, **options) -> SSDBlock:
    config = SSDConfig(
        d_model=12, head_dim=3, state_dim=8, n_groups=2, chunk=5, dt_max=0.5, **options
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SSDBlock(config).to(dtype)


def sequence(batch: int, length: int, d_model: int = 12, seed: int = 1, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, length, d_model, generator=g, dtype=torch.float64).to(dtype)


def max_abs(t: torch.Tensor) -> float:
    return float(t.detach().abs().max())


def all_options():
    return st.fixed_dictionaries(
        {k: st.booleans() for k in ("trapezoidal", "rotation", "data_dependent_decay")}
    )


class TestDropInShapeDtypeDevice:
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_output_has_the_input_shape_dtype_and_device(self, dtype):
        block = make_block(dtype=dtype, **ALL_OPTIONS)
        x = sequence(3, 17, dtype=dtype)
        y = block(x)
        assert y.shape == x.shape and y.dtype == dtype and y.device == x.device

    def test_it_swaps_in_for_an_mlp_block_inside_a_sequential_backbone(self):
        backbone = torch.nn.Sequential(torch.nn.Linear(12, 12), make_block(dtype=torch.float32))
        x = sequence(2, 9, dtype=torch.float32)
        assert backbone(x).shape == (2, 9, 12)

    def test_the_block_is_not_the_identity(self):
        block = make_block(**ALL_OPTIONS)
        x = sequence(2, 20)
        mixed = block(x) - x
        assert max_abs(mixed) > 1e-3

    def test_the_block_is_causal(self):
        block = make_block(**ALL_OPTIONS)
        x = sequence(1, 30)
        changed = x.clone()
        changed[:, 20:] += 1.0
        assert torch.equal(block(x)[:, :20], block(changed)[:, :20])
        assert not torch.allclose(block(x)[:, 20:], block(changed)[:, 20:])

    @pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
    def test_on_cuda_the_chunked_form_matches_the_step_loop(self):
        block = make_block(**ALL_OPTIONS).cuda()
        x = sequence(2, 33).cuda()
        y_chunked, _ = block.stream(x)
        y_naive, _ = block.stream(x, method="naive")
        assert y_chunked.device.type == "cuda"
        assert max_abs(y_chunked - y_naive) <= 1e-10


class TestStreaming:
    @settings(max_examples=25, deadline=None)
    @given(
        opts=all_options(),
        cuts=st.lists(st.integers(0, 23), max_size=4),
        seed=st.integers(0, 1000),
    )
    def test_any_split_with_carried_state_equals_one_call(self, opts, cuts, seed):
        block = make_block(seed=seed % 7, **opts)
        x = sequence(2, 23, seed=seed)
        whole, last = block.stream(x)
        bounds = [0, *sorted(cuts), 23]
        state, pieces = None, []
        for start, stop in itertools.pairwise(bounds):
            y, state = block.stream(x[:, start:stop], state)
            pieces.append(y)
        assert max_abs(torch.cat(pieces, dim=1) - whole) <= 1e-10
        assert max_abs(state.h - last.h) <= 1e-10

    @pytest.mark.parametrize("options", [{}, ALL_OPTIONS])
    def test_single_steps_equal_one_call(self, options):
        block = make_block(**options)
        x = sequence(2, 19)
        whole, _ = block.stream(x)
        state, steps = None, []
        for t in range(19):
            y, state = block.step(x[:, t], state)
            steps.append(y)
        assert max_abs(torch.stack(steps, dim=1) - whole) <= 1e-10

    def test_the_naive_method_gives_the_chunked_numbers(self):
        block = make_block(**ALL_OPTIONS)
        x = sequence(2, 31)
        chunked, _ = block.stream(x)
        naive, _ = block.stream(x, method="naive")
        assert max_abs(chunked - naive) <= 1e-10


class TestDeterminism:
    def test_two_runs_with_one_seed_are_bit_identical_outputs_and_gradients(self):
        results = []
        for _ in range(2):
            block = make_block(seed=3, dtype=torch.float32, **ALL_OPTIONS)
            x = sequence(2, 40, dtype=torch.float32).requires_grad_(True)
            y = block(x)
            y.square().sum().backward()
            results.append((y.detach(), x.grad, [p.grad for p in block.parameters()]))
        (y1, gx1, g1), (y2, gx2, g2) = results
        assert torch.equal(y1, y2) and torch.equal(gx1, gx2)
        assert all(torch.equal(a, b) for a, b in zip(g1, g2, strict=True))

    def test_another_seed_gives_other_weights(self):
        assert not torch.equal(
            make_block(seed=1).mixer.in_proj.weight, make_block(seed=2).mixer.in_proj.weight
        )


class TestGradientsFlow:
    def test_gradcheck_of_a_tiny_block_with_every_option_in_float64(self):
        config = SSDConfig(d_model=4, head_dim=2, state_dim=4, chunk=3, dt_max=0.5, **ALL_OPTIONS)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            block = SSDBlock(config).double()
        x = sequence(1, 7, d_model=4).requires_grad_(True)
        assert torch.autograd.gradcheck(block, (x,), eps=1e-6, atol=1e-7)

    def test_every_parameter_receives_a_finite_nonzero_gradient(self):
        block = make_block(**ALL_OPTIONS)
        block(sequence(2, 16)).sin().sum().backward()
        for name, parameter in block.named_parameters():
            assert parameter.grad is not None, name
            assert torch.isfinite(parameter.grad).all(), name
            assert max_abs(parameter.grad) > 0, name


class TestTensorParallelLayout:
    def test_one_group_slice_holds_gate_input_b_c_step_and_the_enabled_options(self):
        config = SSDConfig(d_model=8, head_dim=2, state_dim=4, n_heads=4, n_groups=2, **ALL_OPTIONS)
        layout = projection_layout(config)
        assert layout.names == ("z", "x", "B", "C", "dt", "A", "lam", "theta")
        assert layout.widths == (4, 4, 4, 4, 2, 2, 2, 1)
        assert layout.span("B") == (8, 12) and layout.span("theta") == (22, 23)
        assert projection_layout(SSDConfig(d_model=8, head_dim=2, state_dim=4)).names == (
            "z", "x", "B", "C", "dt",
        )  # fmt: skip

    def test_splitting_the_projection_by_groups_splits_the_block_by_heads(self):
        config = SSDConfig(d_model=8, head_dim=2, state_dim=4, n_heads=4, n_groups=2, chunk=3)
        config = SSDConfig(**{**config.to_dict(), **ALL_OPTIONS})
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            full = SSDMixer(config).double()
        shard_config = SSDConfig(**{**config.to_dict(), "n_heads": 2, "n_groups": 1})
        width = projection_layout(config).group_width
        x = sequence(2, 10, d_model=8)
        total = torch.zeros(2, 10, 8, dtype=torch.float64)
        for rank in range(2):
            shard = SSDMixer(shard_config).double()
            heads, cols = slice(2 * rank, 2 * rank + 2), slice(4 * rank, 4 * rank + 4)
            with torch.no_grad():
                shard.in_proj.weight.copy_(full.in_proj.weight[rank * width : (rank + 1) * width])
                shard.out_proj.weight.copy_(full.out_proj.weight[:, cols])
                for name in ("dt_bias", "a_bias", "D"):
                    getattr(shard, name).copy_(getattr(full, name)[heads])
            total += shard(x)[0]
        assert max_abs(total - full(x)[0]) <= 1e-12


class TestErrors:
    def test_a_wrong_feature_size_names_expected_and_actual_shapes(self):
        with pytest.raises(
            SignalModelError, match=r"expected input of shape \(batch, seq, 12\).*was \(2, 5, 7\)"
        ):
            make_block()(torch.zeros(2, 5, 7, dtype=torch.float64))

    def test_a_step_with_a_sequence_is_refused(self):
        with pytest.raises(SignalModelError, match=r"\(batch, 12\)"):
            make_block().step(torch.zeros(2, 5, 12, dtype=torch.float64))

    def test_a_dtype_other_than_the_parameters_is_refused(self):
        with pytest.raises(SignalModelError, match="expected input of dtype torch.float64"):
            make_block()(torch.zeros(1, 3, 12, dtype=torch.float32))

    def test_a_state_of_another_batch_size_is_refused(self):
        block = make_block()
        _, state = block.stream(sequence(2, 4))
        with pytest.raises(SignalModelError, match=r"expected a state with h of shape \(3, "):
            block.stream(sequence(3, 4), state)

    def test_a_euler_state_is_refused_by_a_trapezoidal_block(self):
        _, state = make_block().stream(sequence(1, 4))
        with pytest.raises(SignalModelError, match="trapezoidal state"):
            make_block(trapezoidal=True).stream(sequence(1, 4), state)

    def test_an_unknown_method_is_refused(self):
        with pytest.raises(
            SignalModelError, match="expected method .auto., .chunked., .scan. or .naive."
        ):
            make_block().stream(sequence(1, 4), method="quadratic")

    def test_an_empty_sequence_gives_an_empty_output(self):
        assert make_block()(sequence(2, 0)).shape == (2, 0, 12)


class TestLSTMBaseline:
    def test_the_matched_lstm_has_the_ssd_block_parameter_count_within_one_percent(self):
        config = SSDConfig(d_model=256, head_dim=64, state_dim=64)
        ssd, lstm = SSDBlock(config), LSTMBlock.matching(config)
        n_ssd = sum(p.numel() for p in ssd.parameters())
        n_lstm = sum(p.numel() for p in lstm.parameters())
        assert n_ssd == ssd_block_parameter_count(config)
        assert n_lstm == lstm_block_parameter_count(256, lstm.hidden)
        assert abs(n_lstm - n_ssd) / n_ssd < 0.01

    def test_lstm_streaming_and_steps_equal_one_call(self):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            block = LSTMBlock(12, 7).double()
        x = sequence(2, 15)
        whole = block(x)
        first, state = block.stream(x[:, :6])
        steps = [first]
        for t in range(6, 15):
            y, state = block.step(x[:, t], state)
            steps.append(y[:, None])
        assert max_abs(torch.cat(steps, dim=1) - whole) <= 1e-12

    def test_lstm_refuses_a_wrong_shape(self):
        with pytest.raises(SignalModelError, match=r"expected input of shape \(batch, seq, 12\)"):
            LSTMBlock(12, 4)(torch.zeros(1, 3, 5))
