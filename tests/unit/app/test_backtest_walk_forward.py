"""`--walk-forward` specs: parsed into WalkForward, refused in words when malformed."""

from __future__ import annotations

import pytest

from emp.app.backtest_walk_forward import parse_walk_forward
from emp.app.errors import ConfigError
from emp.domain.splits import WalkForward


class TestParsing:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("train=500,test=100", WalkForward(train_bars=500, test_bars=100)),
            (
                " train=50 , test=10, step=5, gap=2 ",
                WalkForward(train_bars=50, test_bars=10, step_bars=5, gap_bars=2),
            ),
            ("train=9,test=3,anchored", WalkForward(train_bars=9, test_bars=3, anchored=True)),
        ],
    )
    def test_a_spec_becomes_the_walk_forward_it_names(self, text, expected):
        assert parse_walk_forward(text) == expected

    @pytest.mark.parametrize(
        ("text", "words"),
        [
            ("train=10", "needs train=N and test=M"),
            ("train=10,test=x", "test must be a whole number of bars, was 'x'"),
            ("train=10,test=5,window=3", "unknown part 'window=3'"),
            ("train=0,test=5", "train_bars must be an integer >= 1"),
            ("train=10,test=5,gap=-1", "gap_bars must be an integer >= 0"),
        ],
    )
    def test_a_malformed_spec_is_a_config_error_in_words(self, text, words):
        with pytest.raises(ConfigError, match="--walk-forward") as caught:
            parse_walk_forward(text)
        assert words in str(caught.value)
