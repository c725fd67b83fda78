"""The vectorised screening path on hand-made bars (parity with the engine: integration)."""

from __future__ import annotations

import numpy as np
import pytest

from emp.domain.errors import InvalidConfiguration
from emp.domain.screening import ScreeningCosts, screen_sma_cross, sweep_sma_cross
from emp.domain.screening.sma_cross import wanted_sides

# closes rise for 6 bars, then fall for 6: SMA(2) crosses SMA(4) once each way
CLOSES = np.array([10, 11, 12, 13, 14, 15, 14, 13, 12, 11, 10, 9], dtype=float)
OPENS = CLOSES - 0.5


def sma(values: np.ndarray, window: int, t: int) -> float:
    return float(np.mean(values[t + 1 - window : t + 1]))


class TestDecisions:
    def test_sides_follow_the_sma_comparison_from_the_first_full_slow_window(self):
        sides = wanted_sides(CLOSES, 2, 4, "long_only")
        expected = [0, 0, 0] + [
            1 if sma(CLOSES, 2, t) > sma(CLOSES, 4, t) else 0 for t in range(3, len(CLOSES))
        ]
        assert sides.tolist() == expected

    def test_reverse_mode_is_short_where_long_only_is_flat(self):
        long_only = wanted_sides(CLOSES, 2, 4, "long_only")
        reverse = wanted_sides(CLOSES, 2, 4, "reverse")
        assert reverse[3:].tolist() == [1 if s else -1 for s in long_only[3:]]
        assert reverse[:3].tolist() == [0, 0, 0]

    def test_too_few_bars_never_decide(self):
        assert wanted_sides(CLOSES[:3], 2, 4, "reverse").tolist() == [0, 0, 0]


class TestFills:
    def test_next_open_fills_trade_at_the_bar_after_the_decision(self):
        result = screen_sma_cross(OPENS, CLOSES, fast=2, slow=4, units=10, initial_cash=1_000)
        # long decided on bar 3 (first full window), exit decided when SMA(2) < SMA(4)
        sides = wanted_sides(CLOSES, 2, 4, "long_only")
        exit_bar = int(np.flatnonzero(np.diff(sides) < 0)[0]) + 1
        assert result.fill_bars.tolist() == [4, exit_bar + 1]
        assert result.fill_quantity.tolist() == [10.0, -10.0]
        assert result.fill_price.tolist() == [OPENS[4], OPENS[exit_bar + 1]]

    def test_close_fills_trade_at_the_decision_bars_close(self):
        costs = ScreeningCosts(fill_model="close")
        result = screen_sma_cross(OPENS, CLOSES, fast=2, slow=4, units=10, costs=costs)
        assert result.fill_bars[0] == 3
        assert result.fill_price[0] == CLOSES[3]

    def test_equity_is_cash_plus_the_marked_position_at_every_bar(self):
        result = screen_sma_cross(OPENS, CLOSES, fast=2, slow=4, units=10, initial_cash=1_000)
        cash = 1_000 - 10 * OPENS[4]
        assert result.equity[:4].tolist() == [1_000.0] * 4
        assert result.equity[4] == pytest.approx(cash + 10 * CLOSES[4])
        assert result.gross_exposure[4] == pytest.approx(10 * CLOSES[4])
        assert result.final_equity == result.equity[-1]

    def test_all_in_sizing_buys_whole_units_worth_the_equity_at_the_decision_close(self):
        result = screen_sma_cross(OPENS, CLOSES, fast=2, slow=4, initial_cash=1_000)
        assert result.fill_quantity[0] == np.floor(1_000 / CLOSES[3])

    def test_costs_move_the_price_against_the_trader_and_charge_fees(self):
        costs = ScreeningCosts(slippage_bps=10, spread_bps=20, commission_bps=5, commission_fixed=1)
        result = screen_sma_cross(OPENS, CLOSES, fast=2, slow=4, units=10, costs=costs)
        buy, sell = result.fill_price
        assert buy == pytest.approx(OPENS[4] * 1.002)
        assert sell < OPENS[result.fill_bars[1]]
        assert result.fill_fee[0] == pytest.approx(10 * buy * 5e-4 + 1)

    def test_a_decision_on_the_last_bar_never_fills_under_next_open(self):
        closes = np.array([5, 4, 3, 2, 1, 9], dtype=float)  # the cross happens on the last bar
        result = screen_sma_cross(closes, closes, fast=1, slow=3, units=1)
        assert result.n_fills == 0

    def test_without_the_curve_the_final_equity_is_the_same(self):
        full = screen_sma_cross(OPENS, CLOSES, fast=2, slow=4, mode="reverse")
        quick = screen_sma_cross(OPENS, CLOSES, fast=2, slow=4, mode="reverse", curve=False)
        assert quick.equity is None and quick.final_equity == full.final_equity

    def test_a_sweep_ranks_pairs_by_final_equity(self):
        pairs = [(2, 4), (3, 6), (1, 5)]
        swept = sweep_sma_cross(OPENS, CLOSES, pairs, units=5.0)
        one_by_one = [screen_sma_cross(OPENS, CLOSES, fast=f, slow=s, units=5.0) for f, s in pairs]
        assert swept.tolist() == [r.final_equity for r in one_by_one]


class TestValidation:
    @pytest.mark.parametrize("fast, slow", [(0, 4), (4, 4), (5, 4)])
    def test_windows_must_be_ordered(self, fast, slow):
        with pytest.raises(InvalidConfiguration, match="fast < slow"):
            screen_sma_cross(OPENS, CLOSES, fast=fast, slow=slow)

    def test_an_unknown_mode_or_fill_model_is_refused(self):
        with pytest.raises(InvalidConfiguration, match="mode"):
            screen_sma_cross(OPENS, CLOSES, fast=2, slow=4, mode="short_only")
        with pytest.raises(InvalidConfiguration, match="fill_model"):
            ScreeningCosts(fill_model="vwap")
