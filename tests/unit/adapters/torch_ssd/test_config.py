"""SSDConfig and SignalNetConfig: derived sizes, validation, and errors that suggest a fix."""

from __future__ import annotations

import pytest

from emp.adapters.torch_ssd.config import InvalidModelConfig, SSDConfig
from emp.adapters.torch_ssd.network import SignalNetConfig
from emp.adapters.torch_ssd.trainer import TrainConfig
from emp.domain.errors import InvalidConfiguration
from emp.ports.signal_model import SignalModelError


class TestDerivedSizes:
    def test_defaults_are_heads_of_64_with_a_state_of_64_and_chunks_of_64(self):
        config = SSDConfig(d_model=256)
        assert (config.head_dim, config.state_dim, config.chunk) == (64, 64, 64)
        assert config.heads == 4 and config.d_inner == 256

    def test_explicit_heads_set_the_inner_width(self):
        config = SSDConfig(d_model=100, head_dim=64, n_heads=3)
        assert config.d_inner == 192

    def test_the_config_round_trips_through_a_dict(self):
        config = SSDConfig(d_model=32, head_dim=8, rotation=True, trapezoidal=True)
        assert SSDConfig.from_dict(config.to_dict()) == config


class TestValidation:
    def test_a_d_model_not_divisible_by_head_dim_suggests_head_dims_and_n_heads(self):
        with pytest.raises(InvalidModelConfig) as caught:
            SSDConfig(d_model=100)
        message = str(caught.value)
        assert "divisible by head_dim (64)" in message
        assert "[1, 2, 4, 5, 10, 20, 25, 50, 100]" in message
        assert "multiple of 64" in message and "n_heads" in message

    @pytest.mark.parametrize(
        "field,value",
        [("head_dim", 0), ("state_dim", -1), ("chunk", 0), ("n_heads", 0), ("d_model", 2.5)],
    )
    def test_non_positive_or_non_integer_sizes_are_refused(self, field, value):
        arguments = {"d_model": 64, field: value}
        with pytest.raises(InvalidModelConfig, match=f"{field} must be an integer >= 1"):
            SSDConfig(**arguments)

    def test_heads_must_split_into_groups(self):
        with pytest.raises(InvalidModelConfig, match=r"use n_groups in \[1, 3\]"):
            SSDConfig(d_model=192, n_groups=2)

    def test_rotation_needs_a_state_dim_divisible_by_four(self):
        with pytest.raises(InvalidModelConfig, match="use 4 or 8"):
            SSDConfig(d_model=64, state_dim=6, rotation=True)

    def test_the_error_is_both_a_configuration_and_a_signal_model_error(self):
        with pytest.raises(InvalidModelConfig) as caught:
            SSDConfig(d_model=64, chunk=0)
        assert isinstance(caught.value, InvalidConfiguration)
        assert isinstance(caught.value, SignalModelError)

    def test_unknown_keys_in_a_stored_config_are_refused(self):
        with pytest.raises(InvalidModelConfig, match="unknown SSD config keys"):
            SSDConfig.from_dict({"d_model": 64, "heads_dim": 8})

    def test_network_config_checks_its_backbone_task_and_ssd_fields(self):
        with pytest.raises(InvalidModelConfig, match="backbone must be one of ssd, lstm"):
            SignalNetConfig(n_features=2, backbone="gru")
        with pytest.raises(InvalidModelConfig, match="task must be one of"):
            SignalNetConfig(n_features=2, task="volatility")
        with pytest.raises(InvalidModelConfig, match="head_dim"):
            SignalNetConfig(n_features=2, d_model=30, head_dim=16)

    @pytest.mark.parametrize(
        "field,value,fragment",
        [
            ("test_fraction", 1.0, "strictly between 0 and 1"),
            ("learning_rate", 0.0, "learning_rate must be a finite number > 0"),
            ("window", 0, "window must be an integer >= 1"),
            ("seed", -1, "seed must be an integer >= 0"),
        ],
    )
    def test_training_config_values_are_checked(self, field, value, fragment):
        with pytest.raises(InvalidModelConfig, match=fragment):
            TrainConfig(**{field: value})
