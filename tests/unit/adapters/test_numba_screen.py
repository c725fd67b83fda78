"""The numba screening kernel: the numpy reference's results, bit for bit, and its errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emp.adapters.numba_screen import NumbaScreeningKernel
from emp.domain.errors import InvalidConfiguration
from emp.domain.screening import ScreeningCosts, screen_sma_cross
from emp.ports.screening_kernel import ScreeningKernelPort

FIELDS = ("fill_bars", "fill_quantity", "fill_price", "fill_fee", "equity", "gross_exposure")


def walk(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = close * np.exp(rng.normal(0.0, 0.002, n))
    return open_, close


class TestTheKernelEqualsTheNumpyReference:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        seed=st.integers(0, 10_000),
        n=st.integers(1, 600),
        fast=st.integers(1, 15),
        extra=st.integers(1, 40),
        mode=st.sampled_from(["long_only", "reverse"]),
        units=st.sampled_from([0.0, 0.0, 3.0, 0.5]),
        lot_size=st.sampled_from([1.0, 0.5, 0.1, 0.01, 0.001, 7.0]),
        cash=st.floats(10.0, 1e7),
        fill_model=st.sampled_from(["next_open", "close"]),
        curve=st.booleans(),
    )
    def test_on_random_walks_sizes_lots_and_fill_models(
        self, seed, n, fast, extra, mode, units, lot_size, cash, fill_model, curve
    ):
        open_, close = walk(seed, n)
        arguments = {
            "fast": fast,
            "slow": fast + extra,
            "mode": mode,
            "units": units,
            "initial_cash": cash,
            "lot_size": lot_size,
            "costs": ScreeningCosts(
                commission_bps=1.5, min_commission=0.25, slippage_bps=2.0, fill_model=fill_model
            ),
            "curve": curve,
        }
        expected = screen_sma_cross(open_, close, **arguments)
        got = NumbaScreeningKernel().sma_cross(open_, close, **arguments)
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), name)
        assert got.final_equity == expected.final_equity

    def test_without_the_curve_the_equity_and_exposure_are_none(self):
        open_, close = walk(1, 100)
        got = NumbaScreeningKernel().sma_cross(open_, close, fast=2, slow=5, curve=False)
        assert got.equity is None and got.gross_exposure is None
        assert got.n_fills > 0


class TestThePort:
    def test_the_kernel_implements_the_screening_kernel_port(self):
        assert isinstance(NumbaScreeningKernel(), ScreeningKernelPort)

    @pytest.mark.parametrize(
        ("fast", "slow", "mode"), [(5, 5, "reverse"), (0, 3, "reverse"), (2, 5, "sideways")]
    )
    def test_invalid_arguments_are_refused_like_the_reference(self, fast, slow, mode):
        open_, close = walk(2, 50)
        with pytest.raises(InvalidConfiguration):
            NumbaScreeningKernel().sma_cross(open_, close, fast=fast, slow=slow, mode=mode)

    def test_opens_and_closes_of_different_lengths_are_refused(self):
        open_, close = walk(2, 50)
        with pytest.raises(InvalidConfiguration, match="as many opens as closes"):
            NumbaScreeningKernel().sma_cross(open_[:-1], close, fast=2, slow=5)
