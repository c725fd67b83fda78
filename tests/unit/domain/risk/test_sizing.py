"""Position sizing: fixed fractional, volatility targeting, capped Kelly; limits and lots."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.domain.errors import InvalidConfiguration
from emp.domain.sizing import (
    SizingLimits,
    SizingResult,
    apply_limits,
    fixed_fractional,
    kelly_capped,
    kelly_fraction,
    volatility_target,
)


class TestFixedFractional:
    def test_allocates_a_fraction_of_equity_without_a_stop(self) -> None:
        result = fixed_fractional(equity=100_000.0, fraction=0.1, price=50.0)
        assert result == SizingResult(200.0, 200.0, None)

    def test_risks_a_fraction_of_equity_to_the_stop(self) -> None:
        result = fixed_fractional(equity=100_000.0, fraction=0.01, price=50.0, stop_distance=2.5)
        assert result.quantity == 400.0

    def test_rounds_down_to_the_lot(self) -> None:
        limits = SizingLimits(lot_size=100.0)
        assert (
            fixed_fractional(equity=10_000.0, fraction=0.5, price=7.0, limits=limits).quantity
            == 700
        )

    @pytest.mark.parametrize("fraction", [0.0, 1.5, -0.1])
    def test_fraction_must_be_in_zero_one(self, fraction: float) -> None:
        with pytest.raises(InvalidConfiguration):
            fixed_fractional(equity=1.0, fraction=fraction, price=1.0)

    def test_no_equity_sizes_nothing(self) -> None:
        assert fixed_fractional(equity=-5.0, fraction=0.5, price=1.0).quantity == 0


class TestVolatilityTarget:
    def test_notional_scales_with_the_volatility_ratio(self) -> None:
        result = volatility_target(
            equity=100_000.0, target_volatility=0.10, asset_volatility=0.40, price=25.0
        )
        assert result.quantity == 1_000.0  # 25,000 notional

    @pytest.mark.parametrize("vol", [0.0, math.nan])
    def test_unknown_volatility_sizes_nothing(self, vol: float) -> None:
        result = volatility_target(
            equity=1e5, target_volatility=0.1, asset_volatility=vol, price=1.0
        )
        assert result == SizingResult(0.0, 0.0, "asset_volatility")


class TestKelly:
    def test_kelly_fraction(self) -> None:
        assert kelly_fraction(0.6, 1.0) == pytest.approx(0.2)
        assert kelly_fraction(0.4, 1.0) == pytest.approx(-0.2)

    def test_half_kelly_within_the_cap(self) -> None:
        result = kelly_capped(equity=10_000.0, price=10.0, win_probability=0.6, win_loss_ratio=1.0)
        assert result.quantity == 100.0  # half of 20 % = 10 % of equity

    def test_cap_binds_and_is_named(self) -> None:
        result = kelly_capped(
            equity=10_000.0,
            price=10.0,
            win_probability=0.9,
            win_loss_ratio=3.0,
            kelly_multiplier=1.0,
            max_fraction=0.25,
        )
        assert result.quantity == 250.0
        assert result.limited_by == "max_fraction"

    def test_no_edge_sizes_nothing(self) -> None:
        result = kelly_capped(equity=1e4, price=1.0, win_probability=0.3, win_loss_ratio=1.0)
        assert result.quantity == 0.0


class TestLimits:
    def test_the_tightest_limit_wins_and_is_named(self) -> None:
        limits = SizingLimits(lot_size=10.0, max_quantity=500.0, max_notional=2_000.0)
        assert apply_limits(1_000.0, 5.0, limits) == SizingResult(400.0, 1_000.0, "max_notional")
        assert apply_limits(1_000.0, 1.0, limits) == SizingResult(500.0, 1_000.0, "max_quantity")

    @settings(max_examples=300, deadline=None)
    @given(
        raw=st.floats(min_value=-1e6, max_value=1e9, allow_nan=False),
        price=st.floats(min_value=0.01, max_value=1e4),
        lot=st.sampled_from([0.001, 0.5, 1.0, 25.0, 100.0]),
        max_quantity=st.floats(min_value=0, max_value=1e7),
        max_notional=st.floats(min_value=0, max_value=1e9),
    )
    def test_results_are_lot_multiples_within_every_limit(
        self, raw, price, lot, max_quantity, max_notional
    ) -> None:
        limits = SizingLimits(lot_size=lot, max_quantity=max_quantity, max_notional=max_notional)
        quantity = apply_limits(raw, price, limits).quantity
        assert 0 <= quantity <= max(raw, 0) + 1e-9
        assert quantity <= max_quantity + 1e-9
        assert quantity * price <= max_notional * (1 + 1e-9) + 1e-9
        lots = quantity / lot
        assert abs(lots - round(lots)) < 1e-6
