"""Session calendars: NYSE holidays by rule, sessions and missing sessions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from emp.domain.calendars import (
    SessionCalendar,
    calendar_by_name,
    easter_sunday,
    nyse_calendar,
    nyse_holidays,
    weekday_calendar,
)
from emp.domain.errors import InvalidConfiguration


def days(*iso: str) -> np.ndarray:
    return np.array(iso, dtype="datetime64[D]")


class TestNyseHolidays:
    def test_the_2024_holidays_match_the_published_nyse_list(self) -> None:
        published = [
            "2024-01-01",
            "2024-01-15",
            "2024-02-19",
            "2024-03-29",
            "2024-05-27",
            "2024-06-19",
            "2024-07-04",
            "2024-09-02",
            "2024-11-28",
            "2024-12-25",
        ]
        assert [d.isoformat() for d in nyse_holidays(2024)] == published

    def test_weekend_holidays_are_observed_on_the_nearest_weekday(self) -> None:
        holidays_2022 = {d.isoformat() for d in nyse_holidays(2022)}
        assert "2022-06-20" in holidays_2022  # Juneteenth on a Sunday -> Monday
        assert "2022-12-26" in holidays_2022  # Christmas on a Sunday -> Monday
        assert "2021-12-31" not in {d.isoformat() for d in nyse_holidays(2021)}
        assert "2022-01-01" not in holidays_2022  # a Saturday New Year is not observed
        assert "2027-12-24" in {d.isoformat() for d in nyse_holidays(2027)}

    def test_juneteenth_is_a_holiday_only_from_2022(self) -> None:
        assert dt.date(2021, 6, 18) not in nyse_holidays(2021)
        assert dt.date(2023, 6, 19) in nyse_holidays(2023)

    @pytest.mark.parametrize(
        ("year", "easter"), [(2024, "2024-03-31"), (2025, "2025-04-20"), (2000, "2000-04-23")]
    )
    def test_easter_follows_the_gregorian_computus(self, year: int, easter: str) -> None:
        assert easter_sunday(year).isoformat() == easter


class TestSessions:
    def test_weekends_holidays_and_special_closures_are_not_sessions(self) -> None:
        nyse = nyse_calendar()
        verdict = nyse.is_session(
            days("2024-01-02", "2024-01-06", "2024-01-15", "2012-10-29", "2025-01-09")
        )
        assert verdict.tolist() == [True, False, False, False, False]

    def test_sessions_lists_every_trading_day_with_both_ends_included(self) -> None:
        sessions = nyse_calendar().sessions(dt.date(2024, 1, 1), dt.date(2024, 1, 9))
        assert sessions.astype(str).tolist() == [
            "2024-01-02",
            "2024-01-03",
            "2024-01-04",
            "2024-01-05",
            "2024-01-08",
            "2024-01-09",
        ]

    def test_missing_sessions_are_the_sessions_between_first_and_last_not_present(self) -> None:
        present = days("2024-01-02", "2024-01-05", "2024-01-03")
        missing = nyse_calendar().missing_sessions(present)
        assert missing.astype(str).tolist() == ["2024-01-04"]

    def test_a_weekday_calendar_trades_every_weekday(self) -> None:
        fx = weekday_calendar()
        assert fx.is_session(days("2024-12-25", "2024-12-28")).tolist() == [True, False]


class TestConfiguration:
    def test_a_bad_weekmask_is_refused_in_words(self) -> None:
        with pytest.raises(InvalidConfiguration, match="seven 0/1 characters"):
            SessionCalendar(name="X", timezone="UTC", weekmask="11111")

    def test_calendars_are_found_by_name_case_insensitively(self) -> None:
        assert calendar_by_name("nyse").timezone == "America/New_York"
        assert calendar_by_name("fx24x5").name == "FX24x5"
        with pytest.raises(InvalidConfiguration, match="NYSE, FX24x5"):
            calendar_by_name("LSE")
