"""Row-level validation: good rows land unchanged, bad rows are quarantined with reasons."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emp.domain.bar_validation import (
    QuarantineReason,
    RawBars,
    ValidationRules,
    validate_raw_bars,
)
from emp.domain.calendars import nyse_calendar
from emp.domain.errors import InvalidBars, InvalidConfiguration

DAY_NS = 86_400_000_000_000
# 2024-01-02 .. 2024-01-08 are NYSE sessions except the weekend 01-06/07.
JAN2 = 19_724 * DAY_NS
SESSIONS = [JAN2 + k * DAY_NS for k in (0, 1, 2, 3, 6, 7, 8)]  # Jan 2,3,4,5,8,9,10
NYSE = nyse_calendar(2023, 2025)


def columns(n: int = 7) -> dict[str, Any]:
    close = [100.0 + i for i in range(n)]
    return {
        "ts_ns": SESSIONS[:n],
        "open": [c - 0.5 for c in close],
        "high": [c + 1.0 for c in close],
        "low": [c - 1.0 for c in close],
        "close": close,
        "volume": [1_000.0] * n,
    }


def raw(**edits: Any) -> RawBars:
    """Clean rows with ``column=(row, value)`` edits applied."""
    data = columns()
    extra = {}
    for name, edit in edits.items():
        if name in ("split_ratio", "dividend", "session_day"):
            extra[name] = edit
            continue
        row, value = edit
        data[name] = list(data[name])
        data[name][row] = value
    return RawBars.from_arrays("AAA", **data, **extra)


def reasons_of(result, row: int) -> tuple[str, ...]:
    [match] = [q for q in result.quarantined if q.source_row == row]
    return tuple(str(r) for r in match.reasons)


class TestCleanInput:
    def test_clean_rows_all_land_unchanged(self) -> None:
        data = raw()
        result = validate_raw_bars(data, ValidationRules(calendar=NYSE))
        assert result.quarantined == ()
        assert result.good is not None
        np.testing.assert_array_equal(result.good.close, data.close)
        np.testing.assert_array_equal(result.good.ts_ns, data.ts_ns)
        assert result.missing_sessions.size == 0


class TestValueRules:
    @pytest.mark.parametrize(
        ("column", "value", "reason"),
        [
            ("close", float("nan"), "missing_value"),
            ("volume", float("inf"), "missing_value"),
            ("low", -1.0, "non_positive_price"),
            ("volume", -5.0, "negative_volume"),
            ("close", 200.0, "close_outside_range"),
            ("open", 50.0, "open_outside_range"),
            ("volume", 0.0, "zero_volume"),
        ],
    )
    def test_a_bad_value_quarantines_its_row_with_the_reason(
        self, column: str, value: float, reason: str
    ) -> None:
        result = validate_raw_bars(raw(**{column: (3, value)}), ValidationRules(calendar=NYSE))
        assert [q.source_row for q in result.quarantined] == [3]
        assert reason in reasons_of(result, 3)
        assert result.good_rows == 6

    def test_high_below_low_names_every_rule_the_row_breaks(self) -> None:
        result = validate_raw_bars(raw(high=(2, 90.0)))
        assert reasons_of(result, 2) == (
            "high_below_low",
            "open_outside_range",
            "close_outside_range",
        )
        assert "high is below low" in result.quarantined[0].detail

    def test_zero_volume_is_allowed_when_the_instrument_has_no_volume(self) -> None:
        rules = ValidationRules(calendar=NYSE, require_volume=False)
        assert validate_raw_bars(raw(volume=(1, 0.0)), rules).quarantined == ()

    def test_a_bar_on_a_holiday_is_not_a_session(self) -> None:
        holiday = 19_737 * DAY_NS  # 2024-01-15, Martin Luther King Jr. Day
        data = columns()
        data["ts_ns"] = [*SESSIONS[:6], holiday]
        result = validate_raw_bars(
            RawBars.from_arrays("AAA", **data), ValidationRules(calendar=NYSE)
        )
        assert reasons_of(result, 6) == ("not_a_session",)

    def test_intraday_rows_use_the_session_days_the_source_gave(self) -> None:
        saturday = np.datetime64("2024-01-06")
        days = raw().days().copy()
        days[4] = saturday
        result = validate_raw_bars(raw(session_day=days), ValidationRules(calendar=NYSE))
        assert reasons_of(result, 4) == ("not_a_session",)


class TestOrderRules:
    def test_a_repeated_timestamp_is_a_duplicate_and_the_first_row_wins(self) -> None:
        result = validate_raw_bars(raw(ts_ns=(2, SESSIONS[1])))
        assert reasons_of(result, 2) == ("duplicate",)
        assert result.quarantined[0].occurrence == 1
        assert result.good is not None and result.good.close[1] == 101.0

    def test_a_row_earlier_than_a_previous_row_is_out_of_order(self) -> None:
        data = columns()
        data["ts_ns"] = [SESSIONS[i] for i in (0, 1, 3, 2, 4, 5, 6)]
        result = validate_raw_bars(RawBars.from_arrays("AAA", **data))
        assert [q.source_row for q in result.quarantined] == [3]
        assert reasons_of(result, 3) == ("out_of_order",)

    def test_a_row_bad_in_value_does_not_shadow_a_later_good_row_with_its_timestamp(
        self,
    ) -> None:
        data = columns()
        data["ts_ns"] = [SESSIONS[i] for i in (0, 1, 1, 2, 3, 4, 5)]
        data["close"] = list(data["close"])
        data["close"][1] = float("nan")
        result = validate_raw_bars(RawBars.from_arrays("AAA", **data))
        assert [q.source_row for q in result.quarantined] == [1]
        assert result.good is not None and len(result.good) == 6


class TestJumpRules:
    def halved_from(self, row: int) -> dict[str, Any]:
        data = columns()
        for name in ("open", "high", "low", "close"):
            data[name] = [v / 2 if i >= row else v for i, v in enumerate(data[name])]
        return data

    def test_an_unexplained_halving_is_a_price_jump_on_that_row_only(self) -> None:
        result = validate_raw_bars(RawBars.from_arrays("AAA", **self.halved_from(4)))
        assert [q.source_row for q in result.quarantined] == [4]
        assert reasons_of(result, 4) == ("price_jump",)
        assert "-49." in result.quarantined[0].detail

    def test_an_adjusted_series_with_a_reported_split_left_in_is_unadjusted(self) -> None:
        split = np.ones(7)
        split[4] = 2.0
        data = RawBars.from_arrays("AAA", **self.halved_from(4), split_ratio=split)
        result = validate_raw_bars(data, ValidationRules(adjusted=True))
        assert reasons_of(result, 4) == ("unadjusted_split",)
        assert "split ratio 2" in result.quarantined[0].detail

    def test_a_raw_series_may_jump_by_a_reported_split(self) -> None:
        split = np.ones(7)
        split[4] = 2.0
        data = RawBars.from_arrays("AAA", **self.halved_from(4), split_ratio=split)
        assert validate_raw_bars(data, ValidationRules(adjusted=False)).quarantined == ()

    def test_a_large_reported_dividend_left_in_an_adjusted_series_is_unadjusted(self) -> None:
        data = columns()
        for name in ("open", "high", "low", "close"):
            data[name] = [v * 0.7 if i >= 3 else v for i, v in enumerate(data[name])]
        dividend = np.zeros(7)
        dividend[3] = 102.0 - 103.0 * 0.7  # the drop matches the cash paid out
        result = validate_raw_bars(RawBars.from_arrays("AAA", **data, dividend=dividend))
        assert reasons_of(result, 3) == ("unadjusted_dividend",)

    def test_a_small_move_with_a_small_dividend_is_fine_in_an_adjusted_series(self) -> None:
        dividend = np.zeros(7)
        dividend[3] = 0.5
        assert validate_raw_bars(raw(dividend=dividend)).quarantined == ()


class TestMissingSessions:
    def test_sessions_without_any_row_are_reported_not_invented(self) -> None:
        data = columns()
        del_rows = {2, 3}
        for name in data:
            data[name] = [v for i, v in enumerate(data[name]) if i not in del_rows]
        result = validate_raw_bars(
            RawBars.from_arrays("AAA", **data), ValidationRules(calendar=NYSE)
        )
        assert result.missing_sessions.astype(str).tolist() == ["2024-01-04", "2024-01-05"]
        assert result.good is not None and len(result.good) == 5


class TestConstruction:
    def test_columns_of_different_lengths_are_refused(self) -> None:
        data = columns()
        data["volume"] = [1.0]
        with pytest.raises(InvalidBars, match="'volume' has shape"):
            RawBars.from_arrays("AAA", **data)

    def test_rules_refuse_a_non_positive_max_move(self) -> None:
        with pytest.raises(InvalidConfiguration, match="max_move"):
            ValidationRules(max_move=0)

    def test_an_empty_input_gives_no_good_series_and_nothing_quarantined(self) -> None:
        empty = RawBars.from_arrays("AAA", [], [], [], [], [], [])
        result = validate_raw_bars(empty, ValidationRules(calendar=NYSE))
        assert (result.rows_in, result.good, result.quarantined) == (0, None, ())


finite_or_not = st.one_of(
    st.floats(min_value=-5, max_value=300, allow_nan=False),
    st.just(float("nan")),
    st.just(float("inf")),
)


class TestNothingIsSilentlyDroppedOrFixed:
    @settings(max_examples=150, deadline=None)
    @given(
        rows=st.lists(
            st.tuples(
                st.integers(0, 12),
                finite_or_not,
                finite_or_not,
                finite_or_not,
                finite_or_not,
                st.floats(min_value=-1, max_value=1e6, allow_nan=False),
            ),
            max_size=30,
        )
    )
    def test_every_row_is_either_good_and_unchanged_or_quarantined(self, rows) -> None:
        data = RawBars.from_arrays(
            "X",
            [JAN2 + day * DAY_NS for day, *_ in rows],
            [r[1] for r in rows],
            [r[2] for r in rows],
            [r[3] for r in rows],
            [r[4] for r in rows],
            [r[5] for r in rows],
        )
        result = validate_raw_bars(data, ValidationRules(calendar=NYSE))
        assert result.good_rows + len(result.quarantined) == result.rows_in == len(rows)
        bad_rows = {q.source_row for q in result.quarantined}
        good_rows = [i for i in range(len(rows)) if i not in bad_rows]
        if result.good is not None:
            np.testing.assert_array_equal(result.good.ts_ns, data.ts_ns[good_rows])
            np.testing.assert_array_equal(result.good.close, data.close[good_rows])
        for q in result.quarantined:
            assert q.reasons and q.detail
            assert q.ts_ns == data.ts_ns[q.source_row]
        assert all(isinstance(r, QuarantineReason) for q in result.quarantined for r in q.reasons)
