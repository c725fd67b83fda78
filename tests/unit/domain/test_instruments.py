"""Instruments: price and quantity grids with float-awkward values, and the registry."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emp.domain.errors import InvalidInstrument, InvalidOrder, UnknownInstrument
from emp.domain.instruments import Instrument, InstrumentRegistry


def cents(symbol: str = "AAPL") -> Instrument:
    return Instrument(symbol=symbol, tick_size=0.01, lot_size=1.0)


class TestTickGrid:
    @pytest.mark.parametrize(
        ("tick", "price"),
        [
            (0.01, 101.15),  # 101.15 / 0.01 == 10114.999999999998
            (0.01, 0.07),  # 0.07 / 0.01 == 7.000000000000001
            (0.1, 0.3),  # 0.3 / 0.1 == 2.9999999999999996
            (0.01, 1e6 + 0.01),
            (0.05, 101.15),
            (0.25, 4321.75),
            (1.0, 42.0),
            (0.0001, 1.2345),
        ],
    )
    def test_float_awkward_prices_on_the_grid_are_on_tick(self, tick: float, price: float) -> None:
        assert Instrument(symbol="X", tick_size=tick).is_on_tick(price)

    @pytest.mark.parametrize(
        ("tick", "price"),
        [
            (0.01, 101.155),
            (0.05, 101.17),
            (0.1, 0.35),
            (0.01, 1e6 + 0.005),
            (0.25, 4321.1),
            (1.0, 42.5),
        ],
    )
    def test_prices_between_ticks_are_off_tick(self, tick: float, price: float) -> None:
        assert not Instrument(symbol="X", tick_size=tick).is_on_tick(price)

    @pytest.mark.parametrize("price", [math.nan, math.inf, -math.inf])
    def test_non_finite_prices_are_never_on_tick(self, price: float) -> None:
        assert not cents().is_on_tick(price)

    @given(ticks=st.integers(min_value=1, max_value=10**8))
    def test_every_whole_number_of_cents_is_on_tick(self, ticks: int) -> None:
        price = round(ticks * 0.01, 2)
        assert cents().is_on_tick(price)

    @given(ticks=st.integers(min_value=1, max_value=10**6))
    def test_half_a_cent_off_the_grid_is_off_tick(self, ticks: int) -> None:
        assert not cents().is_on_tick(ticks * 0.01 + 0.005)

    @given(raw=st.floats(min_value=0.01, max_value=1e6, allow_nan=False))
    def test_round_price_lands_on_tick_within_half_a_tick(self, raw: float) -> None:
        instrument = Instrument(symbol="X", tick_size=0.05)
        rounded = instrument.round_price(raw)
        assert instrument.is_on_tick(rounded)
        assert abs(rounded - raw) <= 0.025 + 1e-9


class TestLotGrid:
    @pytest.mark.parametrize(
        ("lot", "quantity"),
        [(1.0, 300.0), (0.1, 0.3), (0.001, 1.234), (100.0, 1e6), (0.01, 1e6 + 0.01)],
    )
    def test_lot_multiples_are_recognized(self, lot: float, quantity: float) -> None:
        assert Instrument(symbol="X", lot_size=lot).is_lot_multiple(quantity)

    @pytest.mark.parametrize(
        ("lot", "quantity"),
        [(1.0, 300.5), (0.1, 0.35), (100.0, 150.0), (0.01, 1e6 + 0.005)],
    )
    def test_fractions_of_a_lot_are_not_lot_multiples(self, lot: float, quantity: float) -> None:
        assert not Instrument(symbol="X", lot_size=lot).is_lot_multiple(quantity)

    def test_half_a_satoshi_is_not_a_lot_multiple_for_a_large_quantity(self) -> None:
        # 10.000000005 / 1e-8 == 1000000000.5: half a lot off the grid. The grid tolerance
        # must not grow with the number of lots until whole half-lots pass.
        btc = Instrument(symbol="BTC-USD", tick_size=0.01, lot_size=1e-8)
        assert btc.is_lot_multiple(10.00000001)
        assert not btc.is_lot_multiple(10.000000005)

    def test_half_a_cent_is_off_tick_for_a_large_price(self) -> None:
        instrument = cents()
        assert instrument.is_on_tick(1e8 + 0.01)
        assert not instrument.is_on_tick(1e8 + 0.005)

    @pytest.mark.parametrize(
        ("lot", "raw", "expected"),
        [(1.0, 7.9, 7.0), (0.1, 0.3, 0.3), (100.0, 250.0, 200.0), (0.01, 0.999, 0.99)],
    )
    def test_round_down_quantity_is_the_largest_lot_multiple_not_above(
        self, lot: float, raw: float, expected: float
    ) -> None:
        assert Instrument(symbol="X", lot_size=lot).round_down_quantity(raw) == expected


class TestCheckOrder:
    def test_clean_order_passes(self) -> None:
        cents().check_order(100.0, 101.15)
        cents().check_order(100.0, None)

    @pytest.mark.parametrize("quantity", [0.0, -1.0, math.nan])
    def test_non_positive_quantity_is_refused_naming_the_rule(self, quantity: float) -> None:
        with pytest.raises(InvalidOrder, match=r"AAPL: order quantity must be > 0"):
            cents().check_order(quantity, 10.0)

    def test_fractional_lot_is_refused_naming_the_lot_size(self) -> None:
        with pytest.raises(InvalidOrder, match=r"AAPL: .*multiple of lot size 1\.0, was 1\.5"):
            cents().check_order(1.5, 10.0)

    @pytest.mark.parametrize("price", [0.0, -1.0, math.inf])
    def test_non_positive_price_is_refused_naming_the_rule(self, price: float) -> None:
        with pytest.raises(InvalidOrder, match=r"AAPL: limit price must be > 0"):
            cents().check_order(1.0, price)

    def test_off_tick_price_is_refused_naming_the_tick_size(self) -> None:
        expected = r"AAPL: .*multiple of tick size 0\.01, was 101\.155"
        with pytest.raises(InvalidOrder, match=expected):
            cents().check_order(1.0, 101.155)


class TestInstrumentValidation:
    @pytest.mark.parametrize("symbol", ["", "   "])
    def test_blank_symbol_is_invalid(self, symbol: str) -> None:
        with pytest.raises(InvalidInstrument, match="symbol"):
            Instrument(symbol=symbol)

    @pytest.mark.parametrize("tick", [0.0, -0.01, math.nan, math.inf])
    def test_bad_tick_size_is_invalid(self, tick: float) -> None:
        with pytest.raises(InvalidInstrument, match="tick_size"):
            Instrument(symbol="X", tick_size=tick)

    @pytest.mark.parametrize("lot", [0.0, -1.0, math.nan, math.inf])
    def test_bad_lot_size_is_invalid(self, lot: float) -> None:
        with pytest.raises(InvalidInstrument, match="lot_size"):
            Instrument(symbol="X", lot_size=lot)


class TestInstrumentRegistry:
    def test_lookup_by_symbol(self) -> None:
        registry = InstrumentRegistry([cents("AAPL"), cents("MSFT")])
        assert registry["MSFT"].symbol == "MSFT"
        assert len(registry) == 2
        assert sorted(registry) == ["AAPL", "MSFT"]

    def test_unknown_symbol_lists_the_known_ones(self) -> None:
        registry = InstrumentRegistry([cents("MSFT"), cents("AAPL")])
        with pytest.raises(UnknownInstrument, match=r"'TSLA'.*known instruments: AAPL, MSFT"):
            registry["TSLA"]

    def test_unknown_symbol_in_an_empty_registry_says_none(self) -> None:
        with pytest.raises(UnknownInstrument, match="known instruments: none"):
            InstrumentRegistry([])["TSLA"]

    def test_duplicate_symbol_is_refused(self) -> None:
        with pytest.raises(InvalidInstrument, match="'AAPL' registered twice"):
            InstrumentRegistry([cents("AAPL"), cents("MSFT"), cents("AAPL")])

    def test_membership_of_an_unknown_symbol_is_false(self) -> None:
        # InstrumentRegistry is a Mapping: `in` and .get() must answer, not raise.
        registry = InstrumentRegistry([cents("AAPL")])
        assert "AAPL" in registry
        assert "TSLA" not in registry
        assert registry.get("TSLA") is None
