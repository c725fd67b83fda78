"""StrategySpec: defaults, overrides and the coercion of parameter values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from emp.domain.bars import Bar
from emp.domain.errors import InvalidConfiguration
from emp.domain.strategy import (
    OrderIntent,
    Strategy,
    StrategyContext,
    StrategySpec,
    coerce_parameters,
)

DEFAULTS: dict[str, Any] = {"fast": 10, "threshold": 0.5, "long_only": True, "label": "sma"}


class RecordingStrategy(Strategy):
    """Keeps the parameters it was built with."""

    name = "recording"

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = dict(params)

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Sequence[OrderIntent]:
        return ()


def spec(parameters: Mapping[str, Any] | None = None) -> StrategySpec:
    return StrategySpec(
        name="recording",
        factory=RecordingStrategy,
        parameters=DEFAULTS if parameters is None else parameters,
    )


def built_params(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    strategy = spec().build(overrides)
    assert isinstance(strategy, RecordingStrategy)
    return strategy.params


class TestBuild:
    def test_no_overrides_gives_the_defaults(self) -> None:
        assert built_params(None) == DEFAULTS
        assert built_params({}) == DEFAULTS

    def test_overrides_replace_only_their_own_defaults(self) -> None:
        assert built_params({"fast": "20"}) == {**DEFAULTS, "fast": 20}

    def test_build_does_not_mutate_the_spec_defaults(self) -> None:
        built_params({"fast": 3})
        assert spec().parameters == DEFAULTS

    def test_unknown_override_fails_the_build(self) -> None:
        with pytest.raises(InvalidConfiguration, match="no parameter 'slow'"):
            built_params({"slow": 30})


class TestCoercionFromStrings:
    @pytest.mark.parametrize(
        ("name", "raw", "expected"),
        [
            ("fast", "20", 20),
            ("fast", " 7 ", 7),
            ("fast", "-3", -3),
            ("threshold", "0.25", 0.25),
            ("threshold", "3", 3.0),
            ("threshold", "1e-3", 0.001),
            ("label", "ema", "ema"),
        ],
    )
    def test_strings_convert_to_the_default_type(self, name: str, raw: str, expected: Any) -> None:
        value = coerce_parameters(spec(), {name: raw})[name]
        assert value == expected
        assert type(value) is type(DEFAULTS[name])

    @pytest.mark.parametrize("raw", ["true", "TRUE", "1", "yes", "on", " True "])
    def test_truthy_strings_become_true(self, raw: str) -> None:
        assert coerce_parameters(spec(), {"long_only": raw}) == {"long_only": True}

    @pytest.mark.parametrize("raw", ["false", "False", "0", "no", "off", " OFF "])
    def test_falsy_strings_become_false(self, raw: str) -> None:
        assert coerce_parameters(spec(), {"long_only": raw}) == {"long_only": False}

    @pytest.mark.parametrize(
        ("name", "raw", "kind"),
        [
            ("fast", "2.5", "int"),
            ("fast", "ten", "int"),
            ("fast", "", "int"),
            ("threshold", "half", "float"),
            ("long_only", "maybe", "bool"),
            ("long_only", "2", "bool"),
        ],
    )
    def test_bad_string_names_the_parameter_and_the_expected_type(
        self, name: str, raw: str, kind: str
    ) -> None:
        with pytest.raises(InvalidConfiguration) as caught:
            coerce_parameters(spec(), {name: raw})
        message = str(caught.value)
        assert f"parameter {name!r}" in message
        assert f"expected {kind}" in message
        assert repr(raw) in message


class TestCoercionOfTypedValues:
    @pytest.mark.parametrize(
        ("name", "raw"), [("fast", 3), ("threshold", 0.1), ("long_only", False), ("label", "x")]
    )
    def test_values_of_the_right_type_pass_through(self, name: str, raw: Any) -> None:
        assert coerce_parameters(spec(), {name: raw}) == {name: raw}

    def test_int_given_for_a_float_becomes_a_float(self) -> None:
        value = coerce_parameters(spec(), {"threshold": 2})["threshold"]
        assert value == 2.0
        assert type(value) is float

    @pytest.mark.parametrize(
        ("name", "raw", "message"),
        [
            ("fast", True, "expected int, was bool"),
            ("fast", 2.0, "expected int, was float"),
            ("threshold", True, "expected float, was bool"),
            ("long_only", 1, "expected bool, was int"),
            ("label", 5, "expected str, was int"),
            ("fast", None, "expected int, was NoneType"),
        ],
    )
    def test_value_of_the_wrong_type_is_refused(self, name: str, raw: Any, message: str) -> None:
        with pytest.raises(InvalidConfiguration, match=rf"parameter '{name}': {message}"):
            coerce_parameters(spec(), {name: raw})


class TestUnknownParameters:
    def test_unknown_parameter_lists_the_accepted_ones(self) -> None:
        with pytest.raises(
            InvalidConfiguration,
            match=(
                r"strategy 'recording' has no parameter 'slow'; "
                r"accepted: fast, label, long_only, threshold"
            ),
        ):
            coerce_parameters(spec(), {"slow": 30})

    def test_strategy_without_parameters_says_none_are_accepted(self) -> None:
        with pytest.raises(InvalidConfiguration, match="accepted: none"):
            coerce_parameters(spec({}), {"fast": 1})
