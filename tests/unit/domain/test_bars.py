"""BarSeries invariants and the data hash."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emp.domain.bars import BAR_COLUMNS, Bar, BarSeries, bars_data_hash
from emp.domain.errors import InvalidBars

DAY_NS = 86_400 * 1_000_000_000


def clean_columns(n: int = 5) -> dict[str, Any]:
    return {
        "ts_ns": [i * DAY_NS for i in range(n)],
        "open": [10.0 + i for i in range(n)],
        "high": [11.5 + i for i in range(n)],
        "low": [9.5 + i for i in range(n)],
        "close": [10.5 + i for i in range(n)],
        "volume": [1_000.0 * (i + 1) for i in range(n)],
    }


def build(symbol: str = "AAPL", **columns: Any) -> BarSeries:
    return BarSeries.from_arrays(symbol, **columns)


def with_value(column: str, row: int, value: float, n: int = 5) -> dict[str, Any]:
    columns = clean_columns(n)
    columns[column] = list(columns[column])
    columns[column][row] = value
    return columns


class TestCleanData:
    def test_clean_arrays_build_a_series_with_typed_columns(self) -> None:
        series = build(**clean_columns())
        assert len(series) == 5
        assert series.ts_ns.dtype == np.int64
        assert all(getattr(series, c).dtype == np.float64 for c in BAR_COLUMNS)

    def test_bar_returns_one_row_as_a_value_object(self) -> None:
        series = build(**clean_columns())
        assert series.bar(2) == Bar("AAPL", 2 * DAY_NS, 12.0, 13.5, 11.5, 12.5, 3_000.0)

    def test_single_bar_is_clean(self) -> None:
        assert len(build(**clean_columns(1))) == 1

    def test_zero_volume_and_flat_bar_are_clean(self) -> None:
        columns = clean_columns(2)
        columns["volume"][1] = 0.0
        columns["open"][1] = columns["high"][1] = columns["low"][1] = columns["close"][1] = 7.0
        assert len(build(**columns)) == 2


class TestInvalidBars:
    @pytest.mark.parametrize("column", BAR_COLUMNS)
    @pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
    def test_non_finite_value_names_symbol_row_and_column(self, column: str, value: float) -> None:
        with pytest.raises(InvalidBars, match=rf"^AAPL: row 3: {column} is NaN or infinite"):
            build(**with_value(column, 3, value))

    @pytest.mark.parametrize("column", ["open", "high", "low", "close"])
    @pytest.mark.parametrize("value", [0.0, -1.0])
    def test_non_positive_price_names_symbol_row_and_column(
        self, column: str, value: float
    ) -> None:
        with pytest.raises(InvalidBars, match=rf"^AAPL: row 2: {column} must be > 0"):
            build(**with_value(column, 2, value))

    def test_negative_volume_names_symbol_and_row(self) -> None:
        with pytest.raises(InvalidBars, match=r"^AAPL: row 4: volume must be >= 0"):
            build(**with_value("volume", 4, -1.0))

    def test_equal_timestamps_name_the_later_row(self) -> None:
        with pytest.raises(InvalidBars, match=r"^AAPL: row 3: timestamps must be strictly"):
            build(**with_value("ts_ns", 3, 2 * DAY_NS))

    def test_decreasing_timestamps_name_the_later_row(self) -> None:
        with pytest.raises(InvalidBars, match=r"^AAPL: row 2: timestamps must be strictly"):
            build(**with_value("ts_ns", 2, 0))

    def test_high_below_low_names_symbol_and_row(self) -> None:
        columns = with_value("high", 1, 9.0)
        columns["open"][1] = columns["close"][1] = 9.0
        columns["low"][1] = 9.5
        with pytest.raises(InvalidBars, match=r"^AAPL: row 1: high is below low"):
            build(**columns)

    @pytest.mark.parametrize("column", ["open", "close"])
    @pytest.mark.parametrize("value", [100.0, 1.0])  # above high, below low
    def test_open_or_close_outside_the_range_names_symbol_and_row(
        self, column: str, value: float
    ) -> None:
        with pytest.raises(InvalidBars, match=rf"^AAPL: row 0: {column} is outside \[low, high\]"):
            build(**with_value(column, 0, value))

    def test_empty_series_names_the_symbol(self) -> None:
        with pytest.raises(InvalidBars, match=r"^AAPL: no bars"):
            build(**clean_columns(0))

    @pytest.mark.parametrize("column", BAR_COLUMNS)
    def test_column_length_mismatch_names_symbol_and_column(self, column: str) -> None:
        columns = clean_columns(5)
        columns[column] = columns[column][:4]
        with pytest.raises(InvalidBars, match=rf"^AAPL: column '{column}' has 4 rows, expected 5"):
            build(**columns)

    def test_empty_symbol_is_refused(self) -> None:
        with pytest.raises(InvalidBars, match="empty symbol"):
            build(symbol="", **clean_columns())

    def test_first_violation_reported_is_the_earliest_row(self) -> None:
        columns = clean_columns(5)
        columns["volume"][1] = -1.0
        columns["volume"][3] = -5.0
        with pytest.raises(InvalidBars, match=r"row 1:"):
            build(**columns)


def two_symbols() -> dict[str, BarSeries]:
    return {"AAPL": build("AAPL", **clean_columns(4)), "MSFT": build("MSFT", **clean_columns(4))}


class TestDataHash:
    def test_hash_is_a_sha256_hex_digest(self) -> None:
        digest = bars_data_hash(two_symbols())
        assert len(digest) == 64
        int(digest, 16)

    def test_hash_does_not_depend_on_dict_order(self) -> None:
        bars = two_symbols()
        reordered = {k: bars[k] for k in reversed(list(bars))}
        assert list(reordered) != list(bars)
        assert bars_data_hash(reordered) == bars_data_hash(bars)

    def test_hash_is_the_same_for_equal_data_built_twice(self) -> None:
        assert bars_data_hash(two_symbols()) == bars_data_hash(two_symbols())

    @given(
        symbol=st.sampled_from(["AAPL", "MSFT"]),
        column=st.sampled_from(["ts_ns", *BAR_COLUMNS]),
        row=st.integers(min_value=0, max_value=3),
        factor=st.sampled_from([1.0000001, 0.9999999, 1.5]),
    )
    def test_hash_changes_when_any_value_changes(
        self, symbol: str, column: str, row: int, factor: float
    ) -> None:
        bars = two_symbols()
        original = bars_data_hash(bars)
        columns = clean_columns(4)
        if column == "ts_ns":
            columns["ts_ns"][row] += 1  # one nanosecond later; still strictly increasing
        else:
            columns[column][row] *= factor
        # Keep the bar valid where a price moved: widen the range around it.
        for i in range(4):
            prices = [columns[c][i] for c in ("open", "high", "low", "close")]
            columns["high"][i], columns["low"][i] = max(prices), min(prices)
        changed = dict(bars)
        changed[symbol] = build(symbol, **columns)
        assert not all(
            np.array_equal(getattr(changed[symbol], c), getattr(bars[symbol], c))
            for c in ("ts_ns", *BAR_COLUMNS)
        )
        assert bars_data_hash(changed) != original

    def test_hash_changes_when_a_symbol_is_renamed(self) -> None:
        bars = two_symbols()
        renamed = {"AAPL": bars["AAPL"], "MSFX": build("MSFX", **clean_columns(4))}
        assert bars_data_hash(renamed) != bars_data_hash(bars)

    def test_hash_changes_when_a_symbol_is_dropped(self) -> None:
        bars = two_symbols()
        assert bars_data_hash({"AAPL": bars["AAPL"]}) != bars_data_hash(bars)
