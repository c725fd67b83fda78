"""The screening path and the event engine agree: same fills, same equity, bar for bar.

Random seeds, windows, modes, sizes, costs and fill models (hypothesis); the engine runs the
full order path (order objects, risk manager, the simulated venue through both faces).
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emp.adapters.clocks import ManualClock
from emp.adapters.fix_sim import MockFixVenue, SimulatedVenue, SimulatedVenueConfig
from emp.adapters.numba_screen import NumbaScreeningKernel
from emp.adapters.synthetic import RegimeSwitchingBarSource
from emp.app.engine import BarEventEngine, RunResult
from emp.domain.bars import BarSeries
from emp.domain.instruments import Instrument, InstrumentRegistry
from emp.domain.risk import RiskManager
from emp.domain.screening import ScreeningCosts, screen_sma_cross
from emp.domain.strategies.sma_cross import SmaCross

COSTS = st.fixed_dictionaries(
    {
        "commission_bps": st.floats(0, 30),
        "commission_per_share": st.sampled_from([0.0, 0.005]),
        "commission_fixed": st.sampled_from([0.0, 1.0]),
        "min_commission": st.sampled_from([0.0, 2.0]),
        "slippage_bps": st.floats(0, 10),
        "spread_bps": st.sampled_from([0.0, 3.0]),
        "fill_model": st.sampled_from(["next_open", "close"]),
    }
)


def engine_run(series: BarSeries, strategy: SmaCross, cash: float, face, **costs) -> RunResult:
    instruments = InstrumentRegistry([Instrument(symbol=series.symbol)])
    clock = ManualClock()
    engine = BarEventEngine(
        bars={series.symbol: series},
        instruments=instruments,
        strategy=strategy,
        risk=RiskManager(),
        venue=face(instruments, clock, SimulatedVenueConfig(**costs)),
        clock=clock,
        initial_cash=cash,
    )
    return engine.run()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_bars=st.integers(20, 400),
    fast=st.integers(1, 12),
    extra=st.integers(1, 30),
    mode=st.sampled_from(["long_only", "reverse"]),
    units=st.sampled_from([0.0, 0.0, 5.0, 250.0]),
    cash=st.floats(500.0, 2e6),
    costs=COSTS,
)
def test_screening_and_engine_give_the_same_fills_and_equity(
    seed, n_bars, fast, extra, mode, units, cash, costs
):
    series = RegimeSwitchingBarSource(["SYN"], n_bars=n_bars, seed=seed).load()["SYN"]
    slow = fast + extra
    engine = engine_run(
        series,
        SmaCross(fast=fast, slow=slow, mode=mode, units=units),
        cash,
        SimulatedVenue,
        **costs,
    )
    screen = screen_sma_cross(
        series.open,
        series.close,
        fast=fast,
        slow=slow,
        mode=mode,
        units=units,
        initial_cash=cash,
        costs=ScreeningCosts(**costs),
    )
    engine_fills = [(f.ts_ns, f.signed_quantity, f.price, f.fee) for f in engine.fills]
    screen_fills = [
        (int(series.ts_ns[bar]), quantity, price, fee)
        for bar, quantity, price, fee in zip(
            screen.fill_bars.tolist(),
            screen.fill_quantity.tolist(),
            screen.fill_price.tolist(),
            screen.fill_fee.tolist(),
            strict=True,
        )
    ]
    assert screen_fills == engine_fills
    np.testing.assert_allclose(screen.equity, engine.equity, rtol=1e-12, atol=0)
    np.testing.assert_allclose(screen.gross_exposure, engine.gross_exposure, rtol=1e-12, atol=0)
    assert screen.final_equity == engine.equity[-1]
    # the compiled kernel equals the numpy reference bit for bit (so the engine too)
    kernel = NumbaScreeningKernel().sma_cross(
        series.open,
        series.close,
        fast=fast,
        slow=slow,
        mode=mode,
        units=units,
        initial_cash=cash,
        costs=ScreeningCosts(**costs),
    )
    for name in ("fill_bars", "fill_quantity", "fill_price", "fill_fee", "equity"):
        np.testing.assert_array_equal(getattr(kernel, name), getattr(screen, name), err_msg=name)
    np.testing.assert_array_equal(kernel.gross_exposure, screen.gross_exposure)
    assert kernel.final_equity == screen.final_equity


def test_exact_ties_on_a_tick_grid_are_ties_in_the_engine_the_screen_and_the_kernel():
    # closes on a 0.01 grid that stall for long stretches: the two SMAs tie exactly for
    # hundreds of bars while the running sums are large (their ulps exceed 1e-12)
    rng = np.random.default_rng(3)
    steps = rng.choice([-0.01, 0.0, 0.0, 0.0, 0.01], size=4000)
    steps[1000:1600] = 0.0
    steps[2500:3300] = 0.0
    close = np.round(5000.0 + np.cumsum(steps), 2)
    open_ = np.concatenate(([close[0]], close[:-1]))
    ts = 1_600_000_000 * 10**9 + np.arange(close.shape[0], dtype=np.int64) * 60 * 10**9
    series = BarSeries.from_arrays(
        "SYN", ts, open_, np.maximum(open_, close), np.minimum(open_, close), close, 1e6 + 0 * close
    )
    engine = engine_run(series, SmaCross(fast=3, slow=9, mode="reverse"), 1e7, SimulatedVenue)
    arguments = {"fast": 3, "slow": 9, "mode": "reverse", "initial_cash": 1e7}
    screen = screen_sma_cross(series.open, series.close, **arguments)
    kernel = NumbaScreeningKernel().sma_cross(series.open, series.close, **arguments)
    assert [f.price for f in engine.fills] == screen.fill_price.tolist()
    assert screen.fill_price.tolist() == kernel.fill_price.tolist()
    assert screen.final_equity == engine.equity[-1] == kernel.final_equity


def test_the_fix_face_gives_the_same_fills_as_the_screening_path():
    series = RegimeSwitchingBarSource(["SYN"], n_bars=500, seed=11).load()["SYN"]
    strategy = SmaCross(fast=5, slow=20, mode="reverse")
    engine = engine_run(series, strategy, 100_000.0, MockFixVenue, commission_bps=2.0)
    screen = screen_sma_cross(
        series.open,
        series.close,
        fast=5,
        slow=20,
        mode="reverse",
        initial_cash=100_000.0,
        costs=ScreeningCosts(commission_bps=2.0),
    )
    assert [f.price for f in engine.fills] == screen.fill_price.tolist()
    assert screen.final_equity == engine.equity[-1]
    assert len(engine.trades) > 10
