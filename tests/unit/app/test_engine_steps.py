"""The engine's per-block helpers build the same bars and snapshots as the constructors."""

from __future__ import annotations

import numpy as np
import pytest

from emp.app.engine_steps import account_builder, bars_by_step, bars_of
from emp.domain.bars import BarSeries
from emp.domain.risk import AccountSnapshot

DAY = 86_400 * 10**9


def series(symbol: str, days: list[int]) -> BarSeries:
    base = np.arange(1, len(days) + 1, dtype=float) * 10
    return BarSeries.from_arrays(
        symbol, [d * DAY for d in days], base, base + 2, base - 1, base + 1, base * 100
    )


class TestBars:
    def test_bars_built_column_wise_equal_the_series_own_bars(self):
        bars = series("AAA", [0, 1, 2, 5, 6])
        assert bars_of(bars, 1, 4) == [bars.bar(i) for i in range(1, 4)]

    def test_bars_stay_immutable(self):
        (bar,) = bars_of(series("AAA", [0]), 0, 1)
        with pytest.raises(AttributeError):
            bar.close = 3.0  # type: ignore[misc]

    def test_bars_are_laid_out_per_timestamp_with_symbols_sorted(self):
        bars = {"BBB": series("BBB", [1, 2]), "AAA": series("AAA", [0, 2, 3])}
        timeline = np.unique(np.concatenate([s.ts_ns for s in bars.values()]))
        slots = {s: np.searchsorted(timeline, bars[s].ts_ns) for s in bars}
        steps = bars_by_step(bars, sorted(bars), slots, 1, 4)
        assert [[(b.symbol, b.ts_ns // DAY) for b in step] for step in steps] == [
            [("BBB", 1)],
            [("AAA", 2), ("BBB", 2)],
            [("AAA", 3)],
        ]


class TestAccountSnapshots:
    def test_the_builder_makes_what_the_constructor_makes(self):
        built = account_builder()(7, 1_234.5, {"AAA": 3.0}, {"AAA": 10.0})
        assert built == AccountSnapshot(
            ts_ns=7, equity=1_234.5, positions={"AAA": 3.0}, marks={"AAA": 10.0}
        )
        assert built.working_orders == () and built.fx_rates == {}
